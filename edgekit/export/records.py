"""``coreml/convert.json``: what the convert stage made, written by :func:`write_convert_record` and read by
:func:`read_convert_record` (verify, the variant choice and the report read it through this module only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekit.core.fileio import read_record, write_json
from edgekit.core.layout import RELATIVE

CONVERT_RECORD = RELATIVE.convert_record  # under build/<model>/


@dataclass
class VariantBuild:
    """One ``coreml/<variant>.mlpackage`` as convert saved it (:func:`edgekit.export.coreml.package_stats`).

    ``extra``: what the variant keeps at higher precision (``higher_precision_weights`` of the palette
    variants, ``float_activation_inputs`` of W8A8), as written."""

    path: str  # relative to build/<model>/
    method: str  # how it was made (coremltools calls, in words)
    bytes_total: int
    weight_bytes: int
    params: int
    params_compressed: int
    bits_per_param: float
    sha256: str  # edgekit.core.fileio.sha256_tree of the package
    extra: dict[str, Any] = field(default_factory=dict)

    _FIELDS = ("path", "method", "bytes_total", "weight_bytes", "params", "params_compressed", "bits_per_param",
               "sha256")

    def to_json(self) -> dict[str, Any]:
        return {**self.extra, **{k: getattr(self, k) for k in self._FIELDS}}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> VariantBuild:
        return cls(**{k: doc[k] for k in cls._FIELDS}, extra={k: v for k, v in doc.items() if k not in cls._FIELDS})


@dataclass
class OnnxExport:
    """``onnx/model.onnx``: path relative to build/<model>/, bytes, opset, sha256."""

    path: str
    bytes: int
    opset: int
    sha256: str


@dataclass
class ConvertRecord:
    """``coreml/convert.json``: the model, the ONNX export and every Core ML variant, in variant order."""

    model: str
    model_type: str
    minimum_deployment_target: str
    onnx: OnnxExport
    checkpoint_sha256: str  # the train/model.pt converted
    variants: dict[str, VariantBuild]
    fp16_policy: dict[str, Any] | None  # which op types stay fp32 in fp16 and why (export.quantize.fp16_policy)

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "model_type": self.model_type,
                "minimum_deployment_target": self.minimum_deployment_target, "onnx": vars(self.onnx).copy(),
                "checkpoint_sha256": self.checkpoint_sha256,
                "variants": {k: v.to_json() for k, v in self.variants.items()}, "fp16_policy": self.fp16_policy}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ConvertRecord:
        return cls(model=doc["model"], model_type=doc["model_type"],
                   minimum_deployment_target=doc["minimum_deployment_target"],
                   onnx=OnnxExport(**{k: doc["onnx"][k] for k in ("path", "bytes", "opset", "sha256")}),
                   checkpoint_sha256=doc["checkpoint_sha256"],
                   variants={str(k): VariantBuild.from_json(v) for k, v in doc["variants"].items()},
                   fp16_policy=doc.get("fp16_policy"))


def write_convert_record(model_dir: Path, record: ConvertRecord) -> None:
    """Write ``build/<model>/coreml/convert.json`` atomically."""
    write_json(Path(model_dir) / CONVERT_RECORD, record.to_json())


def read_convert_record(model_dir: Path) -> ConvertRecord:
    """Read ``build/<model>/coreml/convert.json``; a missing or malformed file is a one-line
    :class:`EdgekitError` naming it."""
    return read_record(Path(model_dir) / CONVERT_RECORD, "conversion report", "conversion report", "convert",
                       ConvertRecord.from_json)
