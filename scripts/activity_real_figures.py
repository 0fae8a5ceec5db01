#!/usr/bin/env python3
"""REAL figures of any built activity model on realdata/runs: goals, the per-run table and medians, as
the evaluate stage computes them (edgekit.tasks.activity_real), printed. For comparing builds, e.g. a
build of an older commit whose model has no state (before issue 23):

    PYTHONPATH=. python scripts/activity_real_figures.py --model build/hr_activity [--diagnose] [--json out.json]
        [--context-minutes 5]

A model with state reads each run at once (its state carried window to window, as ``edgekit
predict`` of this checkout does); a model without state is predicted as its own version did:
180-step windows, each from zeros, the context only in the first (``compare_activity_synthetic``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def _arr(values) -> np.ndarray:
    return np.asarray([np.nan if v is None else v for v in values], np.float64)


def diagnose(runs: dict, settle_steps: int = 18) -> None:
    """Per run (real): what the context shows (the no-context model minus recorded HR over the context
    steps after ``settle_steps``), the bias after the context with context, the MAE with context, and the
    MAE once that bias is removed (an oracle that reads the whole run: a diagnostic, not a method)."""
    print("  -- the error with context: level or shape (diagnostic; oracle = bias removed after the fact)")
    print("     run  split  residual in context min 3-5  bias after  MAE context  MAE oracle-level")
    for rid, r in runs.items():
        rec, ctx, none = _arr(r["recorded"]), _arr(r["context"]), _arr(r["no_context"])
        c = int(r["context_steps"])
        shown = float(np.nanmean((none - rec)[settle_steps:c]))
        sel = (np.arange(len(rec)) >= c) & np.isfinite(rec) & np.isfinite(ctx)
        bias = float(np.mean(ctx[sel] - rec[sel]))
        print(f"     {rid}  {r['split']}  {shown:.1f}  {bias:.1f}  {np.mean(np.abs(ctx[sel] - rec[sel])):.1f}  "
              f"{np.mean(np.abs(ctx[sel] - bias - rec[sel])):.1f}")


def main(argv=None) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from compare_activity_synthetic import predictor

    from edgekit.data.real.manifest import load_set
    from edgekit.data.workout_examples import workout_input
    from edgekit.tasks.activity_real import evaluation, score_set

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True, help="a built model directory (train/model.pt)")
    ap.add_argument("--set", type=Path, default=Path("realdata/runs"), help="the real set (default realdata/runs)")
    ap.add_argument("--json", type=Path, help="write the evaluation here")
    ap.add_argument("--context-minutes", type=float, default=5.0,
                    help="minutes of recorded HR given as context; every column is scored after them (default 5, "
                         "issue 23's goals)")
    ap.add_argument("--diagnose", action="store_true",
                    help="also: how much of the error with context is the runner's level (a constant offset)")
    a = ap.parse_args(argv)
    run, stateful = predictor(a.model)

    def predict_run(workout, grid, context_steps):
        x, valid = workout_input(grid, context_steps)
        return np.where(valid, run(x), np.nan)

    rs = load_set(a.set)
    runs, warnings = score_set(rs, predict_run, context_minutes=a.context_minutes)
    ev = evaluation(rs, runs, warnings, context_minutes=a.context_minutes)
    print(f"== {a.model} ({'state carried' if stateful else 'windows from zeros'}; real)")
    for g in ev.goals:
        print(f"  [{'met' if g.met else 'MISSED'}] {g.split}: {g.name}: {g.value:.2f} (goal {g.target})")
    for t in ev.tables[:2]:
        print(f"  -- {t.title}\n     {t.columns}")
        for row in t.rows:
            print("     " + "  ".join(f"{v:.1f}" if isinstance(v, float) else str(v) for v in row))
    if a.diagnose:
        diagnose(ev.series["runs"])
    if a.json:
        a.json.write_text(json.dumps(ev.to_json(), indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
