"""The ``convert`` stage: a trained model to ONNX and to its Core ML variants.

Modules of the export layer, imports going down the list: this stage; :mod:`~edgekit.export.variants`
(every variant of one model); :mod:`~edgekit.export.quantize` (weight and activation compression);
:mod:`~edgekit.export.coreml` and :mod:`~edgekit.export.onnx_export` (one conversion each);
:mod:`~edgekit.export.runtime` (quiet coremltools, torch threads) and :mod:`~edgekit.export.records`
(``coreml/convert.json``).

* :func:`run` — the stage: ``train/model.pt`` → ``onnx/model.onnx``, ``coreml/<variant>.mlpackage``
  for every ``convert.variants``, ``coreml/convert.json``.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import edgekit
from edgekit.core.fileio import claim_build_dir, sha256_file
from edgekit.core.layout import ModelLayout
from edgekit.core.log import get_logger
from edgekit.export.onnx_export import ONNX_OPSET, to_onnx
from edgekit.export.records import ConvertRecord, OnnxExport, write_convert_record
from edgekit.export.runtime import torch_threads
from edgekit.export.variants import build_variants
from edgekit.models.checkpoint import load_checkpoint
from edgekit.tasks import task_for

log = get_logger(__name__)


# --------------------------------------------------------------------------------------------
# the stage


def describe(model_type: str, cfg: Any, meta: Mapping[str, Any]) -> dict[str, Any]:
    """Package metadata: standard fields, feature descriptions and user-defined keys."""
    params = dict(meta.get("model_config") or cfg.model.params)
    conv = cfg.convert
    md: dict[str, Any] = {
        "author": conv.author,
        "license": conv.license,
        "version": conv.version,
        "short_description": cfg.model.description or f"edgekit {model_type}",
        "edgekit.units": "ms",
        "edgekit.model_type": model_type,
        "edgekit.model_name": cfg.name,
        "edgekit.training_data_fingerprint": str(meta.get("data_fingerprint", "")),
        "edgekit.version": edgekit.__version__,
    }
    md.update(task_for(model_type).metadata(params, meta))
    return md


def example_input(model_type: str, module: Any) -> Any:
    """A realistic example input of the model's fixed shape (the task spec's)."""
    return task_for(model_type).example_input(module)



def run(cfg: Any, build_dir: Path) -> dict:
    """The convert stage: checkpoint → ONNX + one ``.mlpackage`` per variant + ``convert.json``."""
    with torch_threads(1):
        return _run(cfg, build_dir)


def _run(cfg: Any, build_dir: Path) -> dict:
    model_dir = claim_build_dir(build_dir) / cfg.name  # edgekit's build dir: its .mlpackages may be replaced
    layout = ModelLayout(model_dir)
    module, meta = load_checkpoint(layout.checkpoint, task_for)
    model_type = meta.get("model_type", cfg.model.type)
    task = task_for(model_type)
    example = task.example_inputs(module)  # (input,) or, with recurrent state, (input, state)
    module = task.export_module(module)
    state_names = (task.state_input, task.state_output) if task.state_input else None
    onnx_path = to_onnx(module, example if len(example) > 1 else example[0], layout.onnx,
                        output_name=task.onnx_output, input_name=task.input_name, state_names=state_names)
    base_md = describe(model_type, cfg, meta)
    coreml_dir = model_dir / "coreml"
    coreml_dir.mkdir(parents=True, exist_ok=True)
    for stale in coreml_dir.glob("*.mlpackage"):
        if stale.stem not in cfg.convert.variants:
            shutil.rmtree(stale)
    variants, fp16_policy = build_variants(module, example if len(example) > 1 else example[0], model_type, cfg, meta, base_md,
                           coreml_dir)
    record = ConvertRecord(
        model=cfg.name, model_type=model_type, minimum_deployment_target=cfg.convert.minimum_deployment_target,
        onnx=OnnxExport(path=layout.relative(layout.onnx), bytes=onnx_path.stat().st_size, opset=ONNX_OPSET,
                        sha256=sha256_file(onnx_path)),
        checkpoint_sha256=sha256_file(layout.checkpoint), variants=variants, fp16_policy=fp16_policy)
    write_convert_record(model_dir, record)
    for name, entry in variants.items():
        log.info(f"  {name:9s} {entry.bytes_total / 1024:8.1f} KB  weights {entry.weight_bytes / 1024:7.1f} KB  "
                 f"{entry.bits_per_param:5.2f} bits/param")
    return record.to_json()
