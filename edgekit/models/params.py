"""Architecture parameters of each model (torch-free: configs validate without importing torch)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from edgekit.models._config import from_dict, require


@dataclass
class StrainTransformerConfig:
    """Architecture of the strain classifier. Defaults: ~68k parameters.

    Beats are embedded in patches of ``patch_beats`` consecutive beats (one token per patch), so
    attention runs over ``window_beats / patch_beats`` tokens: 32 by default.
    """

    window_beats: int = 128
    patch_beats: int = 4
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    ff_dim: int = 128
    dropout: float = 0.1
    n_classes: int = 3

    @classmethod
    def from_dict(cls, params: dict) -> "StrainTransformerConfig":
        return from_dict(cls, params)

    def validate(self) -> None:
        require(self.window_beats >= 8, f"window_beats must be >= 8, got {self.window_beats}")
        require(self.patch_beats > 0, f"patch_beats must be positive, got {self.patch_beats}")
        require(
            self.window_beats % self.patch_beats == 0,
            f"patch_beats ({self.patch_beats}) must divide window_beats ({self.window_beats})",
        )
        require(self.d_model > 0, f"d_model must be positive, got {self.d_model}")
        require(self.n_heads > 0, f"n_heads must be positive, got {self.n_heads}")
        require(
            self.d_model % self.n_heads == 0,
            f"n_heads ({self.n_heads}) must divide d_model ({self.d_model})",
        )
        require(self.n_layers > 0, f"n_layers must be positive, got {self.n_layers}")
        require(self.ff_dim > 0, f"ff_dim must be positive, got {self.ff_dim}")
        require(0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1), got {self.dropout}")
        require(self.n_classes >= 2, f"n_classes must be >= 2, got {self.n_classes}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class FatigueLSTMConfig:
    """Architecture of the fatigue forecaster."""

    sequence_hours: int = 24
    hidden_size: int = 64
    n_layers: int = 2
    dropout: float = 0.1

    @classmethod
    def from_dict(cls, params: dict) -> "FatigueLSTMConfig":
        return from_dict(cls, params)

    def validate(self) -> None:
        require(self.sequence_hours >= 2, f"sequence_hours must be >= 2, got {self.sequence_hours}")
        require(self.hidden_size > 0, f"hidden_size must be positive, got {self.hidden_size}")
        require(self.n_layers > 0, f"n_layers must be positive, got {self.n_layers}")
        require(0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class HRActivityConfig:
    """Architecture and input grid of the heart-rate-from-activity model.

    The input ``activity_sequence`` is (1, window_steps, 3) on a grid of ``step_s`` seconds: speed
    (m/s), grade (rise/run) and observed heart rate as calibration context (bpm; 0 = absent).
    """

    window_steps: int = 180  # T: 180 steps of 10 s = 30 min
    step_s: float = 10.0
    hidden_size: int = 64
    n_layers: int = 2
    dropout: float = 0.0
    # how the context minutes calibrate the model (edgekit.models.hr_activity): "none" (the LSTM reads
    # them), "offset" (a lasting, robustly weighted offset) or "kinetics" (a kinetics prior fitted to them)
    calibration: str = "none"
    # "offset": the first seconds of the context that do not count (the warm-up: its HR follows the
    # runner's start more than their level); 0 = every context step counts
    context_settle_s: float = 0.0

    @classmethod
    def from_dict(cls, params: dict) -> "HRActivityConfig":
        return from_dict(cls, params)

    def validate(self) -> None:
        require(self.window_steps >= 8, f"window_steps must be >= 8, got {self.window_steps}")
        require(0.5 <= self.step_s <= 120.0, f"step_s must be in [0.5, 120] s, got {self.step_s}")
        require(self.hidden_size > 0, f"hidden_size must be positive, got {self.hidden_size}")
        require(self.n_layers > 0, f"n_layers must be positive, got {self.n_layers}")
        require(0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1), got {self.dropout}")
        require(self.context_settle_s >= 0.0, f"context_settle_s must be >= 0, got {self.context_settle_s}")
        require(self.calibration in ("none", "offset", "kinetics"),
                f"calibration must be 'none', 'offset' or 'kinetics', got {self.calibration!r}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class StrainReadingConfig(StrainTransformerConfig):
    """The strain classifier on single readings (``strain_reading``): ``window_beats`` slots hold a
    reading's beats, oldest first, then absent markers (RR 0 ms) that the model masks. A reading
    needs at least ``min_beats`` clean beats (docs/data.md "Reading windows")."""

    min_beats: int = 45

    @classmethod
    def from_dict(cls, params: dict) -> "StrainReadingConfig":
        return from_dict(cls, params)

    def validate(self) -> None:
        super().validate()
        require(8 <= self.min_beats <= self.window_beats,
                f"min_beats must be in [8, window_beats], got {self.min_beats}")


@dataclass
class FatigueSlotsConfig(FatigueLSTMConfig):
    """The forecaster on irregular readings (``fatigue_slots``): ``sequence_hours`` hourly slots in
    local clock hours, an absent hour as RMSSD 0 (masked in the model); a series needs at least
    ``min_present_hours`` present hours (docs/data.md "Hourly slots")."""

    min_present_hours: int = 1

    @classmethod
    def from_dict(cls, params: dict) -> "FatigueSlotsConfig":
        return from_dict(cls, params)

    def validate(self) -> None:
        super().validate()
        require(1 <= self.min_present_hours <= self.sequence_hours,
                f"min_present_hours must be in [1, sequence_hours], got {self.min_present_hours}")
