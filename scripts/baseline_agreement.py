"""How the wearer's own baseline (edgekit.data.signal.baseline) agrees with the simulator's state, per
recording profile, next to the bundled strain classifier's day labels (SYNTHETIC data).

    PYTHONPATH=. python scripts/baseline_agreement.py --build build [--subjects 24 --days 42 --seed 11]
    PYTHONPATH=. python scripts/baseline_agreement.py --no-model --window all

Prints JSON (edgekit.data.synth.baseline_eval.measure): per profile the baseline's words against the
words of the latent recovery R, its day value against R (within-subject Spearman), its ``below``
against the simulated state (not healthy), and the model's day labels on the same days. The
figures in docs/baseline.md come from the first command with a model built by ``make ios-package``.
Re-run it after the simulator changes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def main() -> int:
    from edgekit.config.load import load_config
    from edgekit.data.synth import baseline_eval
    from edgekit.data.signal.baseline import DEFAULT_WINDOW, WINDOWS

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="configs/hrv_reading.toml", help="strain classifier config (default %(default)s)")
    ap.add_argument("--build", type=Path, default=Path("build"), help="build directory of the model (default build/)")
    ap.add_argument("--no-model", action="store_true", help="the baseline alone (no built model needed)")
    ap.add_argument("--subjects", type=int, default=24, help="simulated subjects (default 24)")
    ap.add_argument("--days", type=int, default=42, help="simulated days (default 42)")
    ap.add_argument("--seed", type=int, default=11, help="cohort seed (default 11, not a training seed)")
    ap.add_argument("--profiles", default="watch,spot,strap,breathe", help="recording profiles (default all four)")
    ap.add_argument("--window", choices=tuple(WINDOWS), default=DEFAULT_WINDOW, help="daily value window (default night)")
    args = ap.parse_args()

    predict = None
    n_slots = 128
    extra = {}
    if not args.no_model:
        import torch

        from edgekit.run.predict import load_runner

        torch.set_num_threads(1)
        cfg = load_config(args.config)
        runner = load_runner(cfg, args.build)
        n_slots = runner.task.input_length(cfg.model.params)

        def predict(X: np.ndarray) -> np.ndarray:
            return np.concatenate([runner.run(X[a:a + 512]) for a in range(0, len(X), 512)])

        extra = {"model_name": cfg.name, "model_variant": runner.variant}
    profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    out = baseline_eval.measure(args.subjects, args.days, args.seed, profiles, args.window, predict, n_slots=n_slots)
    out.update(extra)
    json.dump(out, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
