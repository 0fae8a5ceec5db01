"""Parity fixtures: model inputs that go through torch, onnxruntime and every Core ML variant.

``fixtures/<model>.json`` (written by ``python -m edgekit.verify.fixtures``) holds, per model,
realistic windows and edge cases of the model's input ``rr_sequence``:

* strain classifier — N consecutive RR intervals in ms: simulated resting, sleeping, exercising and
  stressed windows (respiratory sinus arrhythmia + Mayer waves + noise) and edge cases (all 300 ms,
  all 2000 ms, constant, alternating, ramps, steps, artifact-corrected windows);
* fatigue forecaster — 24 hourly RMSSD values in ms: circadian profiles at several levels and edge
  cases (all 5 ms, all 150 ms, constant, alternating, trends, an hour without beats).

Values are rounded to 0.1 ms. The same seed always gives the same file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from edgekit import INPUT_NAME
from edgekit.errors import EdgekitError
from edgekit.fileio import write_text
from edgekit.log import get_logger
from edgekit.tasks import FIXTURE_SEED as SEED
from edgekit.tasks import task_for

log = get_logger(__name__)

MIN_FIXTURES = 32


def fixtures_path(cfg) -> Path:
    """Parity fixture inputs of a model: ``fixtures/<model>.json`` beside the configs."""
    return cfg.path.resolve().parent.parent / "fixtures" / f"{cfg.name}.json"


def cases_for(model_type: str, length: int) -> list[dict]:
    """The model type's parity fixture cases (its task spec writes them)."""
    return task_for(model_type).fixture_cases(length)


def document(model_name: str, model_type: str, length: int) -> dict:
    cases = cases_for(model_type, length)
    return {
        "model": model_name,
        "model_type": model_type,
        "input_name": INPUT_NAME,
        "units": "ms",
        "shape": [1, length, 1],
        "description": task_for(model_type).fixture_description,
        "seed": SEED,
        "cases": cases,
    }


def dumps(doc: dict) -> str:
    """JSON with one line per fixture case (diff-friendly, compact)."""
    head = {k: v for k, v in doc.items() if k != "cases"}
    lines = [json.dumps(head, indent=1)[:-2] + ",", ' "cases": [']
    lines += ["  " + json.dumps(c) + ("," if i < len(doc["cases"]) - 1 else "") for i, c in enumerate(doc["cases"])]
    lines += [" ]", "}"]
    return "\n".join(lines) + "\n"


def load(path: Path, length: int) -> tuple[list[str], np.ndarray]:
    """(case names, inputs (K, length) float32 ms) of a fixture file; refuses wrong shapes."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        cases = doc["cases"]
        names = [str(c["name"]) for c in cases]
        X = np.asarray([c[INPUT_NAME] for c in cases], dtype=np.float32)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EdgekitError(f"{path}: unreadable fixture file ({exc})") from None
    if X.ndim != 2 or X.shape[1] != length:
        raise EdgekitError(f"{path}: fixtures have shape {X.shape}, the model takes windows of {length}")
    if len(names) < MIN_FIXTURES:
        raise EdgekitError(f"{path}: {len(names)} fixtures, at least {MIN_FIXTURES} needed")
    if not np.all(np.isfinite(X)):
        raise EdgekitError(f"{path}: non-finite fixture values")
    return names, X


def main(argv: list[str] | None = None) -> None:
    """Write ``fixtures/<model>.json`` for the default model configs."""
    from edgekit.config import load_config

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("configs", nargs="*", default=["configs/hrv_transformer.toml", "configs/hrv_lstm.toml"])
    ap.add_argument("--out", default="fixtures")
    args = ap.parse_args(argv)
    for c in args.configs:
        cfg = load_config(c)
        length = task_for(cfg.model.type).input_length(cfg.model.params)
        doc = document(cfg.name, cfg.model.type, length)
        target = Path(args.out) / f"{cfg.name}.json"
        write_text(target, dumps(doc))
        log.info(f"{target}: {len(doc['cases'])} fixtures")


if __name__ == "__main__":
    main()
