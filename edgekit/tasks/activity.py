"""Heart-rate-from-activity task: a workout's grid ``activity_sequence`` (1, T, 3) — speed m/s,
grade, observed HR bpm as calibration context (0 = absent) — → ``hr_bpm`` (1, T) per step
(model: :mod:`edgekit.models.hr_activity`). Causal: step t sees steps ≤ t.

Targets are HR per step with NaN where no recorded HR lies close enough (absent, never invented):
the loss and every metric use observed steps only.
"""

from __future__ import annotations

import numpy as np

from edgekit.core.errors import InputError
from edgekit.models.params import HRActivityConfig
from edgekit.tasks.base import TaskSpec
from edgekit.tasks.roles import REGRESSOR

# Deferred on purpose: torch, scikit-learn, the torch model modules and the data layer's modules are
# imported inside the methods that use them. Config loading imports every task spec; with these at
# module level `import edgekit.config.load` loads 970 modules (scipy among them) instead of 225.

ACTIVITY_INPUT = "activity_sequence"
HR_OUTPUT = "hr_bpm"
STATE_INPUT = "activity_state"  # the recurrent state before a window (optional: zeros = the run's start)
STATE_OUTPUT = "activity_state_out"  # the state after it, fed to the run's next window
FIXTURE_SEED = 20261205


class ActivityTask(TaskSpec):
    type = "hr_activity"
    role = REGRESSOR
    title = "heart-rate-from-activity model"
    length_param = "window_steps"
    length_unit = "steps"
    input_name = ACTIVITY_INPUT
    input_channels = 3
    primary_metric = "mae"
    higher_is_better = False
    report_metrics = ("mae", "rmse", "baseline_mae")
    required_test_metrics = ("mae",)
    compute_units = "cpuOnly"
    parity_scale = 100.0  # ONNX tolerance on bpm/100, as the forecaster's on score/100
    onnx_output = HR_OUTPUT
    person_evaluation = True
    reads_workouts = True
    output_unit = "bpm"
    parity_test_windows = 256  # 180-step LSTM windows: the evaluator's cost grows with T
    fixture_description = "workout grid: speed m/s, grade, context HR bpm (0 = absent), oldest first"
    swift_input = "activity"
    state_input = STATE_INPUT
    state_output = STATE_OUTPUT

    @staticmethod
    def params_class() -> type:
        return HRActivityConfig

    def build_model(self, raw):
        from edgekit.models.hr_activity import HRActivity

        return HRActivity(self.params(raw))

    def train_length(self, cfg):
        """``data.train_steps`` (whole workouts from their start) or the model's window."""
        return int(cfg.data.train_steps) or self.input_length(cfg.model.params)

    def examples(self, cfg):
        from edgekit.data.workout_examples import ActivityWindows

        p = self.params(cfg.model.params)
        return ActivityWindows(cfg, self.train_length(cfg), p.step_s,
                               whole_workouts=bool(cfg.data.train_steps))

    # training
    def normalization(self, X, y=None):
        speed, grade = X[:, :, 0], X[:, :, 1]
        hr = y[np.isfinite(y)] if y is not None else X[:, :, 2][X[:, :, 2] > 0]
        out = {"speed_mean": float(speed.mean()), "speed_std": float(speed.std()),
               "grade_std": float(grade.std()), "hr_mean": float(hr.mean()) if hr.size else 150.0,
               "hr_std": float(hr.std()) if hr.size else 15.0}
        if y is not None:  # the kinetics prior's population values (calibration = "kinetics")
            out.update(population_kinetics(speed, grade, y))
        return out

    def loss(self, y, labels, class_weighting):
        import torch
        from torch import nn

        return nn.SmoothL1Loss(beta=2.0), torch.from_numpy(np.asarray(y, np.float32))

    def batch_loss(self, loss_fn, out, target):
        import torch

        observed = torch.isfinite(target)
        return loss_fn(out[observed], target[observed])

    def metrics(self, y, out, y_today, labels):
        return regression_metrics(np.asarray(y, np.float64), np.asarray(out, np.float64))

    def heldout_report(self, predict, arrays, test_ids, labels):
        """MAE (bpm) of the population model on held-out runners per HR-sampling profile (sparse ≈ 1/min,
        dense ≈ every 5 s), with and without calibration context (synthetic)."""
        held = np.isin(arrays["subject"], test_ids)
        out = {}
        for profile, dense in (("sparse", 0), ("dense", 1)):
            for ctx_name, with_ctx in (("no context", False), ("context", True)):
                m = held & (arrays["hr_dense"] == dense) & ((arrays["context_steps"] > 0) == with_ctx)
                if m.any():
                    out[f"{profile}, {ctx_name}"] = {"windows": int(m.sum()), "mae_bpm": regression_metrics(
                        arrays["y"][m], predict(arrays["X"][m]))["mae"]}
        return {"held_out_by_profile": out}

    def personal_baseline(self, train, test, labels, after):
        """The person's mean HR over their training workouts, at every step: MAE in bpm."""
        mean_hr = float(np.nanmean(train.y))
        return "the person's mean HR", regression_metrics(test.y, np.full(test.y.shape, mean_hr))["mae"]

    # export
    def metadata(self, params, meta):
        p = self.params(params)
        return {
            "edgekit.window_length": str(p.window_steps),
            "edgekit.window_unit": f"steps of {p.step_s:g} s",
            "edgekit.labels": HR_OUTPUT,
            "edgekit.units": "m/s, rise/run, bpm",
            "input_description": (f"Workout grid of {p.window_steps} steps of {p.step_s:g} s, oldest first, shape "
                                  f"(1, {p.window_steps}, 3): speed m/s, grade (rise/run), observed heart rate bpm "
                                  f"as calibration context (0 = absent)"),
            f"output_description.{HR_OUTPUT}": "Predicted heart rate (bpm) at every step; step t uses steps <= t",
            f"input_description.{STATE_INPUT}": (f"Optional: the state after the previous window of the same run "
                                                 f"({STATE_OUTPUT} of that prediction), {self.state_size(params)} "
                                                 "floats; omit (zeros) at the start of a run"),
            f"output_description.{STATE_OUTPUT}": (f"The state after this window: pass it as {STATE_INPUT} with the "
                                                   "run's next window (a run longer than one window is one run)"),
            "edgekit.state_input": STATE_INPUT,
            "edgekit.state_output": STATE_OUTPUT,
            "edgekit.state_size": str(self.state_size(params)),
        }

    def example_input(self, module):
        import torch

        n = module.config.window_steps
        t = torch.arange(n, dtype=torch.float32)
        speed = 2.8 + 0.6 * torch.sin(t / 12.0)
        grade = 0.04 * torch.sin(t / 30.0)
        context = torch.where(t < 30, 140.0 + 0.3 * t, torch.zeros_like(t))
        return torch.stack([speed, grade, context], dim=1).reshape(1, n, 3)

    def coreml_outputs(self, meta):
        return {"output_name": HR_OUTPUT, "state_names": (STATE_INPUT, STATE_OUTPUT)}

    def state_size(self, params):
        from edgekit.models.hr_activity import state_size

        return state_size(self.params(params))

    def export_module(self, module):
        from edgekit.models.hr_activity import StatefulActivity

        return StatefulActivity(module)

    # verify and run
    def fixture_cases(self, length: int) -> list[dict]:
        return activity_cases(length, self.input_name)

    def torch_outputs(self, out):
        return np.asarray(out).reshape(len(out), -1)

    def program_outputs(self, out):
        return np.asarray(out[HR_OUTPUT], np.float64).reshape(-1)

    def prediction(self, values, labels):
        return {HR_OUTPUT: [float(v) for v in np.asarray(values).reshape(-1)]}

    def evaluate_real(self, cfg, predict, real_set):
        """The model on real runs (``realdata/runs``): per run without and with 5 min of context,
        with the baselines (:mod:`edgekit.tasks.activity_real`); None for a set without workouts."""
        from edgekit.tasks import activity_real

        if not any(r.format in ("gpx", "tcx", "fit") for r in real_set.recordings):
            return None
        p = self.params(cfg.model.params)
        runs, warnings = activity_real.score_set(real_set, activity_real.model_predict_run(predict),
                                                 step_s=p.step_s)
        band = activity_real.synthetic_hr_at_speed(cfg.data, step_s=p.step_s) if cfg.data.source == "synthetic" else None
        return activity_real.evaluation(real_set, runs, warnings, synthetic_band=band)

    def model_inputs(self, cfg, cleaned, where):
        raise InputError(f"{where}: the {self.title} predicts from workouts, not RR recordings")


def population_kinetics(speed: np.ndarray, grade: np.ndarray, hr: np.ndarray, step_s: float = 10.0) -> dict:
    """The population's first-order kinetics (the activity model's prior, ``calibration = "kinetics"``):
    HR = hr0 + gain · s, s the response (τ = 60 s, from rest at each row's start) to grade-adjusted
    speed, least squares over the observed steps of the training rows (n, T)."""
    from edgekit.data.signal.hr_kinetics import effort
    from edgekit.models.hr_activity import KINETICS_TAU_S

    u = effort(speed, grade)
    a = 1.0 - np.exp(-step_s / KINETICS_TAU_S)
    s = np.empty_like(u)
    prev = np.zeros(len(u))
    for t in range(u.shape[1]):
        prev = prev + a * (u[:, t] - prev)
        s[:, t] = prev
    obs = np.isfinite(hr)
    if obs.sum() < 3:
        return {}
    A = np.stack([np.ones(int(obs.sum())), s[obs]], axis=1)
    hr0, gain = np.linalg.lstsq(A, hr[obs].astype(np.float64), rcond=None)[0]
    return {"kin_hr0_bpm": float(hr0), "kin_gain_bpm_per_mps": float(gain)}


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """MAE and RMSE in bpm over observed steps (``y_true`` finite), and how many there were."""
    y_true = np.asarray(y_true, np.float64)
    y_pred = np.asarray(y_pred, np.float64)
    observed = np.isfinite(y_true)
    d = y_pred[observed] - y_true[observed]
    return {"n": int(len(y_true)), "n_steps": int(observed.sum()),
            "mae": float(np.mean(np.abs(d))) if d.size else float("nan"),
            "rmse": float(np.sqrt(np.mean(d ** 2))) if d.size else float("nan")}


def activity_cases(length: int, input_name: str = ACTIVITY_INPUT, seed: int = FIXTURE_SEED) -> list[dict]:
    """≥ 32 workout grids (length, 3): realistic runs and edge cases, values rounded to 0.01."""
    rng = np.random.default_rng(seed)
    cases: list[dict] = []
    t = np.arange(length, dtype=float)

    def add(name: str, kind: str, speed, grade, context) -> None:
        x = np.stack([np.broadcast_to(speed, t.shape), np.broadcast_to(grade, t.shape),
                      np.broadcast_to(context, t.shape)], axis=1)
        cases.append({"name": name, "kind": kind, input_name: np.round(x, 2).tolist()})

    none = np.zeros(length)
    for k in range(20):  # runs: a speed level, intervals or hills, noise; context for the first part or none
        level = rng.uniform(2.0, 4.5)
        period = rng.uniform(8, 40)
        speed = level + rng.uniform(0, 1.2) * (np.sin(t / period) > 0.3) + 0.1 * rng.standard_normal(length)
        grade = rng.uniform(0, 0.08) * np.sin(t / rng.uniform(10, 60) + rng.uniform(0, 6)) + 0.005 * rng.standard_normal(length)
        ctx_steps = int(rng.choice([0, 6, 18, 30]))
        context = np.where(t < ctx_steps, 120 + 12 * level + 3 * rng.standard_normal(length), 0.0)
        add(f"run_{k:02d}", "realistic", np.clip(speed, 0, 7), np.clip(grade, -0.45, 0.45), context)
    add("standing_still", "edge", 0.0, 0.0, none)
    add("sprint_7mps", "edge", 7.0, 0.0, none)
    add("steep_up_045", "edge", 2.0, 0.45, none)
    add("steep_down_045", "edge", 3.0, -0.45, none)
    add("step_2_to_4", "edge", np.where(t < length // 2, 2.0, 4.0), 0.0, none)
    add("step_4_to_2", "edge", np.where(t < length // 2, 4.0, 2.0), 0.0, none)
    add("context_everywhere_160", "edge", 3.0, 0.0, np.full(length, 160.0))
    add("context_low_90", "edge", 3.0, 0.0, np.where(t < length // 4, 90.0, 0.0))
    add("context_high_200", "edge", 3.0, 0.0, np.where(t < length // 4, 200.0, 0.0))
    add("alternating_speed", "edge", np.where(t % 2 == 0, 1.0, 5.0), 0.0, none)
    add("hill_repeats", "edge", 2.5, np.where((t // 12) % 2 == 0, 0.1, -0.1), none)
    add("ramp_speed", "edge", np.linspace(1.0, 6.0, length), 0.0, none)
    return cases
