"""A zoo of architectures converts and matches torch through the reference evaluator (fp32, 1e-5)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from edgekit import INPUT_NAME
from edgekit.core.errors import EdgekitError
from edgekit.export.coreml import SCORE_OUTPUT, save_mlpackage, to_coreml
from edgekit.mil.batched import BatchedEvaluator, Unbatchable, batchable
from edgekit.tasks import task_for
from edgekit.tasks.strain import _beats
from edgekit.verify import ReferenceEvaluator

TOL = 1e-5


class _Normalize(nn.Module):
    def forward(self, x):
        return (x - 800.0) / 150.0


class GRURegressor(nn.Module):
    def __init__(self, hidden=24, layers=2):
        super().__init__()
        self.norm = _Normalize()
        self.gru = nn.GRU(1, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        out, _ = self.gru(self.norm(x))
        return torch.sigmoid(self.head(out[:, -1]))


class BiLSTMRegressor(nn.Module):
    def __init__(self, hidden=16, layers=2):
        super().__init__()
        self.norm = _Normalize()
        self.lstm = nn.LSTM(1, hidden, num_layers=layers, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden, 2)

    def forward(self, x):
        out, _ = self.lstm(self.norm(x))
        return torch.tanh(self.head(out.mean(dim=1)))


class ConvNet(nn.Module):
    """1-D convolutions over RR: conv → relu → pool → conv (dilated, grouped) → global mean → linear."""

    def __init__(self):
        super().__init__()
        self.norm = _Normalize()
        self.c1 = nn.Conv1d(1, 8, kernel_size=5, padding=2)
        self.pool = nn.MaxPool1d(2)
        self.c2 = nn.Conv1d(8, 8, kernel_size=3, dilation=2, groups=2, stride=2)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        h = self.norm(x).transpose(1, 2)
        h = self.c2(self.pool(torch.relu(self.c1(h))))
        return torch.softmax(self.head(torch.relu(h).mean(dim=-1)), dim=-1)


def _zoo():
    yield "transformer_w64_d32_h2_l1", task_for("strain_transformer").build_model(dict(
        window_beats=64, d_model=32, n_heads=2, n_layers=1, ff_dim=64)), 64
    yield "transformer_w96_d48_h3_l3_p8", task_for("strain_transformer").build_model(dict(
        window_beats=96, patch_beats=8, d_model=48, n_heads=3, n_layers=3, ff_dim=96)), 96
    yield "transformer_w128_d16_h4_l2_p2", task_for("strain_transformer").build_model(dict(
        window_beats=128, patch_beats=2, d_model=16, n_heads=4, n_layers=2, ff_dim=32)), 128
    yield "lstm_h32_l1_t12", task_for("fatigue_lstm").build_model(dict(sequence_hours=12, hidden_size=32, n_layers=1)), 12
    yield "lstm_h16_l3_t48", task_for("fatigue_lstm").build_model(dict(sequence_hours=48, hidden_size=16, n_layers=3)), 48
    yield "gru_h24_l2_t32", GRURegressor(), 32
    yield "bilstm_h16_l2_t40", BiLSTMRegressor(), 40
    yield "conv1d_t64", ConvNet(), 64


ZOO = list(_zoo())


@pytest.mark.parametrize("name,module,length", ZOO, ids=[z[0] for z in ZOO])
def test_zoo_converts_and_matches_torch(tmp_path, name, module, length):
    torch.manual_seed(0)
    for p in module.parameters():  # re-seed: weights independent of construction order
        nn.init.normal_(p, std=0.3)
    module.eval()
    rng = np.random.default_rng(0)
    if "lstm_h" in name:  # hourly RMSSD ms
        inputs = [np.exp(rng.uniform(np.log(5), np.log(150), size=length)) for _ in range(4)]
    else:
        inputs = [_beats(rng, length, m, 30, 15, 5) for m in (450, 800, 1100, 1600)]
    inputs = [np.asarray(x, np.float32).reshape(1, length, 1) for x in inputs]
    classifier = isinstance(module, nn.Module) and hasattr(module, "logits")
    kwargs = {"classifier_labels": ["healthy", "strained", "burnout_risk"]} if classifier else {}
    mlmodel = to_coreml(module, torch.as_tensor(inputs[0]), "fp32", **kwargs)
    path = save_mlpackage(mlmodel, tmp_path / f"{name}.mlpackage")
    ev = ReferenceEvaluator(path)
    for x in inputs:
        out = ev.run({INPUT_NAME: x})
        got = out["classLabel_probs"] if classifier else out[SCORE_OUTPUT]
        want = module(torch.as_tensor(x)).detach().numpy()
        np.testing.assert_allclose(np.asarray(got, np.float64).reshape(-1), want.reshape(-1).astype(np.float64),
                                   atol=TOL, rtol=TOL, err_msg=name)


class Unconvertible(nn.Module):
    def forward(self, x):
        return torch.linalg.det(x.reshape(1, 4, 4))


def test_unconvertible_module_names_the_op():
    with pytest.raises(EdgekitError, match="cannot convert Unconvertible.*(det|linalg)"):
        to_coreml(Unconvertible(), torch.ones(1, 16, 1))


@pytest.mark.parametrize("name,module,length", ZOO, ids=[z[0] for z in ZOO])
def test_zoo_batched_evaluation_equals_single(tmp_path, name, module, length):
    """Every zoo program either has a batch rule for all its ops and then gives, batched, the outputs of
    one-at-a-time runs, or is refused as unbatchable (recurrent and convolution ops)."""
    torch.manual_seed(0)
    for p in module.parameters():
        nn.init.normal_(p, std=0.3)
    module.eval()
    rng = np.random.default_rng(1)
    X = np.stack([np.asarray(_beats(rng, length, m, 30, 15, 5), np.float32).reshape(1, length, 1)
                  for m in (450, 700, 800, 950, 1100, 1600)])
    classifier = hasattr(module, "logits")
    kwargs = {"classifier_labels": ["healthy", "strained", "burnout_risk"]} if classifier else {}
    path = save_mlpackage(to_coreml(module, torch.as_tensor(X[0]), "fp16", **kwargs), tmp_path / f"{name}.mlpackage")
    ev = ReferenceEvaluator(path)
    if not batchable(ev):
        assert name.startswith(("lstm", "gru", "bilstm", "conv")), name
        with pytest.raises(Unbatchable):
            BatchedEvaluator(ev)
        return
    got = BatchedEvaluator(ev).run({INPUT_NAME: X}, chunk=4)
    for i, x in enumerate(X):
        for key, value in ev.run({INPUT_NAME: x}).items():
            if np.asarray(value).dtype == object:
                assert got[key][i] == np.asarray(value).item()
            else:
                np.testing.assert_allclose(got[key][i], value, rtol=1e-6, atol=1e-6, err_msg=f"{name} {key}")
