"""The heart-rate-from-activity model on real runs (``realdata/runs/``): per run, with baselines.

For every running workout of a real set (GPX, TCX, FIT; a workout of another sport is left out
with a warning) the model predicts the whole run twice, as ``edgekit predict`` does
(:func:`edgekit.models.workout_run.predict_workout`): without calibration context, and with the first
``context_minutes`` (5) of recorded HR as context. Next to it, three baselines:

- **context mean**: the mean recorded HR of the context minutes, held to the end of the run;
- **kinetics on the context**: the first-order kinetics model (:mod:`edgekit.data.signal.hr_kinetics`:
  HR = hr0 + gain · first-order response to grade-adjusted speed) least-squares fitted to the
  context minutes of the run itself, then run to the end;
- **population model without context**: the model's own no-context prediction.

Every column is scored on the same steps: after the context, with recorded HR and a known speed
and grade (MAE in bpm). The goals are those of issue 23 (median MAE without context < 12 bpm,
with context < 8, context better than the context mean on ≥ 8 of 11 runs, no run above 20 bpm with
context). Figures are **real**.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from edgekit.core.errors import InputError
from edgekit.data.readers.workouts.files import read_workouts, sport_problem
from edgekit.data.signal import hr_kinetics
from edgekit.data.signal.workout_grid import to_grid
from edgekit.data.synth.workouts import iter_population
from edgekit.data.workout_examples import workout_input
from edgekit.models.workout_run import predict_grid
from edgekit.tasks.real import Goal, RealEvaluation, Table


CONTEXT_MINUTES = 5.0
GOAL_MAE_NO_CONTEXT = 12.0
GOAL_MAE_CONTEXT = 8.0
GOAL_BEATS_CONTEXT_MEAN = 8 / 11
GOAL_WORST_CONTEXT = 20.0

# predict_run(workout, grid, context_steps) -> (T,) predicted HR bpm of the whole run, NaN where none
PredictRun = Callable[[Any, Any, int], np.ndarray]


def model_predict_run(run) -> PredictRun:
    """A :data:`PredictRun` of a runner's ``run`` (the whole run as one input: ``predict_grid``)."""
    return lambda workout, grid, context_steps: predict_grid(run, grid, context_steps)[0]


@dataclass
class RunScore:
    """One real run: its MAE without and with context, the baselines', and the series to plot."""

    id: str
    person: str
    split: str
    profile: str
    minutes: float
    scored: int
    mae_none: float
    mae_context: float
    mae_context_mean: float
    mae_kinetics: float | None
    bias_context: float
    series: dict
    hr_at_speed: list = None  # median HR per SPEED_BINS bin of settled running (None: too few points)


def _mae(pred: np.ndarray, rec: np.ndarray, scored: np.ndarray) -> float:
    return float(np.mean(np.abs(pred[scored] - rec[scored]))) if scored.any() else float("nan")


def kinetics_on_context(speed: np.ndarray, grade: np.ndarray, hr: np.ndarray, context_steps: int,
                        step_s: float) -> np.ndarray | None:
    """The kinetics baseline: fitted to the observed HR of the first ``context_steps`` steps, run over
    the whole workout (None with fewer than 3 observed context steps or a failed fit)."""
    k = min(context_steps, len(hr))
    ctx = hr[:k]
    if np.isfinite(ctx).sum() < 3:
        return None
    try:
        fit = hr_kinetics.fit(speed[:k], grade[:k], ctx, step_s)
    except (ValueError, RuntimeError):
        return None
    return np.asarray(fit.predict(speed, grade), np.float64).reshape(-1)


def score_run(rec_id: str, person: str, split: str, profile: str, grid, pred_none: np.ndarray,
              pred_context: np.ndarray, context_steps: int, valid: np.ndarray) -> RunScore:
    """Score one run's predictions (``pred_*`` (T,) bpm) and the baselines on the same steps."""
    T = len(grid)
    rec = np.asarray(grid.hr_bpm, np.float64)
    speed = np.where(valid, np.asarray(grid.speed_mps, np.float64), 0.0)
    grade = np.asarray(grid.grade, np.float64)
    grade = np.where(valid & np.isfinite(grade), grade, 0.0)  # as the model reads it: unknown = flat
    steps = np.arange(T)
    scored = valid & np.isfinite(rec) & (steps >= context_steps) & np.isfinite(pred_none) & np.isfinite(pred_context)
    ctx = np.where(valid[:context_steps], rec[:context_steps], np.nan)
    ctx_mean = float(np.nanmean(ctx)) if np.isfinite(ctx).any() else float("nan")
    kin = kinetics_on_context(speed, grade, np.concatenate([ctx, np.full(T - len(ctx), np.nan)]), context_steps,
                              grid.step_s)
    d = pred_context[scored] - rec[scored]

    def r1(a):
        return [None if not np.isfinite(v) else round(float(v), 1) for v in a]

    series = {"t_min": [round(k * grid.step_s / 60.0, 3) for k in range(T)], "recorded": r1(rec),
              "no_context": r1(pred_none), "context": r1(pred_context), "context_mean": ctx_mean,
              "kinetics": r1(kin) if kin is not None else None, "context_steps": context_steps,
              "speed": r1(np.where(valid, grid.speed_mps, np.nan))}
    return RunScore(hr_at_speed=speed_bin_medians(*hr_at_speed(grid)),
                    id=rec_id, person=person, split=split, profile=profile, minutes=T * grid.step_s / 60.0,
                    scored=int(scored.sum()), mae_none=_mae(pred_none, rec, scored),
                    mae_context=_mae(pred_context, rec, scored),
                    mae_context_mean=_mae(np.full(T, ctx_mean), rec, scored),
                    mae_kinetics=_mae(kin, rec, scored) if kin is not None else None,
                    bias_context=float(np.mean(d)) if d.size else float("nan"), series=series)


def score_set(real_set, predict_run: PredictRun, context_minutes: float = CONTEXT_MINUTES,
              step_s: float = 10.0) -> tuple[list[RunScore], list[str]]:
    """Every running workout of ``real_set`` scored (predictions from ``predict_run``), and warnings."""
    runs: list[RunScore] = []
    warnings: list[str] = []
    context_steps = int(round(context_minutes * 60.0 / step_s))
    for r in real_set.recordings:
        try:
            workouts = read_workouts(r.path)
        except InputError as exc:
            warnings.append(f"{r.id}: unreadable, left out ({exc})")
            continue
        for i, w in enumerate(workouts):
            problem = sport_problem(w)
            if problem is not None and problem[0] == "refuse":
                warnings.append(f"{r.id}: {problem[1]}; left out")
                continue
            grid = to_grid(w, step_s=step_s)
            _, valid = workout_input(grid, 0)
            none = np.asarray(predict_run(w, grid, 0), np.float64)
            ctx = np.asarray(predict_run(w, grid, context_steps), np.float64)
            rid = r.id if len(workouts) == 1 else f"{r.id}#{i}"
            runs.append(score_run(rid, r.person, r.split, r.profile, grid, np.where(valid, none, np.nan),
                                  np.where(valid, ctx, np.nan), context_steps, valid))
    return runs, warnings


SPEED_BINS = (1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0)  # m/s: HR at speed, per 0.5 m/s


def hr_at_speed(grid, after_min: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """(speed m/s, HR bpm) of a workout's settled running: 2-minute means of speed and recorded HR,
    after its first ``after_min`` minutes, on nearly flat ground (|grade| < 0.03)."""
    sp, hr = np.asarray(grid.speed_mps, np.float64), np.asarray(grid.hr_bpm, np.float64)
    gr = np.nan_to_num(np.asarray(grid.grade, np.float64))
    k = max(1, int(round(120.0 / grid.step_s)))
    if len(sp) < k:
        return np.zeros(0), np.zeros(0)
    ones = np.ones(k)

    def mean(a):
        full = np.convolve(np.isfinite(a).astype(float), ones, "valid") == k
        return np.where(full, np.convolve(np.nan_to_num(a), ones, "valid") / k, np.nan)

    s, h, g = mean(sp), mean(hr), np.convolve(gr, ones, "valid") / k
    t = (np.arange(len(s)) + k) * grid.step_s / 60.0
    sel = (t > after_min) & np.isfinite(s) & np.isfinite(h) & (np.abs(g) < 0.03) & (s > 0.8)
    return s[sel], h[sel]


def speed_bin_medians(speed: np.ndarray, hr: np.ndarray, min_points: int = 6) -> list[float | None]:
    """Median HR per :data:`SPEED_BINS` bin [b, b + 0.5) with at least ``min_points`` points, else None."""
    out: list[float | None] = []
    for b in SPEED_BINS:
        m = (speed >= b) & (speed < b + 0.5)
        out.append(float(np.median(hr[m])) if m.sum() >= min_points else None)
    return out


def synthetic_hr_at_speed(data, n_runners: int = 40, workouts: int = 2, step_s: float = 10.0) -> dict:
    """The 5th, 50th and 95th percentile of the SYNTHETIC workout population's HR per speed bin
    (each workout's bin medians, as :func:`speed_bin_medians` of the real runs), drawn with the
    model's data settings (``data.seed``, ``data.hr_sampling``)."""
    per_bin: list[list[float]] = [[] for _ in SPEED_BINS]
    for chunk in iter_population(n_runners, workouts, int(data.seed), hr_sampling=data.hr_sampling):
        for w in chunk:
            for i, v in enumerate(speed_bin_medians(*hr_at_speed(to_grid(w, step_s=step_s)))):
                if v is not None:
                    per_bin[i].append(v)
    pct = {q: [float(np.percentile(v, q)) if len(v) >= 5 else None for v in per_bin] for q in (5, 50, 95)}
    return {"p5": pct[5], "p50": pct[50], "p95": pct[95], "n": [len(v) for v in per_bin],
            "runners": n_runners, "workouts_per_runner": workouts}


def _median(values) -> float | None:
    v = [x for x in values if x is not None and np.isfinite(x)]
    return float(np.median(v)) if v else None


def _summary(runs: list[RunScore]) -> dict[str, Any]:
    beats = [r.mae_context < r.mae_context_mean for r in runs if np.isfinite(r.mae_context_mean)]
    return {"runs": len(runs), "median_none": _median(r.mae_none for r in runs),
            "median_context": _median(r.mae_context for r in runs),
            "median_context_mean": _median(r.mae_context_mean for r in runs),
            "median_kinetics": _median(r.mae_kinetics for r in runs),
            "beats_context_mean": (sum(beats) / len(beats)) if beats else None, "n_beats": sum(beats),
            "worst_context": max((r.mae_context for r in runs if np.isfinite(r.mae_context)), default=None)}


def evaluation(real_set, runs: list[RunScore], warnings: list[str], context_minutes: float = CONTEXT_MINUTES,
               title: str | None = None, synthetic_band: dict | None = None) -> RealEvaluation:
    """The :class:`RealEvaluation` of scored runs: goals (all runs and the holdout runners), tables, series;
    with ``synthetic_band`` (:func:`synthetic_hr_at_speed`), the real runs' HR at speed against it."""
    res = RealEvaluation(set=real_set.name, title=title or "real runs (heart rate from pace and grade)",
                         n_recordings=len(runs), n_persons=len({r.person for r in runs}),
                         holdout_persons=real_set.persons("holdout"), warnings=list(warnings))
    ctx = f"{context_minutes:g} min"
    for split, sel in (("all", runs), ("holdout", [r for r in runs if r.split == "holdout"])):
        if not sel:
            continue
        s = _summary(sel)
        med_none, med_ctx, beats, worst = s["median_none"], s["median_context"], s["beats_context_mean"], s["worst_context"]
        res.goals += [
            Goal("median MAE without context, bpm", med_none, f"< {GOAL_MAE_NO_CONTEXT:g}",
                 med_none is not None and med_none < GOAL_MAE_NO_CONTEXT, split),
            Goal(f"median MAE with {ctx} of context, bpm", med_ctx, f"< {GOAL_MAE_CONTEXT:g}",
                 med_ctx is not None and med_ctx < GOAL_MAE_CONTEXT, split),
            Goal(f"share of runs where context beats the context-mean baseline ({s['n_beats']} of {len(sel)})",
                 beats, ">= 8/11", beats is not None and beats >= GOAL_BEATS_CONTEXT_MEAN - 1e-12, split),
            Goal(f"worst run's MAE with {ctx} of context, bpm", worst, f"< {GOAL_WORST_CONTEXT:g}",
                 worst is not None and worst < GOAL_WORST_CONTEXT, split),
        ]
    cols = ["run", "person", "split", "profile", "minutes", "steps scored", "no context", f"context {ctx}",
            "context mean", "kinetics on context", "bias with context"]
    res.tables.append(Table(
        "per run: MAE (bpm) after the context minutes", cols,
        [[r.id, r.person, r.split, r.profile, round(r.minutes, 1), r.scored, r.mae_none, r.mae_context,
          r.mae_context_mean, r.mae_kinetics, r.bias_context] for r in runs],
        note=(f"Every column on the same steps: after the first {ctx}, with recorded HR and a speed. "
              "no context = the population model from pace and grade alone; context = the model with the first "
              f"{ctx} of recorded HR; context mean = that HR's mean held to the end; kinetics = a first-order "
              "HR model fitted to those minutes. bias = mean(predicted - recorded) with context.")))
    rows = []
    for split in ("all", "tune", "holdout"):
        sel = runs if split == "all" else [r for r in runs if r.split == split]
        if sel:
            s = _summary(sel)
            rows.append([split, s["runs"], s["median_none"], s["median_context"], s["median_context_mean"],
                         s["median_kinetics"], f"{s['n_beats']} of {s['runs']}", s["worst_context"]])
    for profile in sorted({r.profile for r in runs}):
        sel = [r for r in runs if r.profile == profile]
        s = _summary(sel)
        rows.append([f"profile {profile}", s["runs"], s["median_none"], s["median_context"], s["median_context_mean"],
                     s["median_kinetics"], f"{s['n_beats']} of {s['runs']}", s["worst_context"]])
    res.tables.append(Table("medians (bpm) by split and profile",
                            ["runs of", "runs", "no context", f"context {ctx}", "context mean", "kinetics on context",
                             "context beats context mean", "worst with context"], rows))
    res.series = {"runs": {r.id: dict(r.series, split=r.split, person=r.person) for r in runs}}
    real = {r.id: {"split": r.split, "bpm": r.hr_at_speed} for r in runs if r.hr_at_speed}
    res.series["hr_at_speed"] = {"bins_mps": list(SPEED_BINS), "real": real, "synthetic": synthetic_band}
    if synthetic_band:
        rows = []
        for i, b in enumerate(SPEED_BINS):
            vals = [(rid, v["bpm"][i]) for rid, v in real.items() if v["bpm"][i] is not None]
            lo, hi = synthetic_band["p5"][i], synthetic_band["p95"][i]
            if not vals or lo is None:
                continue
            inside = sum(lo <= v <= hi for _, v in vals)
            rows.append([f"{b:.1f}-{b + 0.5:.1f}", lo, synthetic_band["p50"][i], hi, len(vals), inside,
                         ", ".join(f"{rid} {v:.0f}" for rid, v in vals if not lo <= v <= hi) or "—"])
        res.tables.append(Table(
            "HR at speed: real runs against the SYNTHETIC population (settled running, median bpm)",
            ["m/s", "synthetic p5", "p50", "p95", "real runs", "inside p5-p95", "outside"], rows,
            note=("Per 0.5 m/s of 2-min mean speed after the first 10 min on nearly flat ground: each run's median "
                  "HR (real), and the 5th/50th/95th percentile of the simulated workouts' medians (synthetic, "
                  f"{synthetic_band['runners']} runners x {synthetic_band['workouts_per_runner']} workouts of the "
                  "training population's seed).")))
    return res
