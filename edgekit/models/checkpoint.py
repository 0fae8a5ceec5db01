"""``train/model.pt``: a trained model's checkpoint, written by the train stage and read by every later one.

A ``torch.save`` of a dict: ``model_type``, ``model_config`` (the params as a dict), ``state_dict`` and
the train stage's meta (``label_names``, ``normalization``, ``data_fingerprint``, ``seed`` …; see
docs/pipeline.md). :func:`save_checkpoint` writes it atomically, :func:`load_checkpoint` rebuilds the
module of its ``model_type`` with its weights. The registry of model types is the task specs' (a layer
above this one), so the caller hands it in: ``load_checkpoint(path, task_for)``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from edgekit.core.errors import EdgekitError
from edgekit.core.fileio import atomic_path


class ModelSpec(Protocol):
    """What loading needs of a model type's spec (:class:`edgekit.tasks.base.TaskSpec`)."""

    def build_model(self, raw: Mapping[str, Any]) -> Any: ...


def save_checkpoint(path: Path, model: nn.Module, meta: dict[str, Any]) -> None:
    """Write ``meta`` and ``model``'s weights to ``path`` atomically (``meta`` names the model type)."""
    payload = dict(meta)
    payload["state_dict"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
    buf = io.BytesIO()
    torch.save(payload, buf)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())


def _reason(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def load_checkpoint(path: str | Path, spec_of: Callable[[str], ModelSpec]) -> tuple[nn.Module, dict[str, Any]]:
    """Load ``train/model.pt`` → (model in eval mode, meta without the state dict).

    ``spec_of``: the spec of a model type (:func:`edgekit.tasks.task_for`), which builds the untrained module.
    Raises :class:`EdgekitError` (one line naming the file) for a missing, corrupt or mismatched file."""
    path = Path(path)
    if not path.is_file():
        raise EdgekitError(f"{path}: checkpoint not found; run the train stage first")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt files
        raise EdgekitError(f"{path}: not a readable edgekit checkpoint: {_reason(exc)}") from None
    if not isinstance(payload, dict) or "state_dict" not in payload or "model_type" not in payload:
        raise EdgekitError(f"{path}: not an edgekit checkpoint (missing model_type/state_dict)")
    try:
        model = spec_of(payload["model_type"]).build_model(payload["model_config"])
    except (ValueError, EdgekitError) as exc:
        raise EdgekitError(f"{path}: {exc}") from None
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise EdgekitError(f"{path}: weights do not match the model config: {_reason(exc)}") from None
    model.eval()
    meta = {k: v for k, v in payload.items() if k != "state_dict"}
    return model, meta
