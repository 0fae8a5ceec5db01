"""The verify stage's gates: a measured figure against its tolerance (:class:`Check`), and the checks and
figures of one variant's outputs against fp32 torch (:func:`variant_checks`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edgekit.tasks.metrics import classification_metrics
from edgekit.verify.backends import Outputs
from edgekit.verify.records import CheckRecord

COMPRESSED = ("int8", "palette6", "palette4", "w8a8")


@dataclass
class Check:
    """One gate: a measured figure against its tolerance."""

    name: str
    figure: str
    value: float
    tolerance: float
    direction: str = "max"  # "max": value ≤ tolerance; "min": value ≥ tolerance
    backend: str = "reference-evaluator"

    @property
    def passed(self) -> bool:
        if not np.isfinite(self.value):
            return False
        return self.value <= self.tolerance if self.direction == "max" else self.value >= self.tolerance

    def record(self) -> CheckRecord:
        """The gate as verify/parity.json holds it."""
        return CheckRecord(name=self.name, figure=self.figure, value=float(self.value), tolerance=self.tolerance,
                           comparison="<=" if self.direction == "max" else ">=", backend=self.backend,
                           passed=self.passed)

    def line(self, model: str, variant: str) -> str:
        op = "≤" if self.direction == "max" else "≥"
        return f"{'✓' if self.passed else '✗'} {model} {variant}: {self.figure} = {self.value:.4g} {op} {self.tolerance:g}"


def max_abs(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape != b.shape:
        return float("inf")
    d = np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))
    return float(np.nanmax(d)) if d.size and not np.isnan(d).any() else (float("inf") if d.size else 0.0)


def _mean_observed(a: np.ndarray) -> float:
    """Mean over finite entries (targets may mark absent steps NaN); plain mean when all are finite."""
    a = np.asarray(a, np.float64)
    finite = np.isfinite(a)
    return float(np.mean(a)) if finite.all() else float(np.mean(a[finite])) if finite.any() else float("nan")


def _macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    labels = [str(k) for k in range(n_classes)]  # only their count matters
    return classification_metrics(np.asarray(y_true), np.asarray(y_pred), labels)["macro_f1"]


def variant_checks(variant: str, classifier: bool, gates: Any, ref_fix: Outputs, got_fix: Outputs,
                   ref_test: Outputs | None, got_test: Outputs | None, y_test: np.ndarray | None,
                   backend: str = "reference-evaluator") -> tuple[list[Check], dict]:
    """Checks of one variant's outputs against fp32 torch, and the figures behind them."""
    checks: list[Check] = []
    figures: dict[str, Any] = {}
    d_fix = max_abs(ref_fix.values, got_fix.values)
    figures["max_abs_diff"] = d_fix
    if classifier:
        top_ref_fix = ref_fix.values.argmax(axis=1)
        top_fix = got_fix.values.argmax(axis=1) if got_fix.values.ndim == 2 else np.full(len(top_ref_fix), -1)
        if variant == "fp32":
            checks.append(Check("fp32_probabilities", "max |Δp| Core ML vs torch (fixtures)", d_fix,
                                gates.fp32_coreml_tol, backend=backend))
        elif variant == "fp16":
            checks.append(Check("fp16_probabilities", "max |Δp| Core ML vs torch (fixtures)", d_fix,
                                gates.fp16_tol, backend=backend))
        if got_fix.labels:
            names = ref_fix.labels
            label_ok = float(np.mean([names[int(i)] == lab for i, lab in zip(top_fix, got_fix.labels)])) if names else 1.0
            checks.append(Check("label_matches_probabilities", "fraction of fixtures whose classLabel is the "
                                "argmax of classLabel_probs", label_ok, 1.0, "min", backend))
        agree_parts = [top_fix == top_ref_fix]
        if ref_test is not None and got_test is not None and len(got_test.values):
            top_ref_test = ref_test.values.argmax(axis=1)
            top_test = got_test.values.argmax(axis=1)
            agree_parts.append(top_test == top_ref_test)
            acc_ref = float(np.mean(top_ref_test == y_test))
            acc = float(np.mean(top_test == y_test))
            # macro-F1 as train/metrics.json defines it, so the fp32 row matches the fp32 torch figure
            f1_ref, f1 = (_macro_f1(y_test, top, ref_test.values.shape[1]) for top in (top_ref_test, top_test))
            figures.update(accuracy=acc, accuracy_fp32_torch=acc_ref, accuracy_drop=acc_ref - acc,
                           macro_f1=f1, macro_f1_fp32_torch=f1_ref, macro_f1_drop=f1_ref - f1,
                           top1_agreement_test=float(np.mean(top_test == top_ref_test)),
                           test_windows=int(len(y_test)))
            checks.append(Check("accuracy_drop", "test-set accuracy drop vs fp32 torch (fraction)", acc_ref - acc,
                                gates.max_accuracy_drop, backend=backend))
        agree = float(np.mean(np.concatenate(agree_parts)))
        figures["top1_agreement"] = agree
        figures["top1_agreement_fixtures"] = float(np.mean(agree_parts[0]))
        if variant in COMPRESSED or variant not in ("fp32", "fp16"):
            checks.append(Check("top1_agreement", "top-1 agreement with fp32 torch (fixtures + test set)", agree,
                                gates.min_top1_agreement, "min", backend))
    else:
        if variant == "fp32":
            checks.append(Check("fp32_score", "max |Δscore| Core ML vs torch, points (fixtures)", d_fix,
                                gates.fp32_score_tol, backend=backend))
        elif variant == "fp16":
            checks.append(Check("fp16_score", "max |Δscore| Core ML vs torch / 100 (fixtures)", d_fix / 100.0,
                                gates.fp16_tol, backend=backend))
        drift_parts = [np.abs(got_fix.values - ref_fix.values)] if got_fix.values.shape == ref_fix.values.shape else []
        if ref_test is not None and got_test is not None and len(got_test.values):
            diff = np.abs(got_test.values - ref_test.values)
            mae_ref = _mean_observed(np.abs(ref_test.values - y_test))
            mae = _mean_observed(np.abs(got_test.values - y_test))
            figures.update(mae=mae, mae_fp32_torch=mae_ref, mae_change=mae - mae_ref,
                           mae_drift_test=float(np.mean(diff)), test_windows=int(len(y_test)))
            drift = float(np.mean(diff))
            figure = "MAE drift: mean |Δscore| vs fp32 torch, points (test set)"
        else:
            drift = float(np.mean(np.concatenate(drift_parts))) if drift_parts else float("inf")
            figure = "MAE drift: mean |Δscore| vs fp32 torch, points (fixtures)"
        figures["mae_drift"] = drift
        checks.append(Check("mae_drift", figure, drift, gates.max_mae_drift, backend=backend))
    return checks, figures


def state_checks(variant: str, gates: Any, scale: float, ref_test: Outputs, got_test: Outputs,
                  figures: dict) -> list[Check]:
    """A model with state, on whole held-out runs (several windows, the state carried from each to the
    next): the largest difference from fp32 torch over the run, held to the variant's fixture gate
    (fp32: ``fp32_score_tol`` points; fp16: ``fp16_tol`` × the output scale; compressed variants:
    reported, gated by the MAE drift)."""
    d = max_abs(ref_test.values, got_test.values)
    figures["max_abs_diff_carried_state"] = d
    figure = "max |Δ| Core ML vs torch, whole held-out runs with the state carried across windows"
    if variant == "fp32":
        return [Check("fp32_state", figure + ", points", d, gates.fp32_score_tol)]
    if variant == "fp16":
        return [Check("fp16_state", figure + f" / {scale:g}", d / scale, gates.fp16_tol)]
    return []
