"""Held-out metrics of the two task roles (torch-free).

Classification figures come from ``sklearn.metrics`` (confusion matrix, per-class precision and
recall, F1); macro-F1 averages the classes present in the truth, as the model card reports it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgekit.core.zones import zone_of

# Deferred on purpose: scikit-learn (heavy) loads inside classification_metrics; config loading imports
# this module through the task specs.


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: list[str]) -> dict[str, Any]:
    """accuracy, macro-F1 (over classes present in ``y_true``), per-class recall/precision and the
    confusion matrix (rows = truth). ``y_true``, ``y_pred``: (n,) class indices into ``labels``."""
    from sklearn.metrics import confusion_matrix, f1_score, precision_score, recall_score

    k = len(labels)
    classes = list(range(k))
    y_true = np.asarray(y_true).astype(int)
    y_pred = np.asarray(y_pred).astype(int)
    confusion = confusion_matrix(y_true, y_pred, labels=classes) if len(y_true) else np.zeros((k, k), np.int64)
    recall = recall_score(y_true, y_pred, labels=classes, average=None, zero_division=0) if len(y_true) else np.zeros(k)
    precision = (precision_score(y_true, y_pred, labels=classes, average=None, zero_division=0)
                 if len(y_true) else np.zeros(k))
    present = sorted(set(y_true.tolist()))
    macro_f1 = float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)) if present else 0.0
    return {
        "n": int(len(y_true)),
        "accuracy": float(np.trace(confusion) / max(len(y_true), 1)),
        "macro_f1": macro_f1,
        "recall": {lab: float(r) for lab, r in zip(labels, recall)},
        "precision": {lab: float(p) for lab, p in zip(labels, precision)},
        "confusion": np.asarray(confusion, np.int64).tolist(),
        "labels": list(labels),
    }


def forecast_metrics(y_true: np.ndarray, y_pred: np.ndarray, y_today: np.ndarray | None) -> dict[str, Any]:
    """MAE and RMSE (score points), zone accuracy, and the persistence baseline (tomorrow = today)."""
    mae = float(np.mean(np.abs(y_pred - y_true)))
    zones_true = np.array([zone_of(s) for s in y_true])
    zones_pred = np.array([zone_of(s) for s in y_pred])
    out: dict[str, Any] = {
        "n": int(len(y_true)),
        "mae": mae,
        "rmse": float(np.sqrt(np.mean((y_pred - y_true) ** 2))),
        "zone_accuracy": float(np.mean(zones_true == zones_pred)),
    }
    if y_today is not None:
        base = float(np.mean(np.abs(y_today - y_true)))
        out["baseline_mae"] = base
        out["baseline"] = "persistence (tomorrow = today)"
        out["mae_vs_baseline"] = mae / base if base > 0 else None
        out["baseline_zone_accuracy"] = float(
            np.mean(zones_true == np.array([zone_of(s) for s in y_today]))
        )
    return out
