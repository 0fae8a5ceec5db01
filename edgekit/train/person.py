"""One person's workouts over the years: the activity model's honest evaluation (temporal shift).

The train stage holds out whole runners; this adds the scenario the model is for: a population
model adapted to one person. The person is the held-out runner with the most windows in their
latest year and before it. Their older workouts train, their newest year tests (a temporal split:
fitness changes over the years, so the newest year is not like the rest). Reported in bpm on the
newer workouts' observed steps, side by side in one run:

- baselines: the person's mean HR (older workouts), a first-order kinetics model fitted to the
  person's older workouts (:mod:`edgekit.data.signal.hr_kinetics`), the plain population LSTM (no context,
  no fine-tuning), and an LSTM trained on the person's older workouts alone (the temporal-shift
  failure: it learns the person's past);
- the population model with calibration context (the first minutes of observed HR);
- the population model fine-tuned on the person's older workouts, without and with context.

It runs from ``edgekit evaluate --person`` (and the tests), not in every package build: it trains two
more models. The report shows its last run, with the run's date and config fingerprint.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

import edgekit
from edgekit.core.errors import EdgekitError
from edgekit.core.fileio import sha256_file, write_json
from edgekit.core.layout import ModelLayout
from edgekit.core.log import get_logger
from edgekit.data.signal import hr_kinetics
from edgekit.tasks import task_for
from edgekit.tasks.activity import regression_metrics

log = get_logger(__name__)

LR_FACTOR = 0.3  # fine-tuning learning rate = population lr × this
MAX_FINETUNE_EPOCHS = 20


def choose_person(arrays: dict[str, np.ndarray], candidates: np.ndarray) -> tuple[int, int] | None:
    """(runner index, newest year) of the candidate with the most windows both in and before their
    newest year, or None when no candidate has both."""
    best, best_n = None, 0
    for r in np.asarray(candidates).tolist():
        years = arrays["year"][arrays["subject"] == r]
        if not len(years):
            continue
        newest = int(years.max())
        n_new, n_old = int((years == newest).sum()), int((years < newest).sum())
        if n_new and n_old and min(n_new, n_old) > best_n:
            best, best_n = (int(r), newest), min(n_new, n_old)
    return best


def evaluate_person(model: Any, task: Any, arrays: dict[str, np.ndarray], test_subjects: np.ndarray,
                    cfg: Any, labels: list[str]) -> dict[str, Any]:
    """The scenario above, for the population ``model`` (not modified). Returns its figures."""
    # deferred on purpose: fit and the checkpoint reader import torch, and the CLI imports this module
    # torch-free (edgekit hrv, edgekit data run without torch)
    from edgekit.train.fit import Split, _predict, fit  # noqa: PLC0415
    choice = choose_person(arrays, test_subjects)
    if choice is None:
        return {"skipped": "no held-out runner has workouts both in and before their newest year"}
    person, newest = choice
    mine = arrays["subject"] == person
    older, newer = mine & (arrays["year"] < newest), mine & (arrays["year"] == newest)
    ctx = arrays["context_steps"] > 0

    def split(mask: np.ndarray) -> Split:
        return Split(X=arrays["X"][mask].astype(np.float32), y=arrays["y"][mask].astype(np.float32),
                     y_today=None, subjects=arrays["subject"][mask])

    test_plain, test_ctx = split(newer & ~ctx), split(newer & ctx)
    old_idx = np.flatnonzero(older)  # chronological (windows are written in workout order)
    n_val = max(1, len(old_idx) // 5)
    train_old, val_old = split(np.isin(np.arange(len(mine)), old_idx[:-n_val])), split(
        np.isin(np.arange(len(mine)), old_idx[-n_val:]))
    y = test_plain.y
    step_s = float(task.params(cfg.model.params).step_s)
    rows: dict[str, dict[str, float]] = {}

    def add(name: str, pred: np.ndarray, yy: np.ndarray = y) -> None:
        m = regression_metrics(yy, pred)
        rows[name] = {"mae_bpm": m["mae"], "rmse_bpm": m["rmse"]}

    mean_hr = float(np.nanmean(train_old.y))
    add("baseline: the person's mean HR", np.full(y.shape, mean_hr))
    plain_old = split(older & ~ctx)
    kin = hr_kinetics.fit(plain_old.X[:, :, 0], plain_old.X[:, :, 1], plain_old.y, step_s)
    add("baseline: first-order kinetics fitted to the person", kin.predict(test_plain.X[:, :, 0], test_plain.X[:, :, 1]))
    add("baseline: population LSTM, no context, no fine-tuning", _predict(model, test_plain.X))
    has_ctx = len(test_ctx.X) > 0  # data.context_minutes = 0 writes no context copies
    if has_ctx:
        add("population LSTM + context", _predict(model, test_ctx.X), test_ctx.y)

    own = task.build_model(cfg.model.params)
    own.set_normalization(**task.normalization(train_old.X, train_old.y))
    fit(own, task, train_old, val_old, cfg, labels, epochs=min(cfg.train.epochs, MAX_FINETUNE_EPOCHS),
        desc=f"person-only {cfg.name}")
    add("LSTM trained on the person's older workouts only", _predict(own, test_plain.X))

    tuned = copy.deepcopy(model)
    fit(tuned, task, train_old, val_old, cfg, labels, epochs=min(cfg.train.epochs, MAX_FINETUNE_EPOCHS),
        lr=cfg.train.lr * LR_FACTOR, desc=f"fine-tune {cfg.name}")
    add("fine-tuned, no context", _predict(tuned, test_plain.X))
    if has_ctx:
        add("fine-tuned + context", _predict(tuned, test_ctx.X), test_ctx.y)
    k = int(np.argmax(np.isfinite(test_plain.y).sum(axis=1)))  # the newer window with the most recorded HR

    def trace(a: np.ndarray) -> list:
        return [None if not np.isfinite(v) else round(float(v), 2) for v in np.asarray(a, np.float64)]

    example = {"step_s": step_s, "recorded": trace(test_plain.y[k]),
               "kinetics": trace(kin.predict(test_plain.X[k:k + 1, :, 0], test_plain.X[k:k + 1, :, 1])[0]),
               "population": trace(_predict(model, test_plain.X[k:k + 1])[0]) if len(test_plain.X) > k else [],
               "fine_tuned" + ("_context" if has_ctx else ""): trace(_predict(tuned, (test_ctx if has_ctx else test_plain).X[k:k + 1])[0])}
    out = {
        "person": person,
        "example": example, "test_year": newest, "train_years": sorted(set(arrays["year"][older].tolist())),
        "n_windows": {"older": int(older.sum() // 2), "newer": int(newer.sum() // 2)},
        "kinetics": {"hr0_bpm": kin.hr0_bpm, "gain_bpm_per_mps": kin.gain_bpm_per_mps, "tau_s": kin.tau_s},
        "context_minutes": float(cfg.data.context_minutes),
        "results": rows,
    }
    best_base = min(v["mae_bpm"] for k, v in rows.items() if k.startswith("baseline"))
    out["fine_tune_gain_bpm"] = rows["baseline: population LSTM, no context, no fine-tuning"]["mae_bpm"] - \
        rows["fine-tuned, no context"]["mae_bpm"]
    out["best_baseline_mae_bpm"] = best_base
    for k, v in rows.items():
        log.info(f"[{cfg.name}] person {person}, {newest}: {k}: MAE {v['mae_bpm']:.2f} bpm")
    return out


PERSON_JSON = "person/person.json"  # under build/<model>/: the last run of the scenario


def config_fingerprint(cfg: Any, checkpoint: Any, windows: Any) -> str:
    """SHA-256 of what the scenario depends on: the model, data and train sections of ``cfg``, the
    checkpoint and windows file bytes, and the edgekit version (the report shows its first 12 digits)."""
    parts = {"config": cfg.section_dict("model", "data", "train"), "checkpoint": sha256_file(checkpoint),
             "windows": sha256_file(windows), "edgekit": edgekit.__version__}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def run(cfg: Any, build_dir, now: Any = None) -> dict[str, Any]:
    """``edgekit evaluate --person``: the scenario above on the built population model; writes
    ``build/<model>/person/person.json`` (the figures under ``result``, the UTC date of the run, the
    checkpoint's SHA-256 and the :func:`config_fingerprint`). Not part of ``edgekit build``: it trains
    two more models (a person-only LSTM and a fine-tuned copy), which cost the package build 20-40 s."""
    from edgekit.models.checkpoint import load_checkpoint  # noqa: PLC0415  (torch: see evaluate_person)
    from edgekit.train.fit import load_windows, seed_everything  # noqa: PLC0415

    task = task_for(cfg.model.type)
    if not task.person_evaluation:
        raise EdgekitError(f"{cfg.path}: a {task.title} has no person scenario (edgekit evaluate --person applies "
                           f"to the activity model)")
    model_dir = Path(build_dir) / cfg.name
    layout = ModelLayout(model_dir)
    ckpt, windows, split_path = layout.checkpoint, layout.windows, layout.split
    model, meta = load_checkpoint(ckpt, task_for)
    arrays = load_windows(windows)
    try:
        split = json.loads(split_path.read_text(encoding="utf-8"))
        test = np.asarray(split["test"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EdgekitError(f"{split_path}: unreadable subject split ({exc}); run the train stage first") from None
    seed_everything(cfg.train.seed, cfg.train.threads)
    result = evaluate_person(model, task, arrays, test, cfg, task.labels(meta))
    now = now or datetime.datetime.now(datetime.timezone.utc)
    doc = {"model": cfg.name, "date": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
           "config_fingerprint": config_fingerprint(cfg, ckpt, windows), "checkpoint_sha256": sha256_file(ckpt),
           "synthetic_data": bool(meta.get("synthetic_data")), "result": result}
    write_json(model_dir / PERSON_JSON, doc)
    return doc
