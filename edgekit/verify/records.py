"""``verify/parity.json``: the verify stage's gates and figures, written by :func:`write_parity_record` and
read by :func:`read_parity_record` (the variant choice, the package and the report read it through this
module only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekit.core.fileio import read_record, write_json
from edgekit.core.layout import RELATIVE

PARITY_RECORD = RELATIVE.parity_record  # under build/<model>/

#: Figures of a variant also written at the top of its entry (copies of ``figures``).
HEADLINE_FIGURES = ("max_abs_diff", "accuracy", "accuracy_drop", "macro_f1", "top1_agreement", "mae", "mae_drift")


@dataclass
class CheckRecord:
    """One gate as written: ``value`` (None when not finite) ``comparison`` (``<=`` / ``>=``) ``tolerance``."""

    name: str
    figure: str  # what was measured, in words
    value: float | None
    tolerance: float
    comparison: str
    backend: str
    passed: bool

    def to_json(self) -> dict[str, Any]:
        return vars(self).copy()

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> CheckRecord:
        return cls(**{k: doc[k] for k in ("name", "figure", "value", "tolerance", "comparison", "backend", "passed")})


def _checks(doc: dict[str, Any]) -> list[CheckRecord]:
    return [CheckRecord.from_json(c) for c in doc["checks"]]


@dataclass
class VariantParity:
    """One Core ML variant's verification: its gates, the figures behind them, and the package it verified
    (``sha256``/``bytes``; absent when the package was missing). ``error``: why it could not be measured."""

    path: str
    backend: str
    passed: bool
    checks: list[CheckRecord]
    sha256: str | None = None
    bytes: int | None = None
    figures: dict[str, Any] | None = None  # verify.parity.variant_checks: max_abs_diff, accuracy, mae, …
    per_fixture_max_abs_diff: dict[str, float] | None = None
    coreml_runtime: dict[str, dict[str, Any]] | None = None  # per compute units, when Core ML could run
    errors: list[str] | None = None  # Core ML runtime failures
    error: str | None = None

    _OPTIONAL = ("sha256", "bytes", "figures", "per_fixture_max_abs_diff", "coreml_runtime", "errors", "error")

    def figure(self, name: str) -> float | None:
        """A measured figure of this variant (None when not measured)."""
        return (self.figures or {}).get(name)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"path": self.path, "backend": self.backend, "passed": self.passed,
                               "checks": [c.to_json() for c in self.checks]}
        doc.update({k: getattr(self, k) for k in self._OPTIONAL if getattr(self, k) is not None})
        doc.update({k: v for k, v in (self.figures or {}).items() if k in HEADLINE_FIGURES})
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> VariantParity:
        return cls(path=doc["path"], backend=doc["backend"], passed=doc["passed"] is True, checks=_checks(doc),
                   **{k: doc.get(k) for k in cls._OPTIONAL})


@dataclass
class OnnxParity:
    """onnxruntime against torch on ``onnx/model.onnx`` (``error`` when the file was missing)."""

    passed: bool
    checks: list[CheckRecord]
    sha256: str | None = None
    max_abs_diff: float | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"passed": self.passed, "checks": [c.to_json() for c in self.checks]}
        doc.update({k: getattr(self, k) for k in ("sha256", "max_abs_diff", "error") if getattr(self, k) is not None})
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> OnnxParity:
        return cls(passed=doc["passed"] is True, checks=_checks(doc),
                   **{k: doc.get(k) for k in ("sha256", "max_abs_diff", "error")})


@dataclass
class ParityRecord:
    """``verify/parity.json``: every backend against fp32 torch on the fixtures and the held-out test set."""

    model: str
    model_type: str
    fixtures: str  # where the fixtures came from
    fixture_count: int
    test_set: str | None  # "train/test_set.npz" when the held-out set was used
    test_windows: int
    checkpoint_sha256: str  # the train/model.pt verified
    backends: list[str]
    onnx: OnnxParity
    variants: dict[str, VariantParity] = field(default_factory=dict)
    passed: bool = False
    failures: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "model_type": self.model_type, "fixtures": self.fixtures,
                "fixture_count": self.fixture_count, "test_set": self.test_set, "test_windows": self.test_windows,
                "checkpoint_sha256": self.checkpoint_sha256, "backends": list(self.backends),
                "onnx": self.onnx.to_json(), "variants": {k: v.to_json() for k, v in self.variants.items()},
                "passed": self.passed, "failures": list(self.failures)}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ParityRecord:
        return cls(model=doc["model"], model_type=doc["model_type"], fixtures=doc["fixtures"],
                   fixture_count=doc["fixture_count"], test_set=doc.get("test_set"),
                   test_windows=doc["test_windows"], checkpoint_sha256=doc["checkpoint_sha256"],
                   backends=list(doc["backends"]), onnx=OnnxParity.from_json(doc["onnx"]),
                   variants={str(k): VariantParity.from_json(v) for k, v in doc["variants"].items()},
                   passed=doc["passed"] is True, failures=[str(f) for f in doc.get("failures", [])])


def write_parity_record(model_dir: Path, record: ParityRecord) -> None:
    """Write ``build/<model>/verify/parity.json`` atomically."""
    write_json(Path(model_dir) / PARITY_RECORD, record.to_json())


def read_parity_record(model_dir: Path) -> ParityRecord:
    """Read ``build/<model>/verify/parity.json``; a missing or malformed file is a one-line
    :class:`EdgekitError` naming it."""
    return read_record(Path(model_dir) / PARITY_RECORD, "verification report", "verification report", "verify",
                       ParityRecord.from_json)
