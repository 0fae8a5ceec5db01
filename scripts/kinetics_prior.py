#!/usr/bin/env python3
"""Measure a physiological prior for the activity model (issue 23, item 4): the first-order kinetics
model fitted on the context minutes as the prior, an LSTM predicting the residual; against the
bundled design (an LSTM from pace and grade with a lasting offset learned from the context).

    python scripts/kinetics_prior.py BUILD_DIR/<model> [--epochs 20] [--out prior.json]

Reads the model's training data and split (``data/windows.npz``, ``train/split.json``; whole
workouts: ``data.train_steps``) and its checkpoint (``train/model.pt``), trains the prior+residual
network on the same training runners with the same budget (epochs, learning rate, batch) and scores
both on the held-out synthetic runners and on the real runs' **tune** split (realdata/runs; the
holdout runners are not used), per run without and with 5 min of context, as the evaluate stage.

The prior (:func:`prior`): effort u = grade-adjusted speed (:mod:`edgekit.data.signal.hr_kinetics`), its
first-order response s (τ = 60 s, from rest at the workout's start), ``hr = hr0 + G·s``. Without
context: the population's (hr0, G), least squares over the training runners' workouts. With
context: hr0 and G fitted to the context minutes by ridge regression towards the population's
values (a fit of three free parameters to five minutes of warm-up extrapolates badly: the
kinetics baseline of the evaluation, median 29 bpm on the tune runs).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

TAU_S = 60.0
STEP_S = 10.0
CONTEXT_STEPS = 30
RIDGE_G = 200.0  # (bpm per m/s)^-2 weight of the gain's prior, in steps of squared error
RIDGE_HR0 = 0.05


def response(speed: np.ndarray, grade: np.ndarray) -> np.ndarray:
    """First-order response s (…, T) of grade-adjusted speed, from rest (s = 0 before step 0)."""
    from edgekit.data.signal.hr_kinetics import effort

    u = effort(speed, grade)
    a = 1.0 - np.exp(-STEP_S / TAU_S)
    s = np.zeros_like(u)
    prev = np.zeros(u.shape[:-1])
    for t in range(u.shape[-1]):
        prev = prev + a * (u[..., t] - prev)
        s[..., t] = prev
    return s


def prior(s: np.ndarray, ctx: np.ndarray, pop: tuple[float, float]) -> np.ndarray:
    """hr0 + G·s per row; (hr0, G) ridge-fitted on the context steps (ctx > 0), else the population's."""
    hr0_p, g_p = pop
    out = np.empty_like(s)
    for i in range(len(s)):
        m = ctx[i] > 0
        if m.sum() < 3:
            out[i] = hr0_p + g_p * s[i]
            continue
        x, y = s[i][m], ctx[i][m]
        A = np.array([[len(x) + RIDGE_HR0, x.sum()], [x.sum(), (x * x).sum() + RIDGE_G]])
        b = np.array([y.sum() + RIDGE_HR0 * hr0_p, (x * y).sum() + RIDGE_G * g_p])
        hr0, g = np.linalg.solve(A, b)
        out[i] = hr0 + g * s[i]
    return out


def main(argv=None) -> int:
    import torch
    from torch import nn

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    z = np.load(args.model_dir / "data" / "windows.npz")
    split = json.loads((args.model_dir / "train" / "split.json").read_text())
    X, y, subj = z["X"].astype(np.float64), z["y"].astype(np.float64), z["subject"]
    s = response(X[..., 0], X[..., 1])
    tr = np.isin(subj, split["train"])
    obs = np.isfinite(y) & tr[:, None]
    A = np.stack([np.ones(obs.sum()), s[obs]], 1)
    pop = tuple(float(v) for v in np.linalg.lstsq(A, y[obs], rcond=None)[0])
    P = prior(s, X[..., 2], pop)
    feats = np.stack([(X[..., 0] - 2.5), X[..., 1] * 20.0, (P - 140.0) / 20.0], -1).astype(np.float32)

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(3, 64, 2, batch_first=True)
            self.head = nn.Linear(64, 1)

        def forward(self, f):
            return 20.0 * self.head(self.lstm(f)[0])[..., 0]

    net = Residual()
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-2)
    idx = np.flatnonzero(tr)
    F, R = torch.from_numpy(feats), torch.from_numpy((y - P).astype(np.float32))
    for epoch in range(args.epochs):
        perm = np.random.default_rng(epoch).permutation(idx)
        for b in range(0, len(perm), 32):
            j = torch.from_numpy(perm[b:b + 32])
            out, tgt = net(F[j]), R[j]
            m = torch.isfinite(tgt)
            loss = nn.functional.smooth_l1_loss(out[m], tgt[m], beta=2.0)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
    net.eval()

    def predict(x3):  # (B, T, 3) raw -> HR
        x3 = np.asarray(x3, np.float64)
        ss = response(x3[..., 0], x3[..., 1])
        pp = prior(ss, x3[..., 2], pop)
        f = np.stack([(x3[..., 0] - 2.5), x3[..., 1] * 20.0, (pp - 140.0) / 20.0], -1).astype(np.float32)
        with torch.no_grad():
            return pp + net(torch.from_numpy(f)).double().numpy()

    from edgekit.data.real.manifest import load_set
    from edgekit.tasks import activity_real as ar
    from edgekit.models.checkpoint import load_checkpoint
    from edgekit.tasks import task_for

    model, _ = load_checkpoint(args.model_dir / "train" / "model.pt", task_for)

    def lstm(x3):
        with torch.no_grad():
            return model(torch.from_numpy(np.asarray(x3, np.float32))).double().numpy()

    test = np.isin(subj, split["test"])
    ctx_rows = z["context_steps"] > 0
    synth = {}
    for name, fn in (("kinetics prior + LSTM residual", predict), ("LSTM + context offset (bundled design)", lstm)):
        row = {}
        for label, sel in (("no context", test & ~ctx_rows), ("5 min context", test & ctx_rows)):
            pred = fn(X[sel])
            d = np.abs(pred - y[sel])
            row[label] = float(np.nanmean(d))
        synth[name] = row
    root = Path(__file__).resolve().parent.parent
    rs = load_set(root / "realdata" / "runs")
    real = {}
    for name, fn in (("kinetics prior + LSTM residual", predict), ("LSTM + context offset (bundled design)", lstm)):
        runs, _ = ar.score_set(rs, ar.model_predict_run(fn))
        runs = [r for r in runs if r.split == "tune"]
        s_ = ar._summary(runs)
        real[name] = {"median_no_context": s_["median_none"], "median_context": s_["median_context"],
                      "context_beats_context_mean": f"{s_['n_beats']} of {s_['runs']}",
                      "worst_context": s_["worst_context"],
                      "per_run_context": {r.id: round(r.mae_context, 2) for r in runs}}
    doc = {"population_prior": {"hr0_bpm": pop[0], "gain_bpm_per_mps": pop[1], "tau_s": TAU_S},
           "synthetic_heldout_mae_bpm": synth, "real_tune_runs": real}
    text = json.dumps(doc, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
