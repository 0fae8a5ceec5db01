"""The activity model on real runs (edgekit.tasks.activity_real): scoring, baselines, goals, plots."""

from pathlib import Path

import numpy as np
import pytest

from edgekit.data.real.manifest import load_set
from edgekit.data.workouts import WorkoutGrid
from edgekit.report import plots
from edgekit.tasks import activity_real as ar
from edgekit.tasks import task_for

REPO = Path(__file__).resolve().parent.parent


def _grid(T=120, hr=None):
    t = np.arange(T)
    speed = np.where(t < 60, 2.5, 3.5).astype(np.float32)
    hr = np.asarray(hr if hr is not None else 120 + 10 * np.minimum(t, 30) / 30 + 15 * (t >= 60), np.float32)
    return WorkoutGrid("w", "r", 0.0, 10.0, speed, np.zeros(T, np.float32), hr)


def test_score_run_scores_every_column_on_the_same_steps():
    g = _grid()
    valid = np.ones(len(g), bool)
    valid[100:105] = False  # no speed there: not scored
    rec = g.hr_bpm.astype(np.float64)
    run = ar.score_run("r1", "p", "tune", "chest_strap", g, rec + 10.0, rec - 2.0, 30, valid)
    assert run.scored == 120 - 30 - 5
    assert run.mae_none == pytest.approx(10.0) and run.mae_context == pytest.approx(2.0)
    assert run.bias_context == pytest.approx(-2.0)
    ctx_mean = rec[:30].mean()
    sel = valid & (np.arange(120) >= 30)
    assert run.mae_context_mean == pytest.approx(np.abs(rec[sel] - ctx_mean).mean())
    assert run.mae_kinetics is not None and np.isfinite(run.mae_kinetics)
    assert len(run.series["t_min"]) == 120 and run.series["context_steps"] == 30


def test_kinetics_baseline_needs_three_context_steps():
    g = _grid()
    hr = np.full(120, np.nan)
    hr[:2] = 120
    assert ar.kinetics_on_context(g.speed_mps.astype(float), np.zeros(120), hr, 30, 10.0) is None


def test_goals_follow_the_issue_thresholds():
    rs = load_set(REPO / "realdata" / "runs")
    g = _grid()
    valid = np.ones(120, bool)
    rec = g.hr_bpm.astype(np.float64)
    runs = [ar.score_run(f"r{i}", "p" if i < 6 else "q", "tune" if i < 6 else "holdout", "chest_strap", g,
                         rec + 11.0, rec + (3.0 if i < 9 else 25.0), 30, valid) for i in range(11)]
    ev = ar.evaluation(rs, runs, [])
    goals = {(x.split, x.name.split(" (")[0]): x for x in ev.goals}
    assert goals[("all", "median MAE without context, bpm")].met  # 11 < 12
    assert goals[("all", "median MAE with 5 min of context, bpm")].met  # 3 < 8
    assert not goals[("all", "worst run's MAE with 5 min of context, bpm")].met  # 25 > 20
    beats = goals[("all", "share of runs where context beats the context-mean baseline")]
    assert beats.value == pytest.approx(9 / 11) and beats.met
    assert {x.split for x in ev.goals} == {"all", "holdout"}
    assert ev.tables[0].rows[0][0] == "r0" and len(ev.tables[0].rows) == 11
    png = plots.real_runs({"real": [ev.to_json()]})
    assert png is not None and png[:4] == b"\x89PNG"


def test_the_committed_runs_are_scored_with_a_stand_in_model():
    rs = load_set(REPO / "realdata" / "runs")
    assert {r.format for r in rs.recordings} == {"gpx", "tcx", "fit"}
    assert rs.persons("holdout") and rs.persons("tune")

    def constant(X):  # the whole run, (1, T, 3) -> (1, T)
        return np.full(X.shape[:2], 150.0)

    from edgekit.config.load import load_config

    cfg = load_config(REPO / "configs" / "hr_activity.toml")
    assert cfg.real_set_paths() == [(REPO / "realdata" / "runs").resolve()]
    ev = task_for("hr_activity").evaluate_real(cfg, constant, rs)
    assert ev.n_recordings == len(rs.recordings) and not ev.warnings
    rows = ev.tables[0].rows
    assert all(r[5] > 100 for r in rows)  # steps scored per run
    assert all(r[6] == pytest.approx(r[7]) for r in rows)  # a constant model: context changes nothing
    assert set(ev.series["runs"]) == {r.id for r in rs.recordings}


def test_kinetics_baseline_reads_an_unknown_grade_as_flat():
    g = _grid()
    g.grade[5:40] = np.nan  # no altitude there (a GPX without elevation)
    run = ar.score_run("r", "p", "tune", "x", g, g.hr_bpm.astype(float), g.hr_bpm.astype(float), 30,
                       np.ones(120, bool))
    assert run.mae_kinetics is not None and np.isfinite(run.mae_kinetics)
