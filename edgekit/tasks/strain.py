"""Strain classifier task: raw RR ms ``(1, N, 1)`` → probabilities over healthy / strained /
burnout_risk and the top label (model: :mod:`edgekit.models.strain_transformer`)."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from edgekit import INPUT_NAME, STRAIN_LABELS
from edgekit.core.errors import InputError
from edgekit.core.log import plural
from edgekit.models.params import StrainTransformerConfig
from edgekit.tasks.base import TaskSpec
from edgekit.tasks.metrics import classification_metrics
from edgekit.tasks.roles import CLASSIFIER

# Deferred on purpose: torch, scikit-learn, the torch model modules and the data layer's modules are
# imported inside the methods that use them. Config loading imports every task spec; with these at
# module level `import edgekit.config.load` loads 970 modules (scipy among them) instead of 225.

FIXTURE_SEED = 20240521
CLASS_LABEL_OUTPUT = "classLabel"
CLASS_PROBS_OUTPUT = "classLabel_probs"


class StrainTask(TaskSpec):
    type = "strain_transformer"
    role = CLASSIFIER
    title = "strain classifier"
    length_param = "window_beats"
    length_unit = "beats"
    primary_metric = "macro_f1"
    higher_is_better = True
    report_metrics = ("accuracy", "macro_f1")
    required_test_metrics = ("accuracy", "macro_f1", "confusion", "labels")
    compute_units = "all"
    input_is_rr = True
    onnx_output = CLASS_PROBS_OUTPUT
    fixture_description = "consecutive RR intervals"
    swift_input = "beat_window"
    coverage_key = "strain_input_today"
    coverage_count_key = "readings"

    @staticmethod
    def params_class() -> type:
        return StrainTransformerConfig

    def build_model(self, raw):
        from edgekit.models.strain_transformer import StrainTransformer

        return StrainTransformer(self.params(raw))

    def labels(self, meta: Mapping[str, Any]) -> list[str]:
        return [str(s) for s in (meta.get("label_names") or STRAIN_LABELS)]

    def examples(self, cfg):
        from edgekit.data.beat_examples import BeatWindows

        return BeatWindows(cfg, self.input_length(cfg.model.params))

    # training
    def normalization(self, X: np.ndarray, y=None) -> dict[str, float]:
        return {
            "rr_mean_ms": float(X.mean()),
            "rr_std_ms": float(X.std()),
            "drr_std_ms": float(np.diff(X, axis=1).std()),
        }

    def loss(self, y, labels, class_weighting):
        import torch
        from torch import nn

        counts = np.bincount(y, minlength=len(labels)).astype(np.float64)
        weights = counts.sum() / np.maximum(counts, 1) / len(labels) if class_weighting else np.ones(len(labels))
        loss_fn = nn.CrossEntropyLoss(weight=torch.tensor(weights, dtype=torch.float32))
        return loss_fn, torch.from_numpy(y.astype(np.int64))

    def batch_loss(self, loss_fn, out, target):
        import torch

        return loss_fn(torch.log(torch.clamp(out, min=1e-8)), target)

    def metrics(self, y, out, y_today, labels):
        return classification_metrics(y, out.argmax(axis=1), labels)

    def history_row(self, val_metrics):
        return {"val_macro_f1": val_metrics["macro_f1"], "val_accuracy": val_metrics["accuracy"]}

    def progress(self, val_metrics):
        return {"val_f1": f"{val_metrics['macro_f1']:.3f}"}

    def personal_baseline(self, train, test, labels, after):
        """Always the person's most frequent training label; macro-F1 as ``classification_metrics``."""
        from sklearn.metrics import f1_score

        majority = int(np.bincount(train.y.astype(int), minlength=len(labels)).argmax())
        present = sorted(set(test.y.astype(int).tolist()))
        pred = np.full(len(test.y), majority)
        return "majority class", float(f1_score(test.y.astype(int), pred, labels=present, average="macro",
                                                zero_division=0))

    # export
    def metadata(self, params, meta):
        window = self.input_length(params)
        labels = self.labels(meta)
        return {
            "edgekit.window_length": str(window),
            "edgekit.window_unit": "beats",
            "edgekit.labels": ",".join(labels),
            "input_description": f"{window} consecutive RR intervals in milliseconds, oldest first, shape (1, {window}, 1)",
            f"output_description.{CLASS_LABEL_OUTPUT}": "Most probable autonomic strain class: " + ", ".join(labels),
            f"output_description.{CLASS_PROBS_OUTPUT}": "Probability of each strain class (sums to 1)",
        }

    def example_input(self, module):
        import torch

        n = module.config.window_beats
        t = torch.arange(n, dtype=torch.float32)
        return (800.0 + 40.0 * torch.sin(t / 4.0)).reshape(1, n, 1)

    def coreml_outputs(self, meta):
        return {"classifier_labels": self.labels(meta)}

    # verify and run
    def fixture_cases(self, length: int) -> list[dict]:
        return strain_cases(length)

    def program_outputs(self, out):
        return np.asarray(out[CLASS_PROBS_OUTPUT], np.float64).reshape(-1)

    def prediction(self, values, labels):
        p = [float(v) for v in values]
        return {"label": labels[int(np.argmax(p))], "probabilities": dict(zip(labels, p))}

    def model_inputs(self, cfg, cleaned, where):
        from edgekit.data.signal.windows import beat_windows

        d = cfg.data
        n = self.input_length(cfg.model.params)
        t = cleaned
        X, _, starts, n_excl = beat_windows(t, n, d.window_stride, d.max_artifact_pct)
        if len(X) == 0:
            longest = int(np.diff(t.segment_bounds()).max()) if len(t) else 0
            raise InputError(f"{where}: cannot make a {n}-beat window: the longest clean segment has {longest} "
                             f"beats" + (f", {plural(n_excl, 'window')} had more than {d.max_artifact_pct:g} % artifacts"
                                         if n_excl else ""))
        info = [{"subject": str(t.subject[s]), "start_time_s": float(t.time_s[s]),
                 "end_time_s": float(t.time_s[s + n - 1])} for s in starts.tolist()]
        return X.astype(np.float32), info


def _beats(rng: np.random.Generator, n: int, mean_ms: float, rsa_ms: float, lf_ms: float, noise_ms: float) -> np.ndarray:
    """RR series: mean + respiratory sinus arrhythmia (~0.25 Hz) + Mayer waves (~0.1 Hz) + noise."""
    t = np.cumsum(np.full(n, mean_ms / 1000.0))
    resp = rng.uniform(0.18, 0.33)
    rr = (mean_ms + rsa_ms * np.sin(2 * np.pi * resp * t + rng.uniform(0, 6.28))
          + lf_ms * np.sin(2 * np.pi * 0.1 * t + rng.uniform(0, 6.28)) + noise_ms * rng.standard_normal(n))
    return np.clip(rr, 300.0, 2000.0)


def strain_cases(n: int, seed: int = FIXTURE_SEED) -> list[dict]:
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


