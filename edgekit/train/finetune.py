"""Fine-tuning: adapt a population checkpoint to one person (the two-stage idea).

``edgekit train --config C --init-from POP.pt --data PERSON_FILES…`` reads one person's recordings
through the data stage (any reader format; labels as the data layer finds them), splits their
windows **by time** (earliest 60 % train, next 15 % validation, last 25 % held-out days), measures the
population model on the held-out part, fine-tunes from the population weights with a lower learning
rate, and measures again. Outputs go to ``build/<model>_personal/`` (``data/`` and ``train/``), in the
same formats as the train stage, with ``metrics.json`` holding both figures.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np

import edgekit
from edgekit.config.load import ModelConfig
from edgekit.core.errors import EdgekitError
from edgekit.core.fileio import sha256_file
from edgekit.core.layout import ModelLayout
from edgekit.core.log import get_logger, plural
from edgekit.data.pipeline import run as build_windows
from edgekit.models.checkpoint import load_checkpoint
from edgekit.tasks import task_for
from edgekit.train.fit import (Split, data_summary, evaluate, fit, load_windows, seed_everything,
                               training_warnings, write_outputs)
from edgekit.train.records import TrainRecord, write_train_records

log = get_logger(__name__)

TRAIN_SHARE, VAL_SHARE = 0.60, 0.15
LR_FACTOR = 0.3  # fine-tuning learning rate = population lr × this


def personal_config(cfg: ModelConfig, data: list[Path], data_format: str | None) -> ModelConfig:
    """The config of the personal model: same architecture, data from the person's files."""
    person = copy.deepcopy(cfg)
    person.model.name = f"{cfg.name}_personal"
    person.data.source = "files"
    person.data.inputs = [str(p) for p in data]  # command-line paths: from the working directory
    person.raw_inputs = list(person.data.inputs)
    person.given = {**cfg.given, "data": {"source", "inputs"} | ({"format"} if data_format else set())}
    if data_format:
        person.data.format = data_format
    for p in data:
        if not Path(p).is_file():
            raise EdgekitError(f"{p}: --data file not found")
    return person


def chronological_split(n: int, group: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Index ranges of one person's windows (in time order): train, val, test (held-out days).

    ``group`` (n,) numbers the examples in time order when some are augmented copies of one example
    (``windows.npz`` ``aug`` = 1 rows follow their original): the split is made on the originals, the
    copies go with their original into train and are dropped from validation and test (which judge
    what the person recorded, not a thinned copy)."""
    if group is None:
        group = np.arange(n)
        originals = np.ones(n, bool)
    else:
        group = np.asarray(group)
        originals = np.ones(n, bool)
        originals[1:] = group[1:] != group[:-1]
    k = int(originals.sum())
    n_train = int(round(TRAIN_SHARE * k))
    n_val = max(1, int(round(VAL_SHARE * k)))
    if n_train < 2 or k - n_train - n_val < 1:
        raise EdgekitError(f"fine-tuning needs more of this person's data: only {plural(k, 'window')} (at least 5: "
                           f"train, validation and held-out days in time order); record more days or readings")
    rank = np.cumsum(originals) - 1  # which original each row belongs to
    idx = np.arange(n)
    return {"train": idx[rank < n_train],
            "val": idx[originals & (rank >= n_train) & (rank < n_train + n_val)],
            "test": idx[originals & (rank >= n_train + n_val)]}


def finetune(cfg: ModelConfig, build_dir: Path, init_from: Path, data: list[Path], data_format: str | None) -> dict[str, Any]:
    person = personal_config(cfg, data, data_format)
    population, meta = load_checkpoint(init_from, task_for)
    if meta["model_type"] != cfg.model.type:
        raise EdgekitError(f"{init_from}: a {meta['model_type']} checkpoint, but the config is {cfg.model.type}")
    task = task_for(cfg.model.type)
    build_windows(person, build_dir, task.examples(person))
    model_dir = Path(build_dir) / person.name
    windows_path = ModelLayout(model_dir).windows
    arrays = load_windows(windows_path)
    if "y" not in arrays or len(arrays["y"]) != len(arrays["X"]):
        raise EdgekitError(f"{windows_path}: the person's data has no labels to fine-tune on")
    group = np.cumsum(arrays["aug"] == 0) - 1 if "aug" in arrays else None
    ids = chronological_split(len(arrays["X"]), group)

    def take(idx: np.ndarray) -> Split:
        return Split(
            X=arrays["X"][idx].astype(np.float32),
            y=arrays["y"][idx],
            y_today=arrays["y_today"][idx].astype(np.float32) if "y_today" in arrays else None,
            subjects=arrays["subject"][idx],
        )

    train, val, test = (take(ids[k]) for k in ("train", "val", "test"))
    labels = list(meta.get("label_names") or [])
    seed_everything(cfg.train.seed, cfg.train.threads)
    before = evaluate(population, task, test, labels)
    model, _ = load_checkpoint(init_from, task_for)
    history, best_epoch = fit(
        model, task, train, val, cfg, labels,
        epochs=min(cfg.train.epochs, 30), lr=cfg.train.lr * LR_FACTOR, desc=f"fine-tune {cfg.name}",
    )
    after = evaluate(model, task, test, labels)
    key = task.primary_metric
    baseline_name, baseline_value = task.personal_baseline(train, test, labels, after)
    better = task.better
    accepted = better(after[key], before[key]) and (baseline_value is None or better(after[key], baseline_value))
    record = TrainRecord(
        model=person.name, model_type=cfg.model.type, split="chronological: last 25 % of the person's windows held out",
        n_windows={k: int(len(v)) for k, v in ids.items()}, best_epoch=best_epoch, epochs_run=len(history),
        test=after, synthetic_data=bool(data_summary(model_dir).get("synthetic")),
        extra={
            "init_from": str(init_from),
            "population_test": before,
            key: after[key],
            f"population_{key}": before[key],
            "baseline": baseline_name,
            f"baseline_{key}": baseline_value,
            "accepted": accepted,
            "decision": ("personal model written: it beats the population model and the baseline on the "
                         "person's held-out windows") if accepted else
                        ("personal model NOT written: it does not beat both the population model and the "
                         "baseline on the person's held-out windows; keep using the population model"),
        })
    summary = (f"held-out {key} ({'higher' if task.higher_is_better else 'lower'} is better): population {before[key]:.3f}, "
               f"{baseline_name} {baseline_value:.3f}, personal {after[key]:.3f}" if baseline_value is not None else
               f"held-out {key}: population {before[key]:.3f}, personal {after[key]:.3f}")
    record.warnings = training_warnings(record)
    for w in record.warnings:
        log.warning(f"[{person.name}] warning: {w}")
    train_dir = model_dir / "train"
    if not accepted:
        # An earlier personal model in this (edgekit-made) directory would now contradict the metrics.
        (train_dir / "model.pt").unlink(missing_ok=True)
        write_train_records(train_dir, record)
        raise EdgekitError(f"[{person.name}] {summary} — fine-tuning did not beat both; the personal model "
                           f"was not written (keep {init_from}); metrics in {train_dir / 'metrics.json'}")
    new_meta = dict(meta)
    new_meta.update(
        model_name=person.name,
        data_fingerprint=sha256_file(windows_path),
        edgekit_version=edgekit.__version__,
        init_from_fingerprint=sha256_file(init_from),
        # the population model's training data stays in the weights
        synthetic_data=bool(meta.get("synthetic_data")) or record.synthetic_data,
        data_source=f"fine-tuned on {person.data.source}",
    )
    write_outputs(train_dir, model, new_meta, record, history, test)
    log.info(f"[{person.name}] {summary} → personal model written to {train_dir / 'model.pt'}")
    return {key: after[key], f"population_{key}": before[key], f"baseline_{key}": baseline_value, "accepted": True}
