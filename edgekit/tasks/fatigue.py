"""Fatigue forecaster task: the last T hourly RMSSD values (ms) ``(1, T, 1)`` → ``fatigue_score``
0–100 for the next 24 h (model: :mod:`edgekit.models.fatigue_lstm`)."""

from __future__ import annotations

import numpy as np

from edgekit import INPUT_NAME
from edgekit.core.errors import InputError
from edgekit.core.zones import zone_of
from edgekit.models.params import FatigueLSTMConfig
from edgekit.tasks.base import TaskSpec
from edgekit.tasks.metrics import forecast_metrics
from edgekit.tasks.roles import FORECASTER
from edgekit.tasks.strain import FIXTURE_SEED

# Deferred on purpose: torch, scikit-learn, the torch model modules and the data layer's modules are
# imported inside the methods that use them. Config loading imports every task spec; with these at
# module level `import edgekit.config.load` loads 970 modules (scipy among them) instead of 225.

SCORE_OUTPUT = "fatigue_score"


class FatigueTask(TaskSpec):
    type = "fatigue_lstm"
    role = FORECASTER
    title = "fatigue forecaster"
    length_param = "sequence_hours"
    length_unit = "hours"
    primary_metric = "mae"
    higher_is_better = False
    report_metrics = ("mae", "baseline_mae", "zone_accuracy", "rmse")
    required_test_metrics = ("mae",)
    compute_units = "cpuOnly"
    parity_scale = 100.0  # scores 0-100: the ONNX tolerance is on score/100
    onnx_output = SCORE_OUTPUT
    input_noun = "series"
    output_unit = "score points"
    baseline_name = "persistence baseline"
    fixture_description = "hourly RMSSD values, oldest first"
    swift_input = "hourly_run"
    coverage_key = "forecast_input_today"
    coverage_count_key = "wakeups"

    @staticmethod
    def params_class() -> type:
        return FatigueLSTMConfig

    def build_model(self, raw):
        from edgekit.models.fatigue_lstm import FatigueLSTM

        return FatigueLSTM(self.params(raw))

    def examples(self, cfg):
        from edgekit.data.hourly_examples import HourlySeries

        return HourlySeries(cfg, self.input_length(cfg.model.params))

    # training
    def normalization(self, X, y=None):
        log_x = np.log(np.clip(X, 1.0, None))
        return {"log_rmssd_mean": float(log_x.mean()), "log_rmssd_std": float(log_x.std())}

    def loss(self, y, labels, class_weighting):
        import torch
        from torch import nn

        return nn.SmoothL1Loss(beta=2.0), torch.from_numpy(y.astype(np.float32))

    def batch_loss(self, loss_fn, out, target):
        return loss_fn(out[:, 0], target)

    def metrics(self, y, out, y_today, labels):
        return forecast_metrics(y.astype(np.float32), out[:, 0], y_today)

    def progress(self, val_metrics):
        return {"val_mae": f"{val_metrics['mae']:.2f}"}

    def personal_baseline(self, train, test, labels, after):
        """Persistence (tomorrow's score = today's), MAE in score points."""
        return "persistence", after.get("baseline_mae")

    # export
    def metadata(self, params, meta):
        hours = self.input_length(params)
        return {
            "edgekit.window_length": str(hours),
            "edgekit.window_unit": "hours",
            "edgekit.labels": SCORE_OUTPUT,
            "input_description": f"Last {hours} hourly RMSSD values in milliseconds, oldest first, shape (1, {hours}, 1)",
            f"output_description.{SCORE_OUTPUT}": "Fatigue score 0-100 for the next 24 h (green >= 70, yellow 40-69, red < 40)",
        }

    def example_input(self, module):
        import torch

        n = module.config.sequence_hours
        t = torch.arange(n, dtype=torch.float32)
        return (45.0 + 15.0 * torch.sin(t / 24.0 * 2 * np.pi)).reshape(1, n, 1)

    def coreml_outputs(self, meta):
        return {"output_name": SCORE_OUTPUT}

    # verify and run
    def fixture_cases(self, length: int) -> list[dict]:
        return forecaster_cases(length)

    def program_outputs(self, out):
        return np.asarray([float(np.asarray(out[SCORE_OUTPUT]).reshape(-1)[0])], np.float64)

    def prediction(self, values, labels):
        score = float(np.asarray(values).reshape(-1)[0])
        return {"fatigue_score": score, "zone": zone_of(score)}

    def model_inputs(self, cfg, cleaned, where):
        from edgekit.data.signal.windows import MAX_MISSING_HOURS, hourly_rmssd, hourly_series

        d = cfg.data
        hours = self.input_length(cfg.model.params)
        hr = hourly_rmssd(cleaned, d.max_artifact_pct)
        X, subj, ends, _ = hourly_series(hr, hours, int(d.series_stride_hours))
        if len(X) == 0:
            n_h = sum(int(np.isfinite(r).sum()) for _, r in hr.values())
            raise InputError(f"{where}: cannot make a {hours}-hour RMSSD series: needs {hours} consecutive clock hours "
                             f"with an hourly RMSSD (at most {MAX_MISSING_HOURS} missing, not the last); the "
                             f"recording has {n_h} such hours")
        info = [{"subject": str(s), "start_time_s": float((e - hours) * 3600), "end_time_s": float(e * 3600)}
                for s, e in zip(subj, ends.tolist())]
        return X.astype(np.float32), info


def forecaster_cases(hours: int, seed: int = FIXTURE_SEED) -> list[dict]:
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


