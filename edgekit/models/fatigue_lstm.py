"""Fatigue forecaster: a 2-layer LSTM over the last 24 hourly RMSSD values.

Input  ``rr_sequence`` float32 (1, 24, 1): hourly RMSSD in milliseconds, oldest first.
Output ``fatigue_score`` float32 (1, 1) in [0, 100] for the next 24 h (100 = fully recovered).
Zones: green ≥ 70, yellow 40–69, red < 40 (see ``edgekit.core.zones``).

RMSSD is log-transformed (ln RMSSD, the customary scale for HRV trends; Plews et al. 2013)
and standardized with training-set statistics stored as buffers.
"""

from __future__ import annotations

import torch
from torch import nn

from edgekit.models.params import FatigueLSTMConfig


class FatigueLSTM(nn.Module):
    """(1, 24, 1) hourly RMSSD ms → (1, 1) fatigue score 0–100."""

    def __init__(self, config: FatigueLSTMConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.register_buffer("log_rmssd_mean", torch.tensor(3.5))
        self.register_buffer("log_rmssd_std", torch.tensor(0.5))
        self.lstm = nn.LSTM(
            input_size=1,
            hidden_size=config.hidden_size,
            num_layers=config.n_layers,
            batch_first=True,
            dropout=config.dropout if config.n_layers > 1 else 0.0,
        )
        self.head = nn.Linear(config.hidden_size, 1)

    def set_normalization(self, log_rmssd_mean: float, log_rmssd_std: float) -> None:
        """Store training-set statistics of ln(RMSSD ms)."""
        self.log_rmssd_mean.fill_(float(log_rmssd_mean))
        self.log_rmssd_std.fill_(max(float(log_rmssd_std), 1e-3))

    def forward(self, rr_sequence: torch.Tensor) -> torch.Tensor:
        # clamp keeps log finite for a zero or negative input (no beats that hour)
        x = (torch.log(torch.clamp(rr_sequence, min=1.0)) - self.log_rmssd_mean) / self.log_rmssd_std
        out, _ = self.lstm(x)
        return 100.0 * torch.sigmoid(self.head(out[:, -1, :]))
