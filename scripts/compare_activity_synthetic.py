#!/usr/bin/env python3
"""Synthetic figures of two activity models side by side, on the held-out runners of two workout
populations (the simulator of a git ref, e.g. ``main``, and this checkout's).

    python scripts/compare_activity_synthetic.py --model OLD=build_old/hr_activity --model NEW=build/hr_activity \\
        [--old-sim main] [--max-workouts 120] [--json out.json]

Each ``--model NAME=DIR`` is a built model directory (``train/model.pt``, ``train/split.json``:
each model is scored on its own held-out runners, ``split.json`` "test"). Every model predicts
whole held-out workouts as ``edgekit predict`` of its own version does: a model with state reads
the run at once (its state carried window to window); a model without state (before issue 23)
predicts 180-step windows each from zeros, the context only in the first. Scored: MAE (bpm) over
the steps after the first 5 min with recorded HR, without context and with 5 min of context, per
population: the model's held-out runners drawn from ``--old-sim REF``'s simulator
(``edgekit/data/synth/workouts.py`` of that git ref) and from this checkout's. Figures are **synthetic**.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CONTEXT_STEPS = 30


def old_simulator(ref: str):
    """``edgekit/data/synth/workouts.py`` of git ``ref`` as a module (its own workout plans inline)."""
    root = Path(__file__).resolve().parent.parent
    text = subprocess.run(["git", "show", f"{ref}:edgekit/data/synth/workouts.py"], cwd=root, check=True,
                          capture_output=True, text=True).stdout
    tmp = Path(tempfile.mkdtemp()) / "old_workout_synth.py"
    tmp.write_text(text)
    spec = importlib.util.spec_from_file_location("old_workout_synth", tmp)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def predictor(model_dir: Path):
    """(run(x (T, 3)) -> (T,), has_state) of a checkpoint, as its edgekit version predicted."""
    import torch

    from edgekit.models.checkpoint import load_checkpoint
    from edgekit.tasks import task_for

    model, meta = load_checkpoint(model_dir / "train" / "model.pt", task_for)
    stateful = "calibration" in meta["model_config"]
    T = int(meta["model_config"]["window_steps"])

    def run(x):
        x = np.asarray(x, np.float32)
        with torch.no_grad():
            if stateful:
                return model(torch.from_numpy(x[None]))[0].double().numpy()
            n = -(-len(x) // T)
            pad = np.zeros((n * T, 3), np.float32)
            pad[:len(x)] = x
            return model(torch.from_numpy(pad.reshape(n, T, 3))).double().numpy().reshape(-1)[:len(x)]

    return run, stateful


def score(run, workouts) -> dict:
    from edgekit.data.signal.workout_grid import to_grid
    from edgekit.data.workout_examples import workout_input

    err = {0: [], CONTEXT_STEPS: []}
    for w in workouts:
        grid = to_grid(w)
        rec = np.asarray(grid.hr_bpm, np.float64)
        for c in err:
            x, valid = workout_input(grid, c)
            p = np.where(valid, run(x), np.nan)
            sel = np.isfinite(rec) & np.isfinite(p) & (np.arange(len(grid)) >= CONTEXT_STEPS)
            err[c].append(np.abs(p[sel] - rec[sel]))
    return {"no_context": float(np.mean(np.concatenate(err[0]))),
            "context_5min": float(np.mean(np.concatenate(err[CONTEXT_STEPS]))),
            "workouts": len(workouts)}


def main(argv=None) -> int:
    from edgekit.data.synth import workouts as workout_synth

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", required=True, metavar="NAME=DIR")
    ap.add_argument("--old-sim", default="main", metavar="REF")
    ap.add_argument("--seed", type=int, default=11, help="the populations' data.seed (default 11)")
    ap.add_argument("--old-workouts", type=int, default=40, help="workouts per runner, old population (40)")
    ap.add_argument("--new-workouts", type=int, default=16, help="workouts per runner, new population (16)")
    ap.add_argument("--max-workouts", type=int, default=120, help="held-out workouts per population (120)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    models = {k: Path(v) for k, v in (m.split("=", 1) for m in args.model)}
    preds = {k: predictor(d) for k, d in models.items()}
    sims = {f"{args.old_sim}'s simulator": (old_simulator(args.old_sim), args.old_workouts),
            "this simulator": (workout_synth, args.new_workouts)}
    doc: dict = {}
    for name, d in models.items():  # each model on its own held-out runners, drawn from both simulators
        test = json.loads((d / "train" / "split.json").read_text())["test"]
        for label, (sim, wpr) in sims.items():
            ws = [w for i in test for w in sim.generate_runner(int(i), args.seed, wpr, hr_sampling="by_year")]
            step = max(1, len(ws) // args.max_workouts)
            doc.setdefault(label, {})[name] = score(preds[name][0], ws[::step][:args.max_workouts])
    print(json.dumps(doc, indent=2))
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
