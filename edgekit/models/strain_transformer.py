"""Strain classifier: a compact Transformer encoder over raw RR intervals.

Input  ``rr_sequence`` float32 (1, N, 1), RR intervals in milliseconds, in time order.
Output class probabilities (1, 3) over ``healthy``, ``strained``, ``burnout_risk`` (softmax).

Features the network sees per beat: the normalized RR value and the normalized successive
difference (ΔRR, the quantity RMSSD summarises; Task Force 1996). Consecutive beats are grouped
into patches and linearly embedded, one token per patch. Sinusoidal positional encoding
(Vaswani et al. 2017) lets attention see beat order; without it mean pooling is order-blind.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from edgekit.models.params import StrainTransformerConfig


def sinusoidal_positions(length: int, dim: int) -> torch.Tensor:
    """Fixed sinusoidal positional encoding, shape (1, length, dim) (Vaswani et al. 2017)."""
    position = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(length, dim)
    pe[:, 0::2] = torch.sin(position * div)
    pe[:, 1::2] = torch.cos(position * div[: pe[:, 1::2].shape[1]])
    return pe.unsqueeze(0)


class EncoderLayer(nn.Module):
    """Pre-norm Transformer encoder layer written with plain ops (no fused fast path).

    ``nn.TransformerEncoderLayer`` takes a fused kernel at inference that neither trace nor
    coremltools handles; this layer computes the same thing with linear/matmul/softmax/layer_norm.
    """

    def __init__(self, d_model: int, n_heads: int, ff_dim: int, dropout: float) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        self.norm1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.ff1 = nn.Linear(d_model, ff_dim)
        self.ff2 = nn.Linear(ff_dim, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        h = self.norm1(x)
        qkv = self.qkv(h).reshape(b, t, 3, self.n_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # (b, heads, t, head_dim)
        scores = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))
        attn = self.dropout(torch.softmax(scores, dim=-1))
        ctx = torch.matmul(attn, v).permute(0, 2, 1, 3).reshape(b, t, d)
        x = x + self.dropout(self.proj(ctx))
        h = self.norm2(x)
        x = x + self.dropout(self.ff2(self.dropout(torch.relu(self.ff1(h)))))
        return x


class StrainTransformer(nn.Module):
    """(1, N, 1) raw RR ms → (1, n_classes) probabilities."""

    def __init__(self, config: StrainTransformerConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        # Training-set statistics (ms); set by training via ``set_normalization``.
        self.register_buffer("rr_mean_ms", torch.tensor(800.0))
        self.register_buffer("rr_std_ms", torch.tensor(100.0))
        self.register_buffer("drr_std_ms", torch.tensor(40.0))
        self.n_tokens = config.window_beats // config.patch_beats
        self.embed = nn.Linear(2 * config.patch_beats, config.d_model)
        self.register_buffer(
            "positions", sinusoidal_positions(self.n_tokens, config.d_model), persistent=False
        )
        self.layers = nn.ModuleList(
            EncoderLayer(config.d_model, config.n_heads, config.ff_dim, config.dropout)
            for _ in range(config.n_layers)
        )
        self.norm = nn.LayerNorm(config.d_model)
        self.head = nn.Linear(2 * config.d_model, config.n_classes)

    def set_normalization(self, rr_mean_ms: float, rr_std_ms: float, drr_std_ms: float) -> None:
        """Store training-set statistics (milliseconds) used to normalize inputs in-model."""
        self.rr_mean_ms.fill_(float(rr_mean_ms))
        self.rr_std_ms.fill_(max(float(rr_std_ms), 1e-3))
        self.drr_std_ms.fill_(max(float(drr_std_ms), 1e-3))

    def logits(self, rr_sequence: torch.Tensor) -> torch.Tensor:
        rr = rr_sequence  # (b, t, 1) ms
        level = (rr - self.rr_mean_ms) / self.rr_std_ms
        # successive differences, first beat gets 0: (b, t, 1)
        diff = torch.cat([torch.zeros_like(rr[:, :1]), rr[:, 1:] - rr[:, :-1]], dim=1)
        diff = diff / self.drr_std_ms
        beats = torch.cat([level, diff], dim=-1)  # (b, t, 2)
        patches = beats.reshape(beats.shape[0], self.n_tokens, 2 * self.config.patch_beats)
        x = self.embed(patches) + self.positions
        for layer in self.layers:
            x = layer(x)
        x = self.norm(x)
        pooled = torch.cat([x.mean(dim=1), x.amax(dim=1)], dim=-1)
        return self.head(pooled)

    def forward(self, rr_sequence: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(rr_sequence), dim=-1)
