"""Coverage and accuracy per recording profile of a watch-contract model (strain_reading,
fatigue_slots): run the data and train stages of a config, print the held-out figures of
metrics.json, and optionally score the trained model on a fresh cohort of another seed (every
subject unseen).

    PYTHONPATH=. python scripts/watch_metrics.py configs/hrv_reading.toml --out build
    PYTHONPATH=. python scripts/watch_metrics.py configs/hrv_slots.toml --out build --fresh-seed 11 --fresh-subjects 24
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import numpy as np


def main() -> int:
    from edgekit.pipeline.build import run_data_stage, run_stage
    from edgekit.config.load import load_config
    from edgekit.tasks import task_for
    from edgekit.models.checkpoint import load_checkpoint
    from edgekit.train.fit import _predict, load_windows

    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("--out", default="build")
    ap.add_argument("--skip-train", action="store_true", help="use the trained model already in --out")
    ap.add_argument("--fresh-seed", type=int, default=None)
    ap.add_argument("--fresh-subjects", type=int, default=24)
    args = ap.parse_args()
    cfg = load_config(args.config)
    out = Path(args.out)
    if not args.skip_train:
        run_data_stage(cfg, out)
        run_stage(cfg, "train", out)
    m = json.loads((out / cfg.name / "train" / "metrics.json").read_text())
    result = {"heldout": {k: m.get(k) for k in ("per_profile", "coverage", "accuracy_vs_beats") if k in m}}
    if args.fresh_seed is not None:
        fresh = copy.deepcopy(cfg)
        fresh.data.seed, fresh.data.subjects = args.fresh_seed, args.fresh_subjects
        fresh.model.name = cfg.name + f"_fresh{args.fresh_seed}"
        run_data_stage(fresh, out)
        arrays = load_windows(out / fresh.model.name / "data" / "windows.npz")
        model, meta = load_checkpoint(out / cfg.name / "train" / "model.pt", task_for)
        task = task_for(cfg.model.type)
        labels = task.labels(meta)
        ids = np.unique(arrays["subject"])
        result[f"fresh_seed_{args.fresh_seed}"] = task.heldout_report(
            lambda X: _predict(model, X.astype(np.float32)), arrays, ids, labels)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
