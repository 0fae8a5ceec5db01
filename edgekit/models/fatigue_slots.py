"""Fatigue forecaster on irregular readings: 24 hourly slots, absent hours masked.

Input  ``rr_sequence`` float32 (1, 24, 1): RMSSD (ms) of the last 24 local clock hours, oldest
first, 0 = no RMSSD that hour. Output ``fatigue_score`` (1, 1) in [0, 100].

Per hour the LSTM sees the standardized ln RMSSD (0 when absent) and the presence bit; the head
reads the last hidden state, the mean standardized ln RMSSD over present hours and the fraction of
hours present.
"""

from __future__ import annotations

import torch
from torch import nn

from edgekit.models.fatigue_lstm import FatigueLSTM
from edgekit.models.params import FatigueSlotsConfig


class FatigueSlotsLSTM(FatigueLSTM):
    """(1, 24, 1) hourly RMSSD ms with 0 = absent → (1, 1) fatigue score 0–100."""

    def __init__(self, config: FatigueSlotsConfig) -> None:
        super().__init__(config)
        c = config
        self.lstm = nn.LSTM(input_size=2, hidden_size=c.hidden_size, num_layers=c.n_layers, batch_first=True,
                            dropout=c.dropout if c.n_layers > 1 else 0.0)
        self.head = nn.Linear(c.hidden_size + 2, 1)

    def forward(self, rr_sequence: torch.Tensor) -> torch.Tensor:
        m = (rr_sequence > 0.0).to(rr_sequence.dtype)
        z = (torch.log(torch.clamp(rr_sequence, min=1.0)) - self.log_rmssd_mean) / self.log_rmssd_std * m
        out, _ = self.lstm(torch.cat([z, m], dim=-1))
        n = m.sum(dim=1)  # (b, 1)
        mean_z = z.sum(dim=1) / torch.clamp(n, min=1.0)
        frac = n / float(rr_sequence.shape[1])
        return 100.0 * torch.sigmoid(self.head(torch.cat([out[:, -1, :], mean_z, frac], dim=-1)))
