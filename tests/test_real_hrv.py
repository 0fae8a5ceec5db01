"""The real HRV set as the models see it (edgekit.data.real.hrv) and the evaluation of the HRV models on it
(edgekit.tasks.hrv_real), with stand-in models: calibration goals, stress ranking, red days."""

from pathlib import Path

import numpy as np
import pytest

from edgekit.config.load import load_config
from edgekit.data.real.hrv import load_readings, reading_rmssd, split_readings, watch_days
from edgekit.data.real.manifest import load_set
from edgekit.data.rr import RRTable
from edgekit.tasks import hrv_real
from edgekit.tasks.real import RealEvaluation

REPO = Path(__file__).resolve().parent.parent
HRV_SET = REPO / "realdata" / "hrv"


@pytest.fixture(scope="module")
def real_set():
    return load_set(HRV_SET)


@pytest.fixture(scope="module")
def readings(real_set):
    return load_readings(real_set, 128, 45, 20.0)


def test_split_readings_cuts_at_gaps_and_after_a_minute():
    rr = np.full(200, 800.0)  # 160 s of beats, then a gap, then 40 s
    t = np.cumsum(rr) / 1000.0
    t[150:] += 100.0
    table = RRTable(np.full(200, "r"), np.r_[np.zeros(150, np.int64), np.ones(50, np.int64)], t, rr, np.zeros(200, np.int64))
    out = split_readings(table)
    # 150 beats = 120 s: two readings of 76 and 74 beats (<= 62 s each), then the 50 beats after the gap
    assert out.segment.max() == 2
    assert np.bincount(out.segment).tolist() == [77, 73, 50]
    assert out.subject[0] == "r#0" and out.subject[-1] == "r#2"
    assert np.array_equal(out.rr_ms, rr) and np.array_equal(out.time_s, t)


def test_the_committed_set_gives_one_minute_readings(readings):
    r = readings
    assert len(r) > 1400 and r.counts["readings"] >= len(r)
    assert ((r.X > 0).sum(axis=1) >= 45).all() and r.X.shape[1] == 128
    by_source = {s: int(r.where(source=s).sum()) for s in ("nsr2db", "healthy", "drivedb")}
    assert by_source["nsr2db"] > 1150 and by_source["healthy"] > 150 and 40 <= by_source["drivedb"] <= 60
    # at rest: a quarter of each 24 h recording (6 of 24 hours) and the driver's seated rest
    day = r.where(profile="holter_day")
    assert 0.2 < r.rest[day].mean() < 0.3
    drive = r.where(source="drivedb")
    assert np.array_equal(r.rest[drive], r.stress[drive] == 0) and (r.stress[drive] >= 0).all()
    assert not r.adult[r.where(source="healthy")].any() and r.adult[r.where(source="nsr2db")].all()
    # the night of a Holter recording: heart rate lower than the day's
    assert np.median(r.mean_hr[day & r.rest]) < np.median(r.mean_hr[day & ~r.rest]) - 10


def test_watch_days_are_sparse_slots_and_deterministic(readings):
    X, info = watch_days(readings)
    X2, info2 = watch_days(readings)
    assert np.array_equal(X, X2) and info == info2
    n_rec = len({i["recording"] for i in info})
    assert len(X) == 4 * n_rec and X.shape[1] == 24
    present = (X > 0).sum(axis=1)
    assert 8 <= present.mean() <= 14 and present.max() <= 24
    assert {i["source"] for i in info} == {"nsr2db", "healthy"}
    # a slot holds the RMSSD of that hour's reading
    j = next(k for k, i in enumerate(info) if i["recording"] == "nsr001")
    m = readings.where(recording="nsr001")
    h = int(np.flatnonzero(X[j] > 0)[0])
    x = readings.X[m][readings.hour[m] == h][0]
    assert X[j, h] == pytest.approx(reading_rmssd(x), rel=1e-6)


def _cfg(name):
    return load_config(REPO / "configs" / f"{name}.toml")


def test_strain_evaluation_with_stand_in_models(real_set, monkeypatch):
    cfg = _cfg("hrv_reading")
    always_healthy = lambda X: np.tile([0.9, 0.05, 0.05], (len(X), 1))  # noqa: E731
    ev = hrv_real.strain_evaluation(cfg, always_healthy, real_set, realism=False)
    goals = {(g.name, g.split): g for g in ev.goals}
    calib = [g for g in ev.goals if "healthy adults" in g.name]
    assert len(calib) == 8 and all(g.met for g in calib)
    assert {g.split for g in calib} == {"holdout", "tune"}
    stress = [g for g in ev.goals if "stress vs rest" in g.name]
    assert len(stress) == 1 and stress[0].split == "holdout"
    assert stress[0].value == pytest.approx(0.5) and not stress[0].met  # a constant score ranks nothing

    def rmssd_model(X):  # "burnout_risk" below 25 ms: ranks like RMSSD alone
        r = np.array([reading_rmssd(x) for x in X])
        p = np.zeros((len(X), 3))
        p[:, 0] = 1 / (1 + np.exp(-(r - 25) / 5))
        p[:, 2] = 1 - p[:, 0]
        return p

    ev2 = hrv_real.strain_evaluation(cfg, rmssd_model, real_set, realism=False)
    s2 = [g for g in ev2.goals if "stress vs rest" in g.name][0]
    rmssd_auc = ev2.series["strain_real"]["stress"]["drivedb/drive17"]["rmssd_auc"]
    assert s2.met and s2.value == pytest.approx(rmssd_auc, abs=1e-9) and f"{rmssd_auc:.3f}" in s2.target
    day = [g for g in ev2.goals if g.name.endswith("over the whole day: share of one-minute readings burnout_risk")]
    assert all(not g.met for g in day)  # healthy older adults' RMSSD is often below 25 ms
    doc = RealEvaluation.from_json(ev2.to_json(), "x").to_json()
    assert doc == ev2.to_json() and {t.title for t in ev2.tables} >= {"Healthy adults: label shares (real)"}


def test_strain_evaluation_reports_realism(real_set, monkeypatch):
    monkeypatch.setattr(hrv_real, "REALISM_SUBJECTS", 3)
    monkeypatch.setattr(hrv_real, "REALISM_DAYS", 2)
    cfg = _cfg("hrv_reading")
    cfg.data.profiles = ["watch", "strap"]  # two profiles keep the test short
    ev = hrv_real.strain_evaluation(cfg, lambda X: np.tile([1.0, 0, 0], (len(X), 1)), real_set)
    real_goals = [g for g in ev.goals if "realism" in g.name]
    assert [g.split for g in real_goals] == ["holdout", "tune"] and all(0 <= g.value <= 1 for g in real_goals)
    assert "simulated watch readings" in real_goals[0].name
    series = ev.series["realism"]
    assert set(series["auc"]) <= {"watch", "strap"} and "watch" in series["auc"]
    assert len(series["real"]["rmssd_ms"]) > 1000 and series["sim_profile"] == "watch"


def test_forecaster_evaluation_counts_red_days(real_set):
    cfg = _cfg("hrv_slots")
    ok = hrv_real.forecaster_evaluation(cfg, lambda X: np.full(len(X), 80.0), real_set)
    bad = hrv_real.forecaster_evaluation(cfg, lambda X: np.full(len(X), 30.0), real_set)
    assert [g.split for g in ok.goals] == ["holdout", "tune"]
    assert all(g.met and g.value == 0.0 for g in ok.goals) and all(not g.met and g.value == 1.0 for g in bad.goals)
    assert ok.series["forecaster_real"]["adults/holdout"]["persons"] == 13


def test_a_workout_set_is_not_an_hrv_set(tmp_path, real_set):
    from dataclasses import replace

    runs = replace(real_set, recordings=tuple(replace(r, format="tcx") for r in real_set.recordings))
    assert hrv_real.is_rr_set(real_set) and not hrv_real.is_rr_set(runs)


def test_calibration_offsets_are_fitted_on_tune_persons_only(real_set, tmp_path):
    """A stand-in model that calls every low-RMSSD reading burnout_risk: the offsets lower burnout_risk
    until the tune persons' healthy adults meet the targets; holdout persons are not read."""
    cfg = _cfg("hrv_reading")
    assert cfg.train.calibrate_on == ["../realdata/hrv"]

    def model(X):
        r = np.array([reading_rmssd(x) for x in X])
        z = np.c_[np.log(r / 20.0), np.zeros(len(X)), -np.log(r / 20.0) * 2]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    rng = np.random.default_rng(0)
    val_X = np.array([readings_x for readings_x in load_readings(real_set, 128, 45, 20.0).X[:300]])
    val_y = rng.integers(0, 3, len(val_X))
    seen = []
    rec = hrv_real.calibrate_classifier(cfg, lambda X: (seen.append(len(X)), model(X))[1], val_X, val_y)
    assert rec["shares_before"]["hrv/day"]["burnout_risk"] > 0.2
    assert rec["targets_met"] and rec["offsets"][0] == 0.0 and rec["offsets"][2] < 0
    after = rec["shares_after"]
    assert all(v["burnout_risk"] <= hrv_real.CAL_BURNOUT_MAX and v["healthy"] >= hrv_real.CAL_HEALTHY_MIN
               for v in after.values())
    tune_adult = sum(1 for rec_ in real_set.recordings if rec_.split == "tune" and rec_.known.get("adult"))
    assert rec["readings"] <= 24 * tune_adult  # readings of tune adults only (no holdout, no children)
