"""Model definitions. Every HRV model takes ``rr_sequence`` float32 of shape (1, T, 1), raw milliseconds.

Normalization lives inside the model (training-set statistics stored as buffers), so a device feeds
raw milliseconds and carries no statistics of its own. What each model type means to the stages
(inputs, examples, loss, metrics, outputs) is its task spec in :mod:`edgekit.tasks`.

Attributes load lazily (PEP 562): importing ``edgekit.models._config`` does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "FatigueLSTM": "edgekit.models.fatigue_lstm",
    "FatigueLSTMConfig": "edgekit.models.params",
    "StrainTransformer": "edgekit.models.strain_transformer",
    "StrainTransformerConfig": "edgekit.models.params",
    "HRActivity": "edgekit.models.hr_activity",
    "HRActivityConfig": "edgekit.models.params",
    "StrainReadingTransformer": "edgekit.models.strain_reading",
    "StrainReadingConfig": "edgekit.models.params",
    "FatigueSlotsLSTM": "edgekit.models.fatigue_slots",
    "FatigueSlotsConfig": "edgekit.models.params",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name == "MODEL_TYPES":
        return {"strain_transformer": (__getattr__("StrainTransformer"), __getattr__("StrainTransformerConfig")),
                "fatigue_lstm": (__getattr__("FatigueLSTM"), __getattr__("FatigueLSTMConfig")),
                "hr_activity": (__getattr__("HRActivity"), __getattr__("HRActivityConfig")),
                "strain_reading": (__getattr__("StrainReadingTransformer"), __getattr__("StrainReadingConfig")),
                "fatigue_slots": (__getattr__("FatigueSlotsLSTM"), __getattr__("FatigueSlotsConfig"))}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_model(model_type: str, params: dict):
    """Build an untrained model of ``model_type`` from a dict of its config fields.

    Raises ``ValueError`` with a one-line message for unknown types or invalid values.
    """
    types = __getattr__("MODEL_TYPES")
    if model_type not in types:
        raise ValueError(f"unknown model type {model_type!r}; expected one of {sorted(types)}")
    cls, cfg_cls = types[model_type]
    return cls(cfg_cls.from_dict(params))


__all__ = ["FatigueLSTM", "FatigueLSTMConfig", "StrainTransformer", "StrainTransformerConfig", "MODEL_TYPES",
           "build_model"]
