"""PyTorch module → ONNX file (opset ≥ 17, checked by ``onnx.checker``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnx
import torch

from edgekit import INPUT_NAME
from edgekit.core.errors import EdgekitError
from edgekit.core.fileio import atomic_path
from edgekit.export.coreml import CLASS_PROBS_OUTPUT, SCORE_OUTPUT
from edgekit.export.runtime import quiet

ONNX_OPSET = 17


def to_onnx(module: Any, example: Any, path: str | Path, *, output_name: str | None = None,
            opset: int = ONNX_OPSET, input_name: str = INPUT_NAME, state_names: tuple[str, str] | None = None) -> Path:
    """Export ``module`` to ONNX at ``path`` (opset ≥ 17, input ``input_name``), checked by onnx.checker.
    With ``state_names`` (input, output) and ``example`` = (input, state): the state is a second input
    and output, as in :func:`to_coreml`.

    The dynamo exporter is tried first, the TorchScript exporter if it fails. Written atomically.
    """
    if opset < 17:
        raise EdgekitError(f"ONNX opset {opset} too old; edgekit needs >= 17")
    module = module.eval()
    parts = tuple(example) if isinstance(example, (tuple, list)) else (example,)
    args = tuple(torch.as_tensor(e, dtype=torch.float32) for e in parts)
    input_names, output_names_extra = [input_name], []
    if state_names is not None:
        input_names.append(state_names[0])
        output_names_extra.append(state_names[1])
    if output_name is None:
        output_name = CLASS_PROBS_OUTPUT if hasattr(module, "logits") else SCORE_OUTPUT
    path = Path(path)
    errors = []
    with atomic_path(path, suffix=".onnx") as tmp:
        for dynamo in (True, False):
            try:
                with quiet(), torch.no_grad():
                    torch.onnx.export(module, args, str(tmp), input_names=input_names,
                                      output_names=[output_name] + output_names_extra, opset_version=opset, dynamo=dynamo,
                                      external_data=False)
                break
            except Exception as exc:  # exporter failures come in many types
                errors.append(f"{'dynamo' if dynamo else 'torchscript'}: {str(exc).splitlines()[0] if str(exc) else exc!r}")
                for leftover in tmp.parent.glob(tmp.name + "*"):
                    leftover.unlink()
        else:
            raise EdgekitError(f"cannot export {type(module).__name__} to ONNX ({'; '.join(errors)})")
        model = onnx.load(str(tmp))
        try:
            onnx.checker.check_model(model, full_check=True)
        except Exception as exc:  # onnx.checker.ValidationError and friends
            raise EdgekitError(f"{path}: ONNX check failed: {str(exc).splitlines()[0]}") from None
        version = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
        if version < 17:
            raise EdgekitError(f"{path}: exported with opset {version}, edgekit needs >= 17")
        model.doc_string = ""
        model.producer_version = model.producer_version  # keep exporter stamp; no timestamps in ONNX
        tmp.write_bytes(model.SerializeToString(deterministic=True))
    return path

