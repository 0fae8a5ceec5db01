"""Parity fixtures: model inputs that go through torch, onnxruntime and every Core ML variant.

A fixture file ``<model>.json`` (written by ``python -m edgekit.verify.fixtures``) holds, per model,
realistic windows and edge cases of the model's input ``rr_sequence``:

* strain classifier — N consecutive RR intervals in ms: simulated resting, sleeping, exercising and
  stressed windows (respiratory sinus arrhythmia + Mayer waves + noise) and edge cases (all 300 ms,
  all 2000 ms, constant, alternating, ramps, steps, artifact-corrected windows);
* fatigue forecaster — 24 hourly RMSSD values in ms: circadian profiles at several levels and edge
  cases (all 5 ms, all 150 ms, constant, alternating, trends, an hour without beats).

Values are rounded to 0.1 ms. The same seed always gives the same file.

edgekit ships the files of its default models as package data (``edgekit/fixtures/<model>.json``,
read through :mod:`importlib.resources`, see :func:`shipped`); a project may put its own beside its
configs (``fixtures/<model>.json``, see :func:`fixtures_path`).
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
from importlib.resources.abc import Traversable
from pathlib import Path

import numpy as np

from edgekit import INPUT_NAME
from edgekit.config.load import load_config
from edgekit.core.errors import EdgekitError
from edgekit.core.fileio import write_text
from edgekit.core.log import get_logger
from edgekit.tasks import FIXTURE_SEED as SEED
from edgekit.tasks import task_for

log = get_logger(__name__)

MIN_FIXTURES = 32
#: Package-data directory of the default fixtures (inside the edgekit package).
SHIPPED_DIR = "fixtures"


def user_fixtures_path(cfg) -> Path:
    """``fixtures/<model>.json`` beside the configs directory of ``cfg`` (a project's own fixtures)."""
    return cfg.path.resolve().parent.parent / "fixtures" / f"{cfg.name}.json"


def fixtures_path(cfg) -> Path | Traversable:
    """Parity fixture inputs of a model.

    ``fixtures/<model>.json`` beside the configs directory (``<project>/fixtures/`` next to
    ``<project>/configs/<model>.toml``) when that file exists; otherwise the default fixture edgekit
    ships for that model name (``edgekit/fixtures/<model>.json``, package data read through
    :mod:`importlib.resources`, so an installed wheel has it too). The shipped file may not exist (a
    model name edgekit ships no fixtures for); verify then uses fixtures generated for the model, as it
    does when the shipped file does not fit the model's type or window length.
    """
    user = user_fixtures_path(cfg)
    if user.is_file():
        return user
    return shipped(cfg.name)


def cases_for(model_type: str, length: int) -> list[dict]:
    """The model type's parity fixture cases (its task spec writes them)."""
    return task_for(model_type).fixture_cases(length)


def document(model_name: str, model_type: str, length: int) -> dict:
    cases = cases_for(model_type, length)
    return {
        "model": model_name,
        "model_type": model_type,
        "input_name": task_for(model_type).input_name,
        "units": "ms" if task_for(model_type).input_channels == 1 else "m/s, rise/run, bpm",
        "shape": [1, length, task_for(model_type).input_channels],
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


def shipped(model_name: str) -> Traversable:
    """The default fixture file edgekit ships for ``model_name`` (package data; may not exist)."""
    return importlib.resources.files("edgekit") / SHIPPED_DIR / f"{model_name}.json"


def fits(path: Path | Traversable, model_type: str, length: int) -> bool:
    """True when fixture file ``path`` is for a model of ``model_type`` taking windows of ``length``."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return doc.get("model_type") == model_type and list(doc.get("shape", []))[1:2] == [length]
    except (OSError, ValueError, AttributeError, TypeError):
        return False


def load(path: Path | Traversable, length: int) -> tuple[list[str], np.ndarray]:
    """(case names, inputs (K, length) or (K, length, C) float32) of a fixture file; refuses wrong shapes."""
    try:
        doc = json.loads((Path(path) if isinstance(path, str) else path).read_text(encoding="utf-8"))
        cases = doc["cases"]
        names = [str(c["name"]) for c in cases]
        X = np.asarray([c[doc.get("input_name", INPUT_NAME)] for c in cases], dtype=np.float32)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EdgekitError(f"{path}: unreadable fixture file ({exc})") from None
    if X.ndim not in (2, 3) or X.shape[1] != length:
        raise EdgekitError(f"{path}: fixtures have shape {X.shape}, the model takes windows of {length}")
    if len(names) < MIN_FIXTURES:
        raise EdgekitError(f"{path}: {len(names)} fixtures, at least {MIN_FIXTURES} needed")
    if not np.all(np.isfinite(X)):
        raise EdgekitError(f"{path}: non-finite fixture values")
    return names, X


def main(argv: list[str] | None = None) -> None:
    """Write ``edgekit/fixtures/<model>.json`` (the shipped defaults) for the default model configs."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("configs", nargs="*", default=["configs/hrv_transformer.toml", "configs/hrv_lstm.toml"])
    ap.add_argument("--out", default="edgekit/fixtures")
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
