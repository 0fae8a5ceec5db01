"""Training stage: subject-wise split, AdamW + one-cycle schedule, early stopping, metrics.

Reads ``build/<model>/data/windows.npz`` (see docs/pipeline.md) and writes ``train/model.pt``,
``train/metrics.json`` (held-out test subjects), ``train/history.json`` (curves) and
``train/test_set.npz``. Same config and seed ⇒ bit-identical weights: every RNG is seeded,
deterministic algorithms are enforced and the thread count is fixed.

Under ``torchrun`` (``WORLD_SIZE`` > 1) training uses DistributedDataParallel: each rank takes an
equal share of every global batch, gradients are averaged, and rank 0 writes the outputs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

import edgekit
from edgekit.config.load import ModelConfig
from edgekit.core.errors import EdgekitError
from edgekit.core.fileio import atomic_path, sha256_file, write_json
from edgekit.core.layout import ModelLayout
from edgekit.core.log import get_logger, plural, progress_disabled
from edgekit.data.splits import split_by_subject  # noqa: F401  (re-exported)
from edgekit.models.checkpoint import load_checkpoint, save_checkpoint
from edgekit.tasks import TaskSpec, task_for
from edgekit.tasks.base import model_batch
from edgekit.train.records import HEADLINE_FIGURES, TrainHistory, TrainRecord, write_train_records

log = get_logger(__name__)

# Thresholds of the weak-result warnings (metrics.json "warnings", the report and the console).
WARN_MIN_TEST_SUBJECTS = 3
WARN_MIN_TEST_WINDOWS = 100
WARN_EARLY_EPOCH_FRACTION = 0.25  # best epoch within the first quarter of the epochs run
WARN_MIN_CLASS_RECALL = 0.5

# ---------------------------------------------------------------------------------------------
# data


@dataclass
class Split:
    """Arrays of one split. X: (n, T) float32 ms; y: (n,) int64 class or float32 score."""

    X: np.ndarray
    y: np.ndarray
    y_today: np.ndarray | None
    subjects: np.ndarray


def load_windows(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise EdgekitError(f"{path}: windows not found; run the data stage first (edgekit build)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        raise EdgekitError(f"{path}: unreadable windows file: {exc}") from None
    for key in ("X", "y", "subject"):
        if key not in arrays:
            raise EdgekitError(f"{path}: missing array '{key}'")
    X = arrays["X"]
    if X.ndim not in (2, 3) or len(X) == 0:
        raise EdgekitError(f"{path}: X must be a non-empty (n, T) or (n, T, C) array, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise EdgekitError(f"{path}: X holds NaN or infinite values")
    if len(arrays["y"]) != len(X) or len(arrays["subject"]) != len(X):
        raise EdgekitError(f"{path}: X, y and subject lengths differ")
    return arrays


def _take(arrays: dict[str, np.ndarray], subject_ids: np.ndarray) -> Split:
    mask = np.isin(arrays["subject"], subject_ids)
    return Split(
        X=arrays["X"][mask].astype(np.float32),
        y=arrays["y"][mask],
        y_today=arrays["y_today"][mask].astype(np.float32) if "y_today" in arrays else None,
        subjects=arrays["subject"][mask],
    )


# ---------------------------------------------------------------------------------------------
# training loop


def write_outputs(out: Path, model: nn.Module, meta: dict[str, Any], record: TrainRecord, history: list[dict[str, Any]],
                  test: Split) -> None:
    """Write a training run's files: model.pt, metrics.json, history.json, test_set.npz."""
    save_checkpoint(out / "model.pt", model, meta)
    write_train_records(out, record, TrainHistory(meta["model_name"], record.best_epoch, history))
    test_arrays = {"X": test.X, "y": test.y, "subject": test.subjects}
    if test.y_today is not None:
        test_arrays["y_today"] = test.y_today
    with atomic_path(out / "test_set.npz", suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **test_arrays)


WARMUP_SHARE = 0.2  # one-cycle schedule: share of the optimizer steps spent raising the learning rate


def one_cycle_pct_start(total_steps: int, share: float = WARMUP_SHARE) -> float:
    """``pct_start`` of :class:`torch.optim.lr_scheduler.OneCycleLR` for ``total_steps`` steps.

    OneCycleLR divides by its warm-up length ``pct_start * total_steps - 1`` steps, which is 0 (a
    ZeroDivisionError) when ``share * total_steps`` is exactly 1 (5 steps at the default 0.2: a
    small fine-tuning set of one batch for 5 epochs). Then the warm-up is made 1.25 steps long;
    every other run keeps ``share`` (same schedule, same weights as before)."""
    if abs(share * total_steps - 1.0) < 1e-9:
        return 1.25 / total_steps
    return share


def seed_everything(seed: int, threads: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)


def _distributed() -> tuple[int, int]:
    """(rank, world size); initialises the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)
    return dist.get_rank(), world


def _set_normalization(model: nn.Module, task: TaskSpec, X: np.ndarray, y: np.ndarray | None = None
                       ) -> dict[str, float]:
    stats = task.normalization(X, y)
    model.set_normalization(**stats)
    return stats


def _predict(model: nn.Module, X: np.ndarray, batch: int = 512) -> np.ndarray:
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(X), batch):
            outs.append(model(torch.from_numpy(model_batch(X[i : i + batch]))).numpy())
    return np.concatenate(outs) if outs else np.zeros((0, 1), np.float32)


def data_summary(model_dir: Path) -> dict[str, Any]:
    """``build/<model>/data/summary.json`` (what the model was trained on), or {} when absent."""
    try:
        return json.loads(ModelLayout(Path(model_dir)).data_summary.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def input_presence(task: TaskSpec, X: np.ndarray) -> dict[str, Any] | None:
    """How much of its input the model saw present in training (task's :attr:`presence_unit`): the
    10th percentile and median of present steps over the training inputs, and the input length.
    Predict warns when an input has fewer than the 10th percentile."""
    if task.presence_unit is None or len(X) == 0:
        return None
    p = task.presence(X)
    return {"unit": task.presence_unit, "length": int(X.shape[1]), "p10": float(np.percentile(p, 10)),
            "median": float(np.median(p))}


def training_warnings(record: TrainRecord) -> list[str]:
    """Plain-language warnings that a training result is weak or uncertain, each naming its figure.

    Raised when the held-out test set is tiny (< 3 subjects or < 100 windows), the best validation
    epoch came very early (within the first quarter of the epochs run: the model stopped improving
    almost at once), a class is barely recognised (held-out recall < 0.5), or a forecaster is no
    better than persistence.
    """
    out: list[str] = []
    test = record.test
    n_subj = (record.n_subjects or {}).get("test")
    n_win = (record.n_windows or {}).get("test", test.get("n"))
    if n_subj is not None and n_subj < WARN_MIN_TEST_SUBJECTS:
        out.append(f"the held-out test set has only {n_subj} subject(s): its metrics say little about new people")
    if n_win is not None and n_win < WARN_MIN_TEST_WINDOWS:
        out.append(f"the held-out test set has only {plural(n_win, 'window')}: its metrics are uncertain")
    best, run_ = record.best_epoch, record.epochs_run
    if best and run_ and run_ > best and best <= max(1, WARN_EARLY_EPOCH_FRACTION * run_):
        out.append(f"the best validation epoch was {best} of {run_}: the model stopped improving early "
                   f"(too little data, or a learning rate too high)")
    for label, recall in (test.get("recall") or {}).items():
        support = None
        if "confusion" in test and label in test.get("labels", []):
            support = sum(test["confusion"][test["labels"].index(label)])
        if support and recall < WARN_MIN_CLASS_RECALL:
            out.append(f"class {label!r} is barely recognised: held-out recall {recall:.2f} ({plural(support, 'window')})")
    base = test.get("baseline_mae")
    if base is not None and test.get("mae") is not None and test["mae"] >= base:
        out.append(f"held-out MAE {test['mae']:.2f} is no better than the persistence baseline ({base:.2f})")
    return out


def evaluate(model: nn.Module, task: TaskSpec, split: Split, labels: list[str]) -> dict[str, Any]:
    """Held-out figures of ``model`` on ``split`` (the task's metrics)."""
    return task.metrics(split.y, _predict(model, split.X), split.y_today, labels)


def fit(
    model: nn.Module,
    task: TaskSpec,
    train: Split,
    val: Split,
    cfg: ModelConfig,
    labels: list[str],
    *,
    epochs: int | None = None,
    lr: float | None = None,
    desc: str = "train",
) -> tuple[list[dict[str, Any]], int]:
    """Train in place; restores the best validation state. Returns (history, best epoch)."""
    t = cfg.train
    epochs = epochs or t.epochs
    lr = lr or t.lr
    rank, world = _distributed()
    loss_fn, target = task.loss(train.y, labels, t.class_weighting)
    X = torch.from_numpy(model_batch(train.X))
    augment = task.augmenter(cfg)  # None: every epoch trains on X as it is
    train_module: nn.Module = model
    if world > 1:
        train_module = DistributedDataParallel(model)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=t.weight_decay)
    steps_per_epoch = max(1, -(-len(X) // t.batch_size))
    total_steps = epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr, total_steps=total_steps, pct_start=one_cycle_pct_start(total_steps)
    )
    gen = torch.Generator().manual_seed(t.seed)
    history: list[dict[str, Any]] = []
    best_score, best_epoch, best_state, stale = -np.inf, 0, None, 0
    bar = tqdm(range(1, epochs + 1), desc=desc, unit="epoch", disable=rank != 0 or progress_disabled(), dynamic_ncols=True)
    for epoch in bar:
        train_module.train()
        Xe = X if augment is None else torch.from_numpy(model_batch(augment(train.X, epoch)))
        perm = torch.randperm(len(X), generator=gen)
        total, seen = 0.0, 0
        for b in range(steps_per_epoch):
            idx = perm[b * t.batch_size : (b + 1) * t.batch_size]
            if len(idx) < world:  # every rank must step together; drop a tail too small to share
                continue
            idx = idx[rank::world]  # this rank's share of the global batch
            loss = task.batch_loss(loss_fn, train_module(Xe[idx]), target[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
            seen += len(idx)
        val_metrics = evaluate(model, task, val, labels)
        score = task.score(val_metrics)
        row = {"epoch": epoch, "train_loss": total / max(seen, 1), "lr": float(sched.get_last_lr()[0]),
               **task.history_row(val_metrics)}
        history.append(row)
        bar.set_postfix(loss=f"{row['train_loss']:.3f}", **task.progress(val_metrics))
        if score > best_score + 1e-6:
            best_score, best_epoch, stale = score, epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
            if t.patience and stale > t.patience:
                break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history, best_epoch


def run(cfg: ModelConfig, build_dir: Path, init_from: Path | None = None) -> dict[str, Any]:
    """The train stage (from ``init_from``'s weights when given; fine-tuning on one person's files
    is :func:`edgekit.train.finetune.finetune`)."""
    layout = ModelLayout.of(build_dir, cfg.name)
    model_dir, windows_path = layout.root, layout.windows
    if not windows_path.is_file():
        raise EdgekitError(f"{windows_path}: windows not found; run the data stage first: edgekit data windows "
                           f"--config {cfg.path} (or edgekit build --config {cfg.path}: every stage)"
                           + ("" if Path(build_dir) == Path("build") else f", with --out {build_dir}"))
    arrays = load_windows(windows_path)
    t = cfg.train
    seed_everything(t.seed, t.threads)
    model_type = cfg.model.type
    task = task_for(model_type)
    labels = [str(s) for s in arrays["label_names"]] if "label_names" in arrays else task.labels({})
    splits_ids = split_by_subject(arrays["subject"], t.val_fraction, t.test_fraction, t.seed)
    train, val, test = (_take(arrays, splits_ids[k]) for k in ("train", "val", "test"))
    if min(len(train.X), len(val.X), len(test.X)) == 0:
        raise EdgekitError(f"{windows_path}: a split is empty; need more subjects or windows")
    expected_len = task.train_length(cfg)
    if train.X.shape[1] != expected_len:
        raise EdgekitError(
            f"{windows_path}: windows have {train.X.shape[1]} steps but the model expects {expected_len}"
        )

    if init_from is not None:
        model, init_meta = load_checkpoint(init_from, task_for)
        if init_meta["model_type"] != model_type:
            raise EdgekitError(f"{init_from}: a {init_meta['model_type']} checkpoint, config wants {model_type}")
        normalization = init_meta["normalization"]
    else:
        model = task.build_model(cfg.model.params)
        normalization = _set_normalization(model, task, train.X, train.y)
    history, best_epoch = fit(model, task, train, val, cfg, labels, desc=f"train {cfg.name}")
    calibration = task.calibrate(cfg, model, lambda X: _predict(model, np.asarray(X, np.float32)), val, labels)

    rank, _ = _distributed()
    test_figures = evaluate(model, task, test, labels)
    val_figures = evaluate(model, task, val, labels)
    extra = {k: v for k, v in test_figures.items() if k in HEADLINE_FIGURES}
    extra.update(task.heldout_report(lambda X: _predict(model, X.astype(np.float32)), arrays, splits_ids["test"],
                                     labels))
    summary = data_summary(model_dir)
    record = TrainRecord(
        model=cfg.name, model_type=model_type, split="test (held-out subjects)",
        n_subjects={k: int(len(v)) for k, v in splits_ids.items()},
        n_windows={"train": len(train.X), "val": len(val.X), "test": len(test.X)},
        best_epoch=best_epoch, epochs_run=len(history), params=int(sum(p.numel() for p in model.parameters())),
        test=test_figures, val=val_figures, calibration=calibration, synthetic_data=bool(summary.get("synthetic")),
        data_source=summary.get("source", cfg.data.source), extra=extra)
    record.warnings = training_warnings(record)
    if rank == 0:
        for w in record.warnings:
            log.warning(f"[{cfg.name}] warning: {w}")
    if rank == 0:
        meta = {
            "model_type": model_type,
            "model_config": model.config.to_dict(),
            "label_names": labels if task.role.has_labels else [],
            "normalization": normalization,
            "data_fingerprint": sha256_file(windows_path),
            "edgekit_version": edgekit.__version__,
            "seed": t.seed,
            "model_name": cfg.name,
            "synthetic_data": record.synthetic_data,
            "data_source": record.data_source,
        }
        presence = input_presence(task, train.X)
        if presence is not None:
            meta["input_presence"] = presence
        write_outputs(layout.train_dir, model, meta, record, history, test)
        write_json(layout.split, {k: v.tolist() for k, v in splits_ids.items()})
    return {"params": record.params, "best_epoch": record.best_epoch} | {
        k: extra[k] for k in ("accuracy", "macro_f1", "mae", "baseline_mae") if k in extra}
