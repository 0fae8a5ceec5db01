"""Strain classifier on single readings: the strain Transformer with absent beats masked.

Input  ``rr_sequence`` float32 (1, N, 1): a reading's RR intervals in ms, oldest first, then
absent markers (RR = 0 ms: "no beat") up to N slots. Output (1, 3) probabilities.

Per beat the network sees the normalized RR, the normalized successive difference (0 unless both
beats are present) and the presence bit. A patch token is present when any of its beats is;
attention ignores absent tokens (additive -1e4 bias on their keys) and pooling (mean and max) runs
over present tokens only, so the output does not depend on how many absent slots follow a reading.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from edgekit.models.params import StrainReadingConfig
from edgekit.models.strain_transformer import EncoderLayer, StrainTransformer

NEG = 1e4


class MaskedEncoderLayer(EncoderLayer):
    def forward(self, x: torch.Tensor, key_bias: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        b, t, d = x.shape
        h = self.norm1(x)
        qkv = self.qkv(h).reshape(b, t, 3, self.n_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim)) + key_bias
        attn = self.dropout(torch.softmax(scores, dim=-1))
        ctx = torch.matmul(attn, v).permute(0, 2, 1, 3).reshape(b, t, d)
        x = x + self.dropout(self.proj(ctx))
        h = self.norm2(x)
        return x + self.dropout(self.ff2(self.dropout(torch.relu(self.ff1(h)))))


class StrainReadingTransformer(StrainTransformer):
    """(1, N, 1) RR ms with 0 = absent → (1, n_classes) probabilities."""

    def __init__(self, config: StrainReadingConfig) -> None:
        super().__init__(config)
        c = config
        self.embed = nn.Linear(3 * c.patch_beats, c.d_model)
        self.layers = nn.ModuleList(MaskedEncoderLayer(c.d_model, c.n_heads, c.ff_dim, c.dropout)
                                    for _ in range(c.n_layers))

    def logits(self, rr_sequence: torch.Tensor) -> torch.Tensor:
        rr = rr_sequence
        m = (rr > 0.0).to(rr.dtype)  # (b, t, 1) presence
        level = (rr - self.rr_mean_ms) / self.rr_std_ms * m
        prev = torch.cat([torch.zeros_like(rr[:, :1]), rr[:, :-1]], dim=1)
        pm = torch.cat([torch.zeros_like(m[:, :1]), m[:, :-1]], dim=1)
        diff = (rr - prev) / self.drr_std_ms * (m * pm)
        beats = torch.cat([level, diff, m], dim=-1)  # (b, t, 3)
        b = beats.shape[0]
        p = self.config.patch_beats
        patches = beats.reshape(b, self.n_tokens, 3 * p)
        tok = m.reshape(b, self.n_tokens, p).amax(dim=-1)  # (b, tokens)
        x = self.embed(patches) + self.positions
        key_bias = ((tok - 1.0) * NEG).reshape(b, 1, 1, self.n_tokens)
        for layer in self.layers:
            x = layer(x, key_bias)
        x = self.norm(x)
        w = tok.unsqueeze(-1)
        mean = (x * w).sum(dim=1) / torch.clamp(w.sum(dim=1), min=1.0)
        mx = (x + (w - 1.0) * NEG).amax(dim=1)
        return self.head(torch.cat([mean, mx], dim=-1))
