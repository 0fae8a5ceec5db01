"""The train stage's records: ``train/metrics.json`` (:class:`TrainRecord`) and ``train/history.json``
(:class:`TrainHistory`), each written by one function here and read by one (the report, the package and
fine-tuning read them through this module only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekit.core.errors import EdgekitError
from edgekit.core.fileio import read_json_object, read_record, write_json
from edgekit.core.layout import RELATIVE

TRAIN_RECORD = RELATIVE.train_record  # under build/<model>/
HISTORY_RECORD = RELATIVE.history

#: Held-out figures also written at the top of metrics.json (copies of ``test``'s).
HEADLINE_FIGURES = ("accuracy", "macro_f1", "mae", "baseline_mae", "zone_accuracy")


@dataclass
class TrainRecord:
    """``train/metrics.json``: held-out figures of a trained (or fine-tuned) model and what it was trained on.

    ``test``/``val``: the task spec's metrics (:meth:`edgekit.tasks.base.TaskSpec.metrics`) on the held-out
    test and validation subjects. ``extra``: what the task spec adds (``heldout_report``: ``coverage``,
    ``per_profile``, ``accuracy_vs_beats``, ``held_out_by_profile`` …) and fine-tuning's figures
    (``population_test``, ``accepted``, ``decision`` …), as written."""

    model: str
    model_type: str
    split: str  # how the held-out set was chosen, in words
    n_windows: dict[str, int]
    best_epoch: int
    epochs_run: int
    test: dict[str, Any]
    synthetic_data: bool
    warnings: list[str] = field(default_factory=list)
    n_subjects: dict[str, int] | None = None
    params: int | None = None  # trainable parameters (absent for a fine-tuned model)
    val: dict[str, Any] | None = None
    data_source: str | None = None  # the config's data.source; None when not recorded (fine-tuning)
    calibration: dict[str, Any] | None = None  # when [train] calibrate_on named real sets
    extra: dict[str, Any] = field(default_factory=dict)

    _OPTIONAL = ("n_subjects", "params", "val", "data_source", "calibration")
    _REQUIRED = ("model", "model_type", "split", "n_windows", "best_epoch", "epochs_run", "test", "synthetic_data")

    def figure(self, name: str) -> float | None:
        """A held-out test figure (``accuracy``, ``macro_f1``, ``mae``, ``baseline_mae``, ``zone_accuracy`` …):
        the headline copy, else ``test``'s; None when absent or not a finite number."""
        v = self.extra.get(name, self.test.get(name))
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None

    def to_json(self) -> dict[str, Any]:
        doc = dict(self.extra)
        doc.update({k: getattr(self, k) for k in self._REQUIRED})
        doc["warnings"] = list(self.warnings)
        doc.update({k: getattr(self, k) for k in self._OPTIONAL if getattr(self, k) is not None})
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> TrainRecord:
        known = {*cls._REQUIRED, *cls._OPTIONAL, "warnings"}
        if not isinstance(doc["test"], dict):
            raise TypeError("test")
        return cls(**{k: doc[k] for k in cls._REQUIRED}, **{k: doc.get(k) for k in cls._OPTIONAL},
                   warnings=[w for w in doc.get("warnings", []) if isinstance(w, str)],
                   extra={k: v for k, v in doc.items() if k not in known})


@dataclass
class TrainHistory:
    """``train/history.json``: one row per epoch (``epoch``, ``train_loss``, ``lr`` and the task's
    validation figures) and the epoch whose weights were kept."""

    model: str
    best_epoch: int
    epochs: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "best_epoch": self.best_epoch, "epochs": list(self.epochs)}


def write_train_records(train_dir: Path, record: TrainRecord, history: TrainHistory | None = None) -> None:
    """Write ``train/metrics.json`` (and ``train/history.json`` when given) atomically."""
    write_json(Path(train_dir) / TRAIN_RECORD.name, record.to_json())
    if history is not None:
        write_json(Path(train_dir) / HISTORY_RECORD.name, history.to_json())


def read_train_record(model_dir: Path) -> TrainRecord:
    """Read ``build/<model>/train/metrics.json``; a missing or malformed file is a one-line
    :class:`EdgekitError` naming it."""
    return read_record(Path(model_dir) / TRAIN_RECORD, "training metrics", "training record", "train",
                       TrainRecord.from_json)


def read_train_history(model_dir: Path) -> TrainHistory:
    """Read ``build/<model>/train/history.json`` (one-line :class:`EdgekitError` naming a bad file)."""
    path = Path(model_dir) / HISTORY_RECORD
    doc = read_json_object(path, "training history")
    if not isinstance(doc.get("epochs"), list):
        raise EdgekitError(f"{path}: missing 'epochs' list")
    try:
        return TrainHistory(model=doc["model"], best_epoch=doc["best_epoch"], epochs=list(doc["epochs"]))
    except KeyError as exc:
        raise EdgekitError(f"{path}: not an edgekit training history (missing {exc}); re-run train") from None
