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
configs (``fixtures/<model>.json``, see :func:`edgekit.build.fixtures_path`).
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
from importlib.resources.abc import Traversable
from pathlib import Path

import numpy as np

from edgekit import INPUT_NAME
from edgekit.errors import EdgekitError
from edgekit.fileio import write_text
from edgekit.log import get_logger

log = get_logger(__name__)

MIN_FIXTURES = 32
SEED = 20240521
#: Package-data directory of the default fixtures (inside the edgekit package).
SHIPPED_DIR = "fixtures"


def _beats(rng: np.random.Generator, n: int, mean_ms: float, rsa_ms: float, lf_ms: float, noise_ms: float) -> np.ndarray:
    """RR series: mean + respiratory sinus arrhythmia (~0.25 Hz) + Mayer waves (~0.1 Hz) + noise."""
    t = np.cumsum(np.full(n, mean_ms / 1000.0))
    resp = rng.uniform(0.18, 0.33)
    rr = (mean_ms + rsa_ms * np.sin(2 * np.pi * resp * t + rng.uniform(0, 6.28))
          + lf_ms * np.sin(2 * np.pi * 0.1 * t + rng.uniform(0, 6.28)) + noise_ms * rng.standard_normal(n))
    return np.clip(rr, 300.0, 2000.0)


def strain_cases(n: int, seed: int = SEED) -> list[dict]:
    """≥ 32 RR windows of ``n`` beats (ms): realistic states and edge cases."""
    rng = np.random.default_rng(seed)
    cases: list[dict] = []

    def add(name: str, kind: str, rr: np.ndarray) -> None:
        cases.append({"name": name, "kind": kind, INPUT_NAME: np.round(np.asarray(rr, float), 1).tolist()})

    states = [  # (name, mean RR ms, RSA amplitude, LF amplitude, noise)
        ("rest", 900, 35, 20, 8), ("rest_high_hrv", 1000, 60, 30, 10), ("rest_low_hrv", 850, 12, 8, 4),
        ("sleep", 1100, 50, 25, 8), ("sleep_deep", 1250, 70, 20, 6), ("awake_seated", 800, 25, 15, 6),
        ("walking", 650, 10, 8, 4), ("exercise", 450, 4, 3, 2), ("exercise_hard", 360, 2, 2, 1.5),
        ("stress", 700, 8, 12, 5), ("stress_acute", 600, 5, 6, 3), ("recovery", 750, 20, 15, 6),
        ("athlete_rest", 1350, 80, 35, 10), ("elderly_rest", 950, 10, 6, 4), ("tachycardic", 500, 6, 4, 3),
        ("bradycardic", 1550, 40, 20, 8), ("post_meal", 780, 15, 18, 5), ("morning", 880, 30, 22, 7),
        ("evening", 820, 22, 16, 6), ("nap", 1050, 45, 18, 7),
    ]
    for name, mean, rsa, lf, noise in states:
        add(name, "realistic", _beats(rng, n, mean, rsa, lf, noise))
    i = np.arange(n)
    add("all_300ms", "edge", np.full(n, 300.0))
    add("all_2000ms", "edge", np.full(n, 2000.0))
    add("constant_800ms", "edge", np.full(n, 800.0))
    add("constant_1000ms", "edge", np.full(n, 1000.0))
    add("alternating_700_900", "edge", np.where(i % 2 == 0, 700.0, 900.0))
    add("alternating_300_2000", "edge", np.where(i % 2 == 0, 300.0, 2000.0))
    add("ramp_up_500_1200", "edge", np.linspace(500.0, 1200.0, n))
    add("ramp_down_1200_500", "edge", np.linspace(1200.0, 500.0, n))
    add("step_600_to_1000", "edge", np.where(i < n // 2, 600.0, 1000.0))
    rr = _beats(rng, n, 850, 30, 15, 6)
    for k in rng.choice(np.arange(2, n - 2), size=max(2, n // 32), replace=False):  # ectopic beats,
        rr[k] = 0.5 * (rr[k - 1] + rr[k + 1])  # corrected by interpolation of the neighbours
    add("corrected_ectopics", "edge", rr)
    rr = _beats(rng, n, 800, 25, 12, 5)
    rr[n // 3] = 300.0  # a missed-then-clipped beat at the lower bound
    rr[2 * n // 3] = 2000.0  # a long pause clipped at the upper bound
    add("clipped_artifacts", "edge", rr)
    add("sub_ms_jitter_800", "edge", 800.0 + 0.3 * np.where(i % 2 == 0, 1.0, -1.0))
    return cases


def forecaster_cases(hours: int, seed: int = SEED) -> list[dict]:
    """≥ 32 sequences of ``hours`` hourly RMSSD values (ms): circadian profiles and edge cases."""
    rng = np.random.default_rng(seed + 1)
    cases: list[dict] = []

    def add(name: str, kind: str, v: np.ndarray) -> None:
        cases.append({"name": name, "kind": kind, INPUT_NAME: np.round(np.asarray(v, float), 1).tolist()})

    h = np.arange(hours)
    for level in (12, 20, 28, 35, 42, 50, 58, 65, 75, 90, 110, 130):
        for variant in range(2):
            amp = rng.uniform(0.15, 0.45) * level
            trend = rng.uniform(-0.3, 0.3) * level / hours
            v = level + amp * np.cos(2 * np.pi * (h - rng.uniform(1, 5)) / 24.0) + trend * h
            v = v * np.exp(0.12 * rng.standard_normal(hours))
            add(f"circadian_{level}ms_{variant}", "realistic", np.clip(v, 5.0, 150.0))
    add("all_5ms", "edge", np.full(hours, 5.0))
    add("all_150ms", "edge", np.full(hours, 150.0))
    add("constant_45ms", "edge", np.full(hours, 45.0))
    add("alternating_5_150", "edge", np.where(h % 2 == 0, 5.0, 150.0))
    add("trend_down_90_15", "edge", np.linspace(90.0, 15.0, hours))
    add("trend_up_15_90", "edge", np.linspace(15.0, 90.0, hours))
    add("step_drop_60_to_20", "edge", np.where(h < hours // 2, 60.0, 20.0))
    v = np.full(hours, 50.0)
    v[hours // 2] = 0.0  # an hour without beats (sensor off): RMSSD 0
    add("hour_without_beats", "edge", v)
    return cases


def cases_for(model_type: str, length: int) -> list[dict]:
    if model_type == "strain_transformer":
        return strain_cases(length)
    if model_type == "fatigue_lstm":
        return forecaster_cases(length)
    raise EdgekitError(f"no fixtures for model type {model_type!r}")


def document(model_name: str, model_type: str, length: int) -> dict:
    cases = cases_for(model_type, length)
    return {
        "model": model_name,
        "model_type": model_type,
        "input_name": INPUT_NAME,
        "units": "ms",
        "shape": [1, length, 1],
        "description": ("consecutive RR intervals" if model_type == "strain_transformer"
                        else "hourly RMSSD values, oldest first"),
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
    """(case names, inputs (K, length) float32 ms) of a fixture file; refuses wrong shapes."""
    try:
        doc = json.loads((Path(path) if isinstance(path, str) else path).read_text(encoding="utf-8"))
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
    """Write ``edgekit/fixtures/<model>.json`` (the shipped defaults) for the default model configs."""
    from edgekit.config import load_config

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("configs", nargs="*", default=["configs/hrv_transformer.toml", "configs/hrv_lstm.toml"])
    ap.add_argument("--out", default="edgekit/fixtures")
    args = ap.parse_args(argv)
    for c in args.configs:
        cfg = load_config(c)
        p = cfg.model.params
        length = p.get("window_beats", 128) if cfg.model.type == "strain_transformer" else p.get("sequence_hours", 24)
        doc = document(cfg.name, cfg.model.type, int(length))
        target = Path(args.out) / f"{cfg.name}.json"
        write_text(target, dumps(doc))
        log.info(f"{target}: {len(doc['cases'])} fixtures")


if __name__ == "__main__":
    main()
