"""The SYNTHETIC workout population: determinism, HR kinetics, physiology, sampling, GPS, FitRec lines."""

import calendar
import json
import math
from dataclasses import replace

import numpy as np
import pytest
from scipy.optimize import curve_fit

from edgekit.data.synth import heart_response, workout_jsonl
from edgekit.data.synth import workouts as ws

ARRAYS = ("route_t_s", "lat_deg", "lon_deg", "altitude_m", "speed_mps", "hr_t_s", "hr_bpm")
NO_DRIFT = replace(heart_response.HRParams(), drift_bpm_per_min=0.0)


def _same(a, b):
    """Bit-identical workouts (arrays byte for byte, NaNs included; meta and scalars equal)."""
    assert (a.workout_id, a.runner, a.sport, a.start_s, a.end_s, a.source) == \
        (b.workout_id, b.runner, b.sport, b.start_s, b.end_s, b.source)
    for name in ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.tobytes() == y.tobytes(), name
    assert a.meta == b.meta


def _flat(chunks):
    return [w for chunk in chunks for w in chunk]


def _epoch(y, m=1, d=1):
    return float(calendar.timegm((y, m, d, 0, 0, 0)))


def test_same_seed_bit_identical_for_any_chunk_size():
    runs = {c: list(ws.iter_population(5, 3, seed=11, chunk_runners=c)) for c in (1, 2, 5)}
    assert [len(ch) for ch in runs[2]] == [6, 6, 3]  # 2 + 2 + 1 runners x 3 workouts
    ref = _flat(runs[5])
    assert len(ref) == 15 and len({w.workout_id for w in ref}) == 15
    for c in (1, 2):
        for a, b in zip(_flat(runs[c]), ref, strict=True):
            _same(a, b)
    for a, b in zip(ws.generate_runner(3, 11, 3), ref[9:12], strict=True):  # one runner alone
        _same(a, b)
    for a, b in zip(_flat(ws.iter_population(2, 3, seed=11)), ref[:6], strict=True):  # a prefix
        _same(a, b)
    other = ws.generate_runner(3, 12, 3)
    assert other[0].hr_bpm.tobytes() != ref[9].hr_bpm.tobytes()


def _two_exp(t, a1, tau1, a2, tau2, d):
    s = np.maximum(t - d, 0.0)
    return a1 * (1 - np.exp(-s / tau1)) + a2 * (1 - np.exp(-s / tau2))


def test_speed_step_on_flat_gives_documented_gain_and_time_constants():
    pre, post, v1, v2 = 2400, 1800, 2.5, 3.5
    speed = np.r_[np.full(pre, v1), np.full(post, v2), np.full(post, v1)]
    hr = ws.true_hr(speed, 0.0, NO_DRIFT)
    p = NO_DRIFT
    # rise: two parallel first-order components behind one dead time
    t = np.arange(post, dtype=float)
    rise = hr[pre:pre + post] - hr[pre - 1]
    (a1, tau1, a2, tau2, d), _ = curve_fit(_two_exp, t, rise, p0=(15, 40, 5, 200, 4))
    assert (a1 + a2) / (v2 - v1) == pytest.approx(heart_response.GAIN_BPM_PER_MPS, rel=0.02)
    assert tau1 == pytest.approx(heart_response.TAU_RISE_S, rel=0.05)
    assert tau2 == pytest.approx(heart_response.TAU_SLOW_S, rel=0.1)
    assert a2 / (a1 + a2) == pytest.approx(heart_response.SLOW_FRACTION, abs=0.02)
    assert d == pytest.approx(heart_response.DEAD_TIME_S, abs=1.5)
    # fall: slower than the rise
    fall = hr[pre + post - 1] - hr[pre + post:]
    (b1, tau_f, b2, _, _), _ = curve_fit(_two_exp, t, fall, p0=(15, 60, 5, 300, 4))
    assert tau_f == pytest.approx(p.tau_fall_s, rel=0.05) and tau_f > tau1 * 1.15
    assert (b1 + b2) / (v2 - v1) == pytest.approx(heart_response.GAIN_BPM_PER_MPS, rel=0.02)
    # from a chest-strap-like measurement (1 bpm noise, whole bpm, a sample every 5 s), with the
    # documented slower component's share and time constant: gain, time constant and dead time
    rng = np.random.default_rng(0)
    idx = np.arange(0, post, 5)
    noisy = np.round(hr[pre + idx] + rng.normal(0, 1.0, len(idx))) - hr[pre - 1]
    w = heart_response.SLOW_FRACTION

    def model(t, k, tau, d):
        return _two_exp(t, (1 - w) * k * (v2 - v1), tau, w * k * (v2 - v1), heart_response.TAU_SLOW_S, d)

    (k, tau1, d), _ = curve_fit(model, idx.astype(float), noisy, p0=(15, 30, 2))
    assert k == pytest.approx(heart_response.GAIN_BPM_PER_MPS, rel=0.05)
    assert tau1 == pytest.approx(heart_response.TAU_RISE_S, rel=0.15)
    assert d == pytest.approx(heart_response.DEAD_TIME_S, abs=4)


def test_minetti_cost_and_uphill_raises_hr_at_the_same_speed():
    assert ws.minetti_cost(0.0) == pytest.approx(3.6)
    grid = np.linspace(-0.45, 0.45, 901)
    c = ws.minetti_cost(grid)
    assert -0.25 < grid[np.argmin(c)] < -0.15  # cheapest running downhill near -0.2 (Minetti 2002)
    assert ws.minetti_cost(0.45) == pytest.approx(18.93, abs=1.74)  # measured 18.93 +- 1.74 at +0.45
    assert ws.minetti_cost(0.9) == ws.minetti_cost(0.45)  # clipped to the fitted range
    n, v = 1500, 3.0
    last = {g: ws.true_hr(np.full(n, v), g, NO_DRIFT)[-60:].mean() for g in (-0.05, 0.0, 0.05)}
    assert last[-0.05] < last[0.0] < last[0.05]
    expect = NO_DRIFT.gain_bpm_per_mps * v * (ws.minetti_cost(0.05) / 3.6 - 1)
    assert last[0.05] - last[0.0] == pytest.approx(expect, abs=0.5) and expect > 15


def test_cardiac_drift_and_slow_component():
    p = heart_response.HRParams()
    hr = ws.true_hr(np.full(5400, 3.0), 0.0, p)
    rise = hr[3600] - hr[900]  # minute 15 -> 60 at ~60 % of the heart-rate reserve: about +10 % (Coyle &
    assert 0.07 < rise / hr[900] < 0.13  # Gonzalez-Alonso 2001; docs/synthetic_workouts.md, "Drift")
    assert abs(ws.true_hr(np.full(5400, 3.0), 0.0, NO_DRIFT)[3600] - ws.true_hr(
        np.full(5400, 3.0), 0.0, NO_DRIFT)[900]) < 1.5  # the slow component (30 %, tau 300 s) has settled
    above = ws.true_hr(np.full(600, 1.1 * p.v_threshold_mps), 0.0, p)
    below = ws.true_hr(np.full(600, 0.9 * p.v_threshold_mps), 0.0, p)
    parts = ws.true_hr(np.full(600, 1.1 * p.v_threshold_mps), 0.0, p, components=True)
    assert parts["slow_component"][-1] > 2.0
    assert (above[599] - above[180]) > (below[599] - below[180]) + 2.0


def test_hr_stays_between_rest_and_max_and_sensors_follow_it():
    ks = set()
    for w in _flat(ws.iter_population(8, 8, seed=3, with_truth=True, hr_sampling="mixed")):
        m, tr = w.meta, w.meta["truth"]
        ks.add(m["kind"])
        assert m["synthetic"] is True and m["sensor"] in ("optical", "chest")
        assert {"runner_fitness", "year", "sensor", "kind"} <= set(m)
        assert tr["hr_bpm"].min() >= m["hr_rest_bpm"] and tr["hr_bpm"].max() <= m["hr_max_bpm"]
        assert 150 < m["hr_max_bpm"] < 215 and 38 <= m["hr_rest_bpm"] <= 85
        assert np.all(np.diff(w.hr_t_s) > 0) and np.all(np.diff(w.route_t_s) > 0)
        assert w.start_s <= w.hr_t_s[0] and w.hr_t_s[-1] < w.end_s
        # outside cadence-lock episodes and a strap's first minutes without contact the reading
        # stays near the truth
        k = (w.hr_t_s - w.start_s).astype(int)
        locked = np.zeros(len(k), bool)
        for a in m["artifacts"]:
            if a["kind"] in ("cadence_lock", "strap_contact"):
                locked |= (w.hr_t_s >= a["start_s"]) & (w.hr_t_s < a["end_s"])
        err = np.abs(w.hr_bpm - tr["hr_bpm"][k])[~locked]
        assert np.median(err) < (2.0 if m["sensor"] == "chest" else 6.0)
    assert ks == set(ws.KINDS)


def test_sparse_and_dense_hr_sampling_and_route_step():
    dense = ws.generate_runner(1, 4, 4, hr_sampling="dense", with_truth=True)
    sparse = ws.generate_runner(1, 4, 4, hr_sampling="sparse", route_step_s=5.0, with_truth=True)
    for d, s in zip(dense, sparse, strict=True):
        assert np.median(np.diff(d.hr_t_s)) == pytest.approx(ws.DENSE_HR_S, abs=1)
        assert np.median(np.diff(s.hr_t_s)) == pytest.approx(ws.SPARSE_HR_S, abs=10)
        assert len(s.hr_t_s) * 8 < len(d.hr_t_s)
        assert d.meta["truth"]["hr_bpm"].tobytes() == s.meta["truth"]["hr_bpm"].tobytes()  # same physiology
        assert np.median(np.diff(d.route_t_s)) == 1.0 and np.median(np.diff(s.route_t_s)) == 5.0
        common, i, j = np.intersect1d(d.hr_t_s, s.hr_t_s, return_indices=True)
        assert np.array_equal(d.hr_bpm[i], s.hr_bpm[j])  # a sample at the same time reads the same
    by_year = _flat(ws.iter_population(3, 12, seed=4, hr_sampling="by_year"))
    for w in by_year:
        assert w.meta["hr_sampling"] == ("sparse" if w.meta["year"] <= ws.SPARSE_UNTIL_YEAR else "dense")
    assert {w.meta["hr_sampling"] for w in by_year} == {"sparse", "dense"}
    with pytest.raises(ValueError):
        ws.generate_runner(0, 1, 1, hr_sampling="hourly")
    with pytest.raises(ValueError):
        ws.generate_runner(0, 1, 1, route_step_s=0.5)


def test_fitness_shift_changes_the_speed_to_hr_relation():
    prof = {"trend_per_year": 0.04, "detrain_depth": 0.0, "season_amp": 0.0, "sensor": "chest"}
    runner = ws.runner_params(2, 5, profile=prof)
    probe = np.full(1800, 3.0)
    hr19 = ws.true_hr(probe, 0.0, runner.hr_params_at(_epoch(2019, 6)))[-300:].mean()
    hr25 = ws.true_hr(probe, 0.0, runner.hr_params_at(_epoch(2025, 6)))[-300:].mean()
    assert hr19 - hr25 > 8.0  # fitter in 2025: lower HR at the same speed
    # a model fitted on 2019-2024 workouts (HR vs the 4-min mean effort) is biased on 2025
    xs, ys, yr = [], [], []
    for w in ws.generate_runner(2, 5, 70, with_truth=True, profile=prof):
        u, h = w.meta["truth"]["effort_mps"], w.meta["truth"]["hr_bpm"]
        c = np.r_[0.0, np.cumsum(u)]
        k = np.arange(600, len(u), 30)
        xs.append((c[k] - c[k - 240]) / 240)
        ys.append(h[k])
        yr.append(np.full(len(k), w.meta["year"]))
    x, y, yr = map(np.concatenate, (xs, ys, yr))
    train = yr < 2025
    assert (~train).sum() > 100
    b, a = np.polyfit(x[train], y[train], 1)
    resid = y - (a + b * x)
    assert resid[~train].mean() < -4.0
    assert abs(resid[train].mean()) < 0.5
    fit = [w.meta["runner_fitness"] for w in ws.generate_runner(2, 5, 10, profile=prof)]
    assert fit[-1] > fit[0] * 1.1
    # every default runner's fitness moves: the population's 2025 differs from its 2019-2024
    t_a = np.linspace(_epoch(2019), _epoch(2025), 300)
    t_b = np.linspace(_epoch(2025), _epoch(2026), 60)
    change = [abs(r.fitness_at(t_b).mean() / r.fitness_at(t_a).mean() - 1)
              for r in (ws.runner_params(i, 7) for i in range(100))]
    assert np.median(change) > 0.02


def test_breaks_leave_no_workouts_and_cost_fitness():
    runner = ws.runner_params(0, 9, profile={"break_start_s": _epoch(2021, 3), "break_end_s": _epoch(2021, 7),
                                              "detrain_depth": 0.12, "season_amp": 0.0, "trend_per_year": 0.0})
    fit = runner.fitness_at(np.array([_epoch(2021, 2), _epoch(2021, 7), _epoch(2022, 7)]))
    assert fit[1] < fit[0] * 0.92 and fit[2] > fit[1]
    work = ws.generate_runner(0, 9, 60, profile={"break_start_s": runner.break_start_s,
                                                 "break_end_s": runner.break_end_s})
    starts = np.array([w.start_s for w in work])
    assert not np.any((starts > runner.break_start_s + 86400) & (starts < runner.break_end_s - 86400))
    assert np.all(np.diff(starts) > 0)
    with pytest.raises(ValueError):
        ws.runner_params(0, 9, profile={"vo2max": 50})
    with pytest.raises(ValueError):
        ws.runner_params(0, 9, profile={"break_start_s": _epoch(2021), "break_end_s": math.nan})
    none = ws.runner_params(0, 9, profile={"break_start_s": math.nan})
    assert not none.detraining(_epoch(2022)).any()


def _haversine_m(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * ws.EARTH_RADIUS_M * np.arcsin(np.sqrt(h))


def test_speed_from_gps_matches_the_generated_speed():
    exact = ws.generate_runner(5, 2, 3, with_truth=True, profile={"gps_noise_m": 0.0})
    for w in exact:
        v = w.meta["truth"]["speed_mps"]
        k = (w.route_t_s - w.start_s).astype(int)
        step = np.diff(k) == 1
        d = _haversine_m(w.lat_deg[:-1], w.lon_deg[:-1], w.lat_deg[1:], w.lon_deg[1:])
        assert np.max(np.abs(d[step] - v[k[:-1][step]])) < 0.01  # 1 s steps: the speed held over them
    for w in ws.generate_runner(5, 2, 6, with_truth=True):  # with GPS error (~1-4 m, correlated)
        v = w.meta["truth"]["speed_mps"]
        t = w.route_t_s - w.start_s
        d = np.r_[0.0, np.cumsum(_haversine_m(w.lat_deg[:-1], w.lon_deg[:-1], w.lat_deg[1:], w.lon_deg[1:]))]
        win = np.arange(0, t[-1] - 60, 60.0)
        i0, i1 = np.searchsorted(t, win), np.searchsorted(t, win + 60)
        ok = (i1 < len(t)) & (i1 > i0)  # a pause with the watch paused leaves minutes without route points
        i0, i1 = i0[ok], i1[ok]
        gps_v = (d[i1] - d[i0]) / (t[i1] - t[i0])
        c = np.r_[0.0, np.cumsum(v)]
        true_v = (c[t[i1].astype(int)] - c[t[i0].astype(int)]) / (t[i1] - t[i0])
        assert np.median(np.abs(gps_v - true_v)) < 0.15
        k = t.astype(int)
        err = _haversine_m(w.lat_deg, w.lon_deg, w.meta["truth"]["lat_deg"][k], w.meta["truth"]["lon_deg"][k])
        sd = ws.runner_params(5, 2).gps_noise_m
        assert 0.3 * sd < np.sqrt(np.mean(err ** 2)) < 3 * sd  # the GPS error, per axis s.d. sd
        if w.meta["device_speed"]:
            assert np.median(np.abs(w.speed_mps - v[k])) < 0.1
        else:
            assert np.isnan(w.speed_mps).all()
    flags = [w.meta["device_speed"] for w in _flat(ws.iter_population(4, 8, seed=2))]
    assert any(flags) and not all(flags)


def test_write_jsonl_fitrec_style(tmp_path):
    out = tmp_path / "workouts.jsonl"
    out.write_text("old\n")
    gen = (w for chunk in ws.iter_population(2, 4, seed=8, hr_sampling="sparse") for w in chunk)
    assert workout_jsonl.write_jsonl(out, gen) == 8
    assert [p.name for p in tmp_path.iterdir()] == ["workouts.jsonl"]  # replaced, no temporary left
    work = _flat(ws.iter_population(2, 4, seed=8, hr_sampling="sparse"))
    lines = out.read_text().splitlines()
    assert len(lines) == 8
    for line, w in zip(lines, work, strict=True):
        rec = json.loads(line, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
        assert rec["id"] == int(w.workout_id) and rec["userId"] == int(w.runner) and rec["sport"] == "run"
        assert rec["synthetic"] is True
        ts = np.array(rec["timestamp"], float)
        assert all(isinstance(x, int) for x in rec["timestamp"]) and np.all(np.diff(ts) > 0)
        for key in ("heart_rate", "altitude", "latitude", "longitude"):
            assert len(rec[key]) == len(ts)
        hr = [(t, h) for t, h in zip(ts, rec["heart_rate"]) if h is not None]
        assert [t for t, _ in hr] == w.hr_t_s.tolist() and [h for _, h in hr] == w.hr_bpm.tolist()
        lat = [x for x in rec["latitude"] if x is not None]
        assert lat == w.lat_deg.tolist()  # full float precision
        if w.meta["device_speed"]:
            sp = np.array([x for x in rec["speed"] if x is not None])
            assert np.allclose(sp, w.speed_mps * 3.6)
        else:
            assert "speed" not in rec
        if not w.meta["altitude"]:
            assert all(x is None for x in rec["altitude"])
    # NaN never reaches the file; a hand-made workout without ids as digits keeps them as text
    w = work[0]
    w.workout_id, w.runner = "a-1", "007"
    w.altitude_m = np.full(len(w.route_t_s), np.nan)
    rec = workout_jsonl.fitrec_record(w)
    assert rec["id"] == "a-1" and rec["userId"] == "007" and set(rec["altitude"]) == {None}
    assert not math.isnan(json.loads(json.dumps(rec, allow_nan=False))["timestamp"][0])


def test_population_real_runners_fit_in():
    """Walking and run/walk, trails with hiked climbs, pauses (recorded or with the watch paused),
    straps without contact, slow runners with a high HR at low speed (docs/synthetic_workouts.md)."""
    ws_ = [w for chunk in ws.iter_population(24, 12, seed=11, with_truth=True) for w in chunk]
    kinds = {w.meta["kind"] for w in ws_}
    assert {"run_walk", "trail"} <= kinds
    arts = [a["kind"] for w in ws_ for a in w.meta["artifacts"]]
    assert {"pause_recorded", "pause_unrecorded", "strap_contact"} <= set(arts)
    walked = np.concatenate([w.meta["truth"]["walking"] for w in ws_ if w.meta["kind"] == "run_walk"])
    assert 0.1 < walked.mean() < 0.6
    # watch paused: no route or HR samples inside the pause
    w = next(w for w in ws_ if any(a["kind"] == "pause_unrecorded" for a in w.meta["artifacts"]))
    a = next(a for a in w.meta["artifacts"] if a["kind"] == "pause_unrecorded")
    inside = (w.route_t_s > a["start_s"] + 1) & (w.route_t_s < a["end_s"] - 1)
    assert not inside.any() and not ((w.hr_t_s > a["start_s"] + 1) & (w.hr_t_s < a["end_s"] - 1)).any()
    # slow runners: some threshold speeds below 2.6 m/s, easy runs near threshold
    vt = np.array([ws.runner_params(i, 11).v_t0_mps for i in range(200)])
    assert (vt < 2.6).mean() > 0.15 and vt.min() >= 2.0 and (vt > 3.8).mean() > 0.05


def test_walking_costs_less_and_hr_recovers_slowly_after_a_stop():
    """Walking at 1.5 m/s costs half of running at 1.5 m/s (ACSM); after 400 s standing, HR is still far
    above rest (the slow component; the first simulator kept ~5 % of the excess); the non-delayed
    component lifts HR within seconds of starting."""
    p = ws.runner_params(3, 11).hr_params_at(ws.runner_params(3, 11).t0_s)
    v = np.full(900, 1.5)
    run = ws.true_hr(v, 0.0, p)
    walk = ws.true_hr(v, 0.0, p, walking=np.ones(900, bool))
    assert (run[-1] - p.hr_rest_bpm) == pytest.approx(2.0 * (walk[-1] - p.hr_rest_bpm), rel=0.05)
    work = np.r_[np.full(1800, 2.8), np.zeros(400)]
    hr = ws.true_hr(work, 0.0, p)
    excess_before, excess_after = hr[1799] - p.hr_rest_bpm, hr[-1] - p.hr_rest_bpm
    assert 0.15 < excess_after / excess_before < 0.6
    start = ws.true_hr(np.full(120, 2.8), 0.0, p)
    assert start[20] - p.hr_rest_bpm > 0.2 * (start[119] - p.hr_rest_bpm)  # before the dead time's end + tau
