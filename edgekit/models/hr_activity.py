"""Heart rate from running activity: a causal LSTM over a workout's fixed time grid.

Input  ``activity_sequence`` float32 (1, T, 3): per step speed (m/s), grade (rise/run) and observed
heart rate as calibration context (bpm; 0 = absent, e.g. everything after the first minutes).
Output ``hr_bpm`` float32 (1, T): the predicted heart rate at every step.

Causal: a forward (unidirectional) LSTM, so step t sees only steps ≤ t and the model can run during
a workout. No per-user embedding (unseen runners are the norm on device); a runner's own level comes
from the context channel. The model predicts HR as the context-free prediction plus a learned
correction driven by the context residual, both from the same recurrent state. Normalization
(train-set speed / grade / HR statistics) lives in buffers, so the device feeds raw units.
"""

from __future__ import annotations

import torch
from torch import nn

from edgekit.models.params import HRActivityConfig

N_CHANNELS = 3  # speed_mps, grade, hr_context_bpm


class HRActivity(nn.Module):
    """(1, T, 3) speed m/s, grade, context HR bpm (0 = absent) → (1, T) HR bpm."""

    def __init__(self, config: HRActivityConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.register_buffer("speed_mean", torch.tensor(2.8))
        self.register_buffer("speed_std", torch.tensor(0.8))
        self.register_buffer("grade_std", torch.tensor(0.05))
        self.register_buffer("hr_mean", torch.tensor(150.0))
        self.register_buffer("hr_std", torch.tensor(15.0))
        # features: speed, grade, context HR (normalized, 0 where absent), context present (0/1)
        self.lstm = nn.LSTM(input_size=4, hidden_size=config.hidden_size, num_layers=config.n_layers,
                            batch_first=True, dropout=config.dropout if config.n_layers > 1 else 0.0)
        self.head = nn.Linear(config.hidden_size, 1)

    def set_normalization(self, speed_mean: float, speed_std: float, grade_std: float, hr_mean: float,
                          hr_std: float) -> None:
        """Store training-set statistics (m/s, rise/run, bpm)."""
        self.speed_mean.fill_(float(speed_mean))
        self.speed_std.fill_(max(float(speed_std), 1e-3))
        self.grade_std.fill_(max(float(grade_std), 1e-4))
        self.hr_mean.fill_(float(hr_mean))
        self.hr_std.fill_(max(float(hr_std), 1e-3))

    def forward(self, activity_sequence: torch.Tensor) -> torch.Tensor:
        speed = activity_sequence[:, :, 0:1]
        grade = activity_sequence[:, :, 1:2]
        hr_ctx = activity_sequence[:, :, 2:3]
        present = (hr_ctx > 0.0).to(activity_sequence.dtype)
        x = torch.cat([(speed - self.speed_mean) / self.speed_std, grade / self.grade_std,
                       present * (hr_ctx - self.hr_mean) / self.hr_std, present], dim=2)
        out, _ = self.lstm(x)
        return self.hr_mean + self.hr_std * self.head(out)[:, :, 0]
