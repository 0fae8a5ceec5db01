"""Model definitions. Every model takes ``rr_sequence`` float32 of shape (1, T, 1), raw milliseconds.

Normalization lives inside the model (training-set statistics stored as buffers), so a device feeds
raw milliseconds and carries no statistics of its own.
"""

from edgekit.models.fatigue_lstm import FatigueLSTM, FatigueLSTMConfig
from edgekit.models.strain_transformer import StrainTransformer, StrainTransformerConfig

MODEL_TYPES = {
    "strain_transformer": (StrainTransformer, StrainTransformerConfig),
    "fatigue_lstm": (FatigueLSTM, FatigueLSTMConfig),
}


def build_model(model_type: str, params: dict):
    """Build an untrained model of ``model_type`` from a dict of its config fields.

    Raises ``ValueError`` with a one-line message for unknown types or invalid values.
    """
    if model_type not in MODEL_TYPES:
        raise ValueError(f"unknown model type {model_type!r}; expected one of {sorted(MODEL_TYPES)}")
    cls, cfg_cls = MODEL_TYPES[model_type]
    cfg = cfg_cls.from_dict(params)
    return cls(cfg)


__all__ = [
    "FatigueLSTM",
    "FatigueLSTMConfig",
    "StrainTransformer",
    "StrainTransformerConfig",
    "MODEL_TYPES",
    "build_model",
]
