"""Fixtures for the Swift package's tests, computed by edgekit's Python data layer.

``Tests/HRVKitCoreTests/Fixtures/core.json``: deterministic beat recordings (clean, gaps, ectopic,
missed and extra beats, out-of-bounds intervals, noisy, tiny, multi-hour) with what Python computes
from them: RR intervals, cleaned series for every method, features, beat windows, hourly RMSSD and
its 24-hour series, and the on-device "latest window" inputs. Swift must match within 1e-9.

``Tests/HRVKitCoreTests/Fixtures/workouts.json``: workouts (synthetic runs from
:func:`edgekit.data.synth.workouts.generate_runner` with dense and sparse heart rate, device speed
present and absent, a GPS gap, no altitude; hand-made edge cases) as raw samples, with what Python
computes from them: the grid (``to_grid``), the windows and their mask (``windows``), and the model
inputs of a whole workout with the comparison of a fixed stand-in predictor's output with the
recorded heart rate (``edgekit.tasks.activity.predict_workout``): a stateful stand-in
(:class:`edgekit.package.activity_fixtures.StandInPredictor`) window after window, with the state after
each window. Swift must match within 1e-9. ``Tests/HRVKitTests/Fixtures/activity_runs.json``: a
two-hour run through the stand-in and the bundled model's checkpoint, window after window with the
state carried, and the run so far at points during it (:mod:`edgekit.package.activity_fixtures`).

``Tests/HRVKitCoreTests/Fixtures/watch.json``: a seeded synthetic watch week
(:func:`edgekit.data.synth.cohort.generate` with the ``watch`` profile, a few subjects and days, each with a
UTC offset) as raw readings (beat times and gap flags; a few edited: a dropped beat, a timestamp
jump, a short reading), with what Python computes from them: per reading its inputs of the
``strain_reading`` type (``reading_windows``) and the newest one, and per subject the week's hourly
RMSSD in local clock hours (``hourly_rmssd`` with ``MIN_SLOT_DIFFS``) and the ``fatigue_slots``
input at each wake-up (``hourly_slots``). Swift must match within 1e-9.

``Tests/HRVKitCoreTests/Fixtures/baseline.json``: the personal baseline (edgekit.package.baseline_fixtures).

``Tests/HRVKitTests/Fixtures/predictions.json``: model inputs (windows cut from the fixtures and rows
of the held-out test set) and the PyTorch outputs on them, with the bundled variant's tolerance.

Everything here is deterministic (fixed seeds, no clocks), so the package renders byte-identically.
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.package.baseline_fixtures import baseline_constants, baseline_fixtures
from edgekit.core.errors import EdgekitError
from edgekit.package.activity_fixtures import StandInPredictor
from edgekit.tasks import task_for

TOLERANCE = 1e-9
FIXTURE_SEED = 20240611
EPOCH0 = 1_718_000_000.0  # a fixed UTC start (seconds since 1970) for the recordings


# ---------------------------------------------------------------------------------------------
# Python reference of the on-device steps that the data layer does not have itself


def rr_from_beats(times: list[float], gaps: list[bool]):
    """Beats → RR table exactly as Swift's ``RRSeries(beats:)``.

    Interval j is 1000 * (t_j - t_{j-1}) ms, ending at beat j. No interval spans a beat preceded by
    a gap or a beat with a non-finite time; each such break starts a new segment (numbered from 0,
    increasing only once an interval has been emitted).
    """
    from edgekit.data.rr import RRTable  # noqa: PLC0415

    rr, ts, segs = [], [], []
    seg = 0
    previous = None
    pending = False
    for t, gap in zip(times, gaps):
        if t is None or not math.isfinite(t):
            previous = None
            pending = True
            continue
        if previous is not None and not gap:
            if pending and rr:
                seg += 1
            pending = False
            rr.append((t - previous) * 1000.0)
            ts.append(t)
            segs.append(seg)
        elif previous is not None or gap:
            pending = True
        previous = t
    n = len(rr)
    return RRTable(np.array(["device"] * n, dtype=str), np.array(segs, np.int64), np.array(ts, np.float64),
                   np.array(rr, np.float64), np.zeros(n, np.int64))


def latest_window(table, n_beats: int, max_artifact_pct: float) -> dict:
    """The most recent acceptable beat window (Swift's ``Preprocessing.latestWindow``)."""
    from edgekit.data.rr import segment_bounds  # noqa: PLC0415
    from edgekit.data.signal.windows import beat_windows  # noqa: PLC0415

    X, _, starts, _ = beat_windows(table, n_beats, 1, max_artifact_pct)
    if len(X):
        s = int(starts[-1])
        return {"values": _floats(X[-1]), "end_time": _float(table.time_s[s + n_beats - 1])}
    b = segment_bounds(table.segment) if len(table) else np.array([0])
    longest = int(np.diff(b).max()) if len(table) else 0
    if longest < n_beats:
        return {"error": "not_enough_beats", "needed": n_beats, "found": longest}
    return {"error": "too_many_artifacts"}


def latest_hours(table, hours: int, max_artifact_pct: float) -> dict:
    """The most recent complete run of hourly RMSSD values (Swift's ``latestHourlyRMSSD``)."""
    from edgekit.data.signal.windows import hourly_rmssd, hourly_series  # noqa: PLC0415

    by = hourly_rmssd(table, max_artifact_pct)
    if not by:
        return {"error": "not_enough_history", "needed": hours, "found": 0}
    (h0, r), = by.values()
    X, _, ends, _ = hourly_series(by, hours, 1)  # every usable run; the last one is the latest
    if len(X):
        return {"values": _floats(X[-1]), "end_time": float(int(ends[-1]) * 3600.0)}
    best = run = 0
    for v in r:
        run = 0 if np.isnan(v) else run + 1
        best = max(best, run)
    return {"error": "not_enough_history", "needed": hours, "found": best}


# ---------------------------------------------------------------------------------------------
# recordings


def _rr_process(rng: np.random.Generator, n: int, mean_ms: float = 850.0, rsa_ms: float = 35.0,
                noise_ms: float = 12.0) -> np.ndarray:
    """A plausible resting RR series: respiratory sinus arrhythmia + slow drift + noise."""
    k = np.arange(n)
    resp = rsa_ms * np.sin(2 * np.pi * k / rng.uniform(3.5, 5.5))
    drift = 40.0 * np.sin(2 * np.pi * k / rng.uniform(60, 140) + rng.uniform(0, 6.28))
    return mean_ms + resp + drift + rng.normal(0, noise_ms, n)


def _beats_from_rr(rr_ms: np.ndarray, t0: float) -> list[float]:
    return [t0] + list(t0 + np.cumsum(rr_ms) / 1000.0)


def _recordings() -> list[tuple[str, list[float | None], list[bool], dict]]:
    rng = np.random.default_rng(FIXTURE_SEED)
    cases: list[tuple[str, list, list, dict]] = []

    def add(name, times, gaps=None, **params):
        gaps = list(gaps) if gaps is not None else [False] * len(times)
        cases.append((name, [None if t is None else float(t) for t in times], [bool(g) for g in gaps], params))

    # 1. clean resting recording
    rr = _rr_process(rng, 500)
    add("clean_rest", _beats_from_rr(rr, EPOCH0))

    # 2. gaps: precededByGap flags and a timestamp jump (becomes an out-of-bounds interval)
    rr = _rr_process(rng, 600, mean_ms=780)
    t = _beats_from_rr(rr, EPOCH0 + 3600)
    g = [False] * len(t)
    g[150] = True
    g[420] = True
    t = t[:300] + [x + 7.5 for x in t[300:]]
    add("gaps", t, g)

    # 3. ectopic beats: premature beat followed by a compensatory pause
    rr = _rr_process(rng, 600, mean_ms=900)
    for j in (80, 210, 330, 331 + 60, 500):
        rr[j] *= 0.62
        rr[j + 1] *= 1.38
    add("ectopic", _beats_from_rr(rr, EPOCH0 + 7200))

    # 4. missed beats: two (or three) intervals merged
    rr = list(_rr_process(rng, 620, mean_ms=820))
    for j in (500, 350, 200, 90):
        rr[j:j + 2] = [rr[j] + rr[j + 1]]
    rr[420:423] = [rr[420] + rr[421] + rr[422]]
    add("missed", _beats_from_rr(np.array(rr), EPOCH0 + 10800))

    # 5. extra beats: an interval split in two
    rr = list(_rr_process(rng, 600, mean_ms=950))
    for j in (70, 260, 261 + 100, 540):
        a = rr[j] * 0.37
        rr[j:j + 1] = [a, rr[j] - a]
    add("extra", _beats_from_rr(np.array(rr), EPOCH0 + 14400))

    # 6. out-of-bounds intervals (too short, too long) and a long pause
    rr = _rr_process(rng, 500, mean_ms=700)
    rr[[40, 41, 260]] = [150.0, 120.0, 2600.0]
    rr[400] = 4800.0
    add("out_of_bounds", _beats_from_rr(rr, EPOCH0 + 18000))

    # 7. noisy: many artifacts, windows excluded
    rr = _rr_process(rng, 500, mean_ms=760, noise_ms=25)
    idx = rng.choice(np.arange(5, 495), 45, replace=False)
    rr[idx] *= rng.choice([0.55, 1.6, 1.9], len(idx))
    add("noisy", _beats_from_rr(rr, EPOCH0 + 21600), max_artifact_pct=5.0)

    # 8. high heart rate with a tachycardia burst and an irregular stretch
    rr = _rr_process(rng, 500, mean_ms=520, rsa_ms=8, noise_ms=6)
    rr[200:260] = _rr_process(rng, 60, mean_ms=390, rsa_ms=3, noise_ms=3)
    rr[300:340] *= rng.uniform(0.8, 1.25, 40)
    add("fast_irregular", _beats_from_rr(rr, EPOCH0 + 25200))

    # 9. non-finite and out-of-order timestamps
    rr = _rr_process(rng, 300, mean_ms=830)
    t = _beats_from_rr(rr, EPOCH0 + 28800)
    t[60] = None
    t[61] = float("nan")
    t[150] = t[149] - 0.2  # a beat earlier than its predecessor
    t[230] = float("inf")
    add("bad_timestamps", t)

    # 10. tiny recordings
    add("empty", [])
    add("one_beat", [EPOCH0])
    add("two_beats", [EPOCH0, EPOCH0 + 0.8])
    add("three_beats_gap", [EPOCH0, EPOCH0 + 0.8, EPOCH0 + 1.6], [False, False, True])

    # 11. Malik edge: first interval far from the segment median
    rr = _rr_process(rng, 200, mean_ms=800)
    rr[0] = 1300.0
    add("malik_first_outlier", _beats_from_rr(rr, EPOCH0 + 32400))

    # 12. 30 hours of hourly spot measurements (about a minute each): hours 1 and 15 missing, one hour
    #     too short, one hour with heavy artifacts, then 26 good hours: hourly RMSSD, 24-hour series
    times: list[float | None] = []
    gaps: list[bool] = []
    h_start = math.floor(EPOCH0 / 3600.0) + 40
    for h in range(30):
        if h in (1, 15):
            continue  # no measurement this hour
        n = 25 if h == 2 else 100
        rr = _rr_process(rng, n, mean_ms=float(rng.uniform(700, 1000)), rsa_ms=float(rng.uniform(10, 50)), noise_ms=4.0)
        if h == 3:
            bad = rng.choice(np.arange(3, n - 3), 8, replace=False)
            rr[bad] *= 1.7
        t0 = (h_start + h) * 3600.0 + 600.0 + float(rng.uniform(0, 1200))
        beats = _beats_from_rr(rr, t0)
        times.extend(beats)
        gaps.extend([True] + [False] * (len(beats) - 1))
    add("hourly_30h", times, gaps, window_beats=64, window_stride=32, hours=24, stride_hours=1)

    # 13. the same recording cleaned with Malik's rule, with short series so several runs exist
    add("hourly_30h_malik", times, gaps, method="malik", window_beats=64, window_stride=32, hours=3, stride_hours=2)
    add("noisy_none", cases[6][1], cases[6][2], method="none")
    return cases


# ---------------------------------------------------------------------------------------------
# fixture documents


def _float(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _floats(a) -> list[float | None]:
    return [_float(v) for v in np.asarray(a, dtype=np.float64).tolist()]


def _table_doc(t, flags: bool = True) -> dict:
    doc = {"rr_ms": _floats(t.rr_ms), "time_s": _floats(t.time_s), "segment": [int(s) for s in t.segment]}
    if flags:
        doc["flags"] = [int(f) for f in t.flags]
    return doc


def core_fixtures() -> dict:
    """The Core fixture document (``core.json``)."""
    from edgekit.data.signal.clean import METHODS, clean  # noqa: PLC0415
    from edgekit.data.signal.features import time_domain  # noqa: PLC0415
    from edgekit.data.signal.windows import beat_windows, hourly_rmssd, hourly_series  # noqa: PLC0415
    from edgekit.core.zones import zone_of  # noqa: PLC0415

    docs = []
    for name, times, gaps, overrides in _recordings():
        params = {"method": "kubios", "min_rr_ms": 300.0, "max_rr_ms": 2000.0, "max_artifact_pct": 5.0,
                  "window_beats": 128, "window_stride": 64, "hours": 24, "stride_hours": 4}
        params.update(overrides)
        table = rr_from_beats(times, gaps)
        cleaned = {}
        for method in METHODS:
            res = clean(table, method, params["min_rr_ms"], params["max_rr_ms"])
            cleaned[method] = {
                "table": _table_doc(res.table),
                "n_in": int(res.n_in),
                "n_out_of_bounds": int(res.n_out_of_bounds),
                "counts": {k: int(v) for k, v in sorted(res.counts.items())},
                "segment_artifact_pct": _floats(res.segment_artifact_pct),
            }
        main = clean(table, params["method"], params["min_rr_ms"], params["max_rr_ms"]).table
        feats = time_domain(main.rr_ms, main.segment)
        X, seg, starts, n_ex = beat_windows(main, params["window_beats"], params["window_stride"],
                                            params["max_artifact_pct"])
        by = hourly_rmssd(main, params["max_artifact_pct"])
        hourly = None
        series = {"end": [], "X": []}
        if by:
            ((h0, r),) = by.values()
            hourly = {"first_hour": int(h0), "values": _floats(r)}
            HX, _, ends, _ = hourly_series(by, params["hours"], params["stride_hours"])
            series = {"end": [int(e) for e in ends], "X": [_floats(x) for x in HX]}
        docs.append({
            "name": name,
            "beats": {"time": [None if t is None or not math.isfinite(t) else t for t in times], "gap": gaps},
            "params": params,
            "rr": _table_doc(table, flags=False),
            "cleaned": cleaned,
            "features": {k: (_float(v) if isinstance(v, float) else float(v)) for k, v in sorted(feats.items())},
            "windows": {"X": [_floats(x) for x in X], "segment": [int(s) for s in seg],
                        "start": [int(s) for s in starts], "n_excluded": int(n_ex)},
            "hourly": hourly,
            "hourly_series": series,
            "latest_window": latest_window(main, params["window_beats"], params["max_artifact_pct"]),
            "latest_hourly": latest_hours(main, params["hours"], params["max_artifact_pct"]),
        })
    # Non-finite times are written as null; Swift reads null as NaN (a broken timestamp).
    scores = [100.0, 70.0, math.nextafter(70.0, 0.0), 69.5, 55.0, 40.0, math.nextafter(40.0, 0.0), 39.9, 0.0, -3.0, 120.0]
    zones = [[repr(s), zone_of(s)] for s in scores]
    return {"tolerance": TOLERANCE, "cases": docs, "zones": zones}


# ---------------------------------------------------------------------------------------------
# watch inputs (strain_reading, fatigue_slots) from a simulated watch week

WATCH_SUBJECTS = 3
WATCH_DAYS = 4
WATCH_UTC_OFFSETS = (0.0, 19800.0, -25200.0)  # UTC, +5:30 (half-hour zone), -7:00


def latest_reading(table, n_slots: int, min_beats: int, max_artifact_pct: float) -> dict:
    """The newest reading input of a cleaned table (Swift's ``Preprocessing.readingInput``)."""
    from edgekit.data.signal.windows import reading_units, reading_windows  # noqa: PLC0415

    X, _, starts, lens, n_excl = reading_windows(table, n_slots, min_beats, max_artifact_pct)
    if len(X):
        s, k = int(starts[-1]), int(lens[-1])
        return {"values": _floats(X[-1]), "end_time": _float(table.time_s[s + k - 1]), "beats": k}
    longest = max((sum(e - a for a, e in u) for u in reading_units(table)), default=0)
    if longest < min_beats or n_excl == 0:
        return {"error": "not_enough_beats", "needed": min_beats, "found": int(longest)}
    return {"error": "too_many_artifacts"}


def _watch_readings():
    """Per subject of a seeded synthetic watch cohort: its readings as (times, gaps) beat lists,
    with a few edits that exercise the reading rules (a dropped beat, a timestamp jump, a short
    reading)."""
    from edgekit.data.rr import segment_bounds  # noqa: PLC0415
    from edgekit.data.synth.cohort import generate  # noqa: PLC0415

    cohort = generate(subjects=WATCH_SUBJECTS, days=WATCH_DAYS, seed=FIXTURE_SEED % 1000, recordings=["watch"])
    t = cohort.table
    b = segment_bounds(t.segment)
    subjects: dict[str, list] = {}
    for a, e in zip(b[:-1].tolist(), b[1:].tolist()):
        first = float(t.time_s[a]) - float(t.rr_ms[a]) / 1000.0
        times = [first] + [float(x) for x in t.time_s[a:e]]
        subjects.setdefault(str(t.subject[a]), []).append((times, [False] * len(times)))
    edits = 0
    for readings in subjects.values():
        for k, (times, gaps) in enumerate(readings):
            if k % 5 == 1 and len(times) > 60:  # a dropped beat: two parts joined by one 0
                gaps[30] = True
                edits += 1
            elif k % 5 == 2 and len(times) > 60:  # a 7 s jump: removed by the bounds, two readings
                readings[k] = (times[:25] + [x + 7.0 for x in times[25:]], gaps)
                edits += 1
            elif k % 5 == 3:  # too short
                readings[k] = (times[:40], gaps[:40])
    if edits < 2:
        raise EdgekitError("watch fixture: the simulated readings are too short for the edits")
    return cohort, subjects


WATCH_MAX_ARTIFACT_PCT = 20.0  # data.max_artifact_pct of configs/hrv_reading.toml and hrv_slots.toml


def watch_settings(cfgs) -> tuple[dict, dict]:
    """Preprocessing of the watch model types: a built config of that type when one is packaged,
    otherwise edgekit's defaults with the watch configs' artifact limit (the models are not bundled)."""
    from edgekit.config.load import DataSection  # noqa: PLC0415
    from edgekit.models.params import FatigueSlotsConfig, StrainReadingConfig  # noqa: PLC0415

    d = DataSection()
    base = {"method": d.clean, "min_rr_ms": d.min_rr_ms, "max_rr_ms": d.max_rr_ms,
            "max_artifact_pct": WATCH_MAX_ARTIFACT_PCT}
    sr, fs = StrainReadingConfig(), FatigueSlotsConfig()
    reading = {**base, "input_length": sr.window_beats, "min_beats": sr.min_beats}
    slots = {**base, "input_length": fs.sequence_hours, "min_present_hours": fs.min_present_hours}
    for cfg in cfgs:
        data = {"method": cfg.data.clean, "min_rr_ms": cfg.data.min_rr_ms, "max_rr_ms": cfg.data.max_rr_ms,
                "max_artifact_pct": cfg.data.max_artifact_pct}
        p = task_for(cfg.model.type).params(cfg.model.params)  # a bundled watch model's own settings
        if isinstance(p, StrainReadingConfig):
            reading = {**data, "input_length": p.window_beats, "min_beats": p.min_beats}
        elif isinstance(p, FatigueSlotsConfig):
            slots = {**data, "input_length": p.sequence_hours, "min_present_hours": p.min_present_hours}
    return reading, slots


def watch_fixtures(reading: dict, slots: dict) -> dict:
    """The watch fixture document (``watch.json``): raw readings of a simulated watch week and the
    inputs Python's data layer computes from them (``reading_windows``; ``hourly_rmssd`` with
    ``MIN_SLOT_DIFFS`` and the UTC offset, then ``hourly_slots``) at every wake-up."""
    from edgekit.data.signal.clean import clean  # noqa: PLC0415
    from edgekit.data.signal.windows import MIN_SLOT_DIFFS, hourly_rmssd, hourly_slots, reading_windows  # noqa: PLC0415

    cohort, subjects = _watch_readings()
    docs = []
    for si, (name, readings) in enumerate(subjects.items()):
        offset = WATCH_UTC_OFFSETS[si % len(WATCH_UTC_OFFSETS)]
        rdocs = []
        for times, gaps in readings:
            cleaned = clean(rr_from_beats(times, gaps), reading["method"], reading["min_rr_ms"], reading["max_rr_ms"]).table
            X, _, starts, lens, n_excl = reading_windows(cleaned, reading["input_length"], reading["min_beats"],
                                                         reading["max_artifact_pct"])
            rdocs.append({"time": times, "gap": gaps,
                          "windows": {"X": [_floats(x) for x in X], "start": [int(s) for s in starts],
                                      "beats": [int(k) for k in lens], "n_excluded": int(n_excl)},
                          "latest": latest_reading(cleaned, reading["input_length"], reading["min_beats"],
                                                   reading["max_artifact_pct"])})
        # the week as one recording: no interval spans two readings (Swift's WatchInputs.joinedBeats)
        all_t = [x for times, _ in readings for x in times]
        all_g = [g or i == 0 for _, gaps in readings for i, g in enumerate(gaps)]
        week = clean(rr_from_beats(all_t, all_g), slots["method"], slots["min_rr_ms"], slots["max_rr_ms"]).table
        hr = hourly_rmssd(week, slots["max_artifact_pct"], MIN_SLOT_DIFFS, utc_offset_s=offset)
        hourly = None
        if hr:
            ((h0, r),) = hr.values()
            hourly = {"first_hour": int(h0), "values": _floats(r)}
        wakeups = []
        wake = int(cohort.wake_hour[si])
        day0 = math.floor(min(all_t) / 86400.0)
        for day in range(-2, WATCH_DAYS + 1):
            # a wake-up a few minutes into the local hour `wake` of each day (and two before any data: nothing present)
            time = (day0 + day) * 86400.0 + wake * 3600.0 + 420.0 + 60.0 * day - offset
            e = int(math.floor((time + offset) / 3600.0))
            x = hourly_slots(hr, "device", e, slots["input_length"])
            wakeups.append({"time": time, "end_hour": e, "values": _floats(x), "present": int((x > 0).sum())})
        docs.append({"subject": name, "utc_offset_s": offset, "readings": rdocs, "hourly": hourly,
                     "wakeups": wakeups})
    return {"tolerance": TOLERANCE, "reading": reading, "slots": slots, "subjects": docs}


def swift_constants() -> dict:
    """Constants of Python's cleaning and windowing, rendered into the Swift core."""
    from edgekit.config.load import DataSection  # noqa: PLC0415
    from edgekit.data.signal import clean as c  # noqa: PLC0415
    from edgekit.data import rr  # noqa: PLC0415
    from edgekit.data.signal import windows as w  # noqa: PLC0415

    passes = inspect.signature(c.correct_kubios).parameters["passes"].default
    if passes != 2:
        raise EdgekitError(f"edgekit.data.signal.clean.correct_kubios passes={passes}; the Swift port does 2")
    d = DataSection()
    return {
        "alpha": c.ALPHA, "c1": c.C1, "c2": c.C2, "qd_half_window": int(c.QD_HALF_WINDOW),
        "extra_tol": c.EXTRA_TOL, "ect_min_diff": c.ECT_MIN_DIFF,
        "med_half_window": int(c.MED_HALF_WINDOW), "th_floor_ms": c.TH_FLOOR_MS,
        "malik_fraction": c.MALIK_FRACTION, "min_hour_diffs": int(w.MIN_HOUR_DIFFS),
        "max_missing_hours": int(getattr(w, "MAX_MISSING_HOURS", 0)),
        "min_slot_diffs": int(w.MIN_SLOT_DIFFS), "min_reading_beats": int(w.MIN_READING_BEATS),
        "reading_join_s": float(w.READING_JOIN_S),
        "min_rr_ms": d.min_rr_ms, "max_rr_ms": d.max_rr_ms,
        "threshold_eps_ms": rr.THRESHOLD_EPS_MS,
        **baseline_constants(),
    }


def preprocessing(models, cfgs) -> dict:
    """Per role: cleaning settings and input length the bundled model was trained with."""
    from edgekit.config.load import DataSection  # noqa: PLC0415

    d = DataSection()
    out = {
        "classifier": {"method": d.clean, "min_rr_ms": d.min_rr_ms, "max_rr_ms": d.max_rr_ms,
                       "max_artifact_pct": d.max_artifact_pct, "input_length": 128, "encoding": ".beatWindow"},
        "forecaster": {"method": d.clean, "min_rr_ms": d.min_rr_ms, "max_rr_ms": d.max_rr_ms,
                       "max_artifact_pct": d.max_artifact_pct, "input_length": 24, "encoding": ".hourlyRun"},
    }
    for m, cfg in zip(models, cfgs):
        out[m.role] = {"method": cfg.data.clean, "min_rr_ms": cfg.data.min_rr_ms, "max_rr_ms": cfg.data.max_rr_ms,
                       "max_artifact_pct": cfg.data.max_artifact_pct, "input_length": m.input_length,
                       "encoding": m.swift_encoding}
    return out


# ---------------------------------------------------------------------------------------------
# workouts (the heart-rate-from-activity model)


def workout_constants() -> dict:
    """Constants of Python's workout resampling, rendered into the Swift core."""
    from edgekit.data.signal import workout_grid as g  # noqa: PLC0415

    return {"step_s": g.STEP_S, "max_hr_gap_s": g.MAX_HR_GAP_S, "max_route_gap_s": g.MAX_ROUTE_GAP_S,
            "speed_window_s": g.SPEED_WINDOW_S, "altitude_window_s": g.ALTITUDE_WINDOW_S,
            "grade_window_s": g.GRADE_WINDOW_S, "min_run_m": g.MIN_RUN_M, "grade_limit": g.GRADE_LIMIT,
            "earth_radius_m": g.EARTH_RADIUS_M}


def activity_settings(models, cfgs) -> dict:
    """Window, step and default context of the bundled activity model (edgekit's defaults without one)."""
    from edgekit.config.load import DataSection  # noqa: PLC0415
    from edgekit.models.params import HRActivityConfig  # noqa: PLC0415

    p = HRActivityConfig()
    out = {"window_steps": p.window_steps, "step_s": p.step_s, "context_minutes": DataSection().context_minutes}
    for m, _cfg in zip(models, cfgs):
        if m.role == "regressor":
            out = {"window_steps": m.input_length, "step_s": m.step_s, "context_minutes": m.context_minutes}
    return out


def _truncate(w, seconds: float, drop: tuple[float, float] | None = None):
    """``w`` cut to its first ``seconds`` (route points in ``drop`` seconds after the start removed)."""
    import dataclasses  # noqa: PLC0415

    end = w.start_s + seconds
    keep = w.route_t_s <= end
    if drop is not None:
        rel = w.route_t_s - w.start_s
        keep &= ~((rel > drop[0]) & (rel < drop[1]))
    hk = w.hr_t_s <= end
    return dataclasses.replace(w, end_s=float(min(end, w.end_s)), route_t_s=w.route_t_s[keep], lat_deg=w.lat_deg[keep],
                               lon_deg=w.lon_deg[keep], altitude_m=w.altitude_m[keep], speed_mps=w.speed_mps[keep],
                               hr_t_s=w.hr_t_s[hk], hr_bpm=w.hr_bpm[hk], meta={}, route_extra={})


def _workouts() -> list[tuple[str, Any, float]]:
    """(name, workout, context minutes) of every fixture workout."""
    from edgekit.data.synth.workouts import generate_runner  # noqa: PLC0415
    from edgekit.data.workouts import Workout  # noqa: PLC0415

    import dataclasses  # noqa: PLC0415

    def runner(index: int, sampling: str):
        return generate_runner(index, seed=5, workouts_per_runner=12, hr_sampling=sampling, route_step_s=2.0)

    def first(ws, seconds: float, device_speed: bool):
        """The first workout of at least ``seconds`` without a pause, with or without device speed."""
        return next(w for w in ws if w.duration_s >= seconds and w.meta["device_speed"] == device_speed
                    and not any(a["kind"].startswith("pause") for a in w.meta["artifacts"]))

    dense0, sparse0 = runner(0, "dense"), runner(0, "sparse")
    dense1, sparse2 = runner(1, "dense"), runner(2, "sparse")
    flat = first(dense1, 900.0, False)
    cases = [
        # dense HR, device speed; two windows
        ("dense_device_speed", _truncate(first(dense0, 2400.0, True), 2400.0), 5.0),
        # sparse HR (about a minute apart: gaps), GPS speed, a 90 s GPS gap
        ("sparse_gps_speed_gap", _truncate(first(sparse0, 2100.0, False), 2100.0, drop=(1200.0, 1290.0)), 5.0),
        # dense HR, GPS speed, a short run in one padded window
        ("dense_gps_short", _truncate(first(dense0, 1200.0, False), 1200.0), 2.5),
        # no altitude: no grade (read as flat)
        ("no_altitude", _truncate(dataclasses.replace(flat, altitude_m=np.full(len(flat.altitude_m), np.nan)), 900.0),
         5.0),
        # sparse HR, device speed, context longer than a window (35 min)
        ("sparse_device_speed_long_context", first(sparse2, 2400.0, True), 35.0),
    ]
    rng = np.random.default_rng(FIXTURE_SEED)
    t0 = EPOCH0 + 86400.0
    # device speed without positions: distance integrated from speed; 0.75 min = 4.5 steps (ties to even)
    n = 301
    rt = t0 + np.arange(n) * 2.0
    speed = np.clip(2.8 + 0.5 * np.sin(np.arange(n) / 20.0) + rng.normal(0, 0.05, n), 0, None)
    speed[120:135] = np.nan  # a 30 s stretch without speed
    alt = 40.0 + np.cumsum(np.nan_to_num(speed) * 0.03 * np.sin(np.arange(n) / 40.0)) * 2.0
    lat = np.full(n, np.nan)
    lat[10] = 47.0  # one position only
    lon = np.full(n, np.nan)
    lon[10] = 8.0
    hr_t = t0 + np.arange(0, 600, 5.0)
    cases.append(("device_speed_without_positions", Workout(
        "speed-only", "fixture", "run", t0, t0 + 600.0, rt, lat, lon, alt, speed, hr_t,
        140.0 + 10.0 * np.sin(np.arange(len(hr_t)) / 15.0)), 0.75))
    # messy: unsorted, duplicate times, NaN times and values, standing still (grade 0), an HR gap
    n = 200
    rt = t0 + np.arange(n) * 2.0 + rng.uniform(-0.4, 0.4, n)
    north = np.cumsum(np.where((np.arange(n) > 60) & (np.arange(n) < 110), 0.0, 6.0))  # 100 s standing still
    lat = 46.5 + north / 111_195.0
    lon = np.full(n, 7.25) + rng.normal(0, 2e-6, n)
    alt = 500.0 + 0.02 * north + rng.normal(0, 0.3, n)
    rt[[5, 6]] = rt[4]  # duplicates: the first is kept
    rt[20] = np.nan
    lat[30] = np.nan
    alt[40] = np.nan
    order = rng.permutation(n)
    hr_t = t0 + np.sort(rng.uniform(0, 400, 70))
    hr_t = hr_t[(hr_t < t0 + 150) | (hr_t > t0 + 260)]  # a 110 s gap
    hr_v = 120.0 + rng.normal(0, 3, len(hr_t))
    hr_v[3] = np.nan
    cases.append(("messy_unsorted", Workout(
        "messy", "fixture", "run", t0, t0 + 395.0, rt[order], lat[order], lon[order], alt[order],
        np.full(n, np.nan), hr_t[::-1], hr_v[::-1]), 5.0))
    cases.append(("empty", Workout("empty", "fixture", "run", t0, t0 + 60.0, *(np.zeros(0),) * 5,
                                   np.zeros(0), np.zeros(0)), 5.0))
    return cases


def workout_fixtures(window_steps: int, step_s: float) -> dict:
    """The workout fixture document (``workouts.json``)."""
    from edgekit.data.signal.workout_grid import to_grid, windows  # noqa: PLC0415
    from edgekit.tasks.activity import predict_workout  # noqa: PLC0415

    stride = max(1, window_steps // 2)
    docs = []
    for name, w, context_minutes in _workouts():
        grid = to_grid(w, step_s=step_s)
        win = windows(grid, window_steps, stride)
        model = StandInPredictor(window_steps)
        result = predict_workout(model, w, window_steps, step_s, context_minutes)
        T = len(grid)
        X = np.asarray([v["input"] for v in model.windows])  # the run's windows, as Swift cuts them
        pred = np.concatenate([v["bpm"] for v in model.windows])[:T]
        valid = windows(grid, window_steps, window_steps).valid.reshape(-1)[:T]
        expected = np.where(valid, pred, np.nan)
        recorded = np.asarray(grid.hr_bpm, np.float64)
        ctx = int(round(context_minutes * 60.0 / step_s))
        scored = np.isfinite(recorded) & np.isfinite(expected) & (np.arange(T) >= ctx)
        if int(scored.sum()) != result["n_scored_steps"]:
            raise EdgekitError(f"workout fixture {name}: scoring differs from predict_workout")
        docs.append({
            "name": name,
            "context_minutes": context_minutes,
            "samples": {
                "start": w.start_s, "end": w.end_s,
                "route": {"t": _floats(w.route_t_s), "lat": _floats(w.lat_deg), "lon": _floats(w.lon_deg),
                          "alt": _floats(w.altitude_m), "speed": _floats(w.speed_mps)},
                "hr": {"t": _floats(w.hr_t_s), "bpm": _floats(w.hr_bpm)},
            },
            "grid": {"start": grid.start_s, "step_s": grid.step_s, "speed": _floats(grid.speed_mps),
                     "grade": _floats(grid.grade), "hr": _floats(grid.hr_bpm),
                     "device_speed_steps": grid.meta["device_speed_steps"],
                     "gps_speed_steps": grid.meta["gps_speed_steps"]},
            "windows": {"steps": window_steps, "stride": stride, "start_step": [int(s) for s in win.start_step],
                        "speed": [_floats(r) for r in win.speed_mps], "grade": [_floats(r) for r in win.grade],
                        "hr": [_floats(r) for r in win.hr_bpm], "valid": [[bool(v) for v in r] for r in win.valid]},
            "inputs": [_floats(x.reshape(-1)) for x in X],
            "states": [_floats(v["state_out"]) for v in model.windows],
            "comparison": {
                "context_steps": ctx, "expected": _floats(expected), "n_scored": int(scored.sum()),
                "mae": result["mae_bpm"],
                "mean_difference": float(np.mean(recorded[scored] - expected[scored])) if scored.any() else None,
            },
        })
    return {"tolerance": TOLERANCE, "window_steps": window_steps, "step_s": step_s, "cases": docs}


def prediction_fixtures(models, cfgs, build_dir: Path, core: dict, workouts: dict | None = None) -> dict:
    """Model inputs and PyTorch outputs (``predictions.json``)."""
    import torch  # noqa: PLC0415

    from edgekit.models.checkpoint import load_checkpoint  # noqa: PLC0415

    docs = []
    for m, cfg in zip(models, cfgs):
        model_dir = build_dir / cfg.name
        module, _meta = load_checkpoint(model_dir / "train" / "model.pt", task_for)
        inputs: list[np.ndarray] = []
        n = m.input_length
        # windows cut by the same data layer from the fixture recordings
        if m.role == "classifier":
            for case in core["cases"]:
                cleaned = case["cleaned"][case["params"]["method"]]["table"]["rr_ms"]
                if len(cleaned) >= n and len(inputs) < 6:
                    inputs.append(np.array(cleaned[-n:], dtype=np.float64))
        elif m.role == "regressor":
            # whole-workout inputs cut by the same data layer from the workout fixtures
            width = n * m.input_channels
            for case in (workouts or {}).get("cases", []):
                for x in case["inputs"]:
                    if len(x) == width and len(inputs) < 4 and any(v for v in x[2::3]):
                        inputs.append(np.array(x, dtype=np.float64))
        else:
            for case in core["cases"]:
                vals = case["latest_hourly"].get("values")
                if vals and len(vals) == n:
                    inputs.append(np.array(vals, dtype=np.float64))
        test_path = model_dir / "train" / "test_set.npz"
        if test_path.is_file():
            with np.load(test_path, allow_pickle=False) as z:
                X = np.asarray(z["X"], dtype=np.float64)
            if X.ndim == 3 and m.input_channels == 1:
                X = X[..., 0]
            elif X.ndim == 3 and X.shape[1:] == (n, m.input_channels):
                X = X.reshape(len(X), -1)
            if X.ndim == 2 and X.shape[1] == n * m.input_channels and len(X):
                pick = np.linspace(0, len(X) - 1, min(8, len(X))).round().astype(int)
                inputs.extend(X[i] for i in sorted(set(pick.tolist())))
        if not inputs:  # a deterministic fallback input
            rng = np.random.default_rng(FIXTURE_SEED)
            if m.role == "regressor":
                steps = np.arange(n)
                inputs.append(np.stack([2.8 + 0.3 * np.sin(steps / 9.0), 0.02 * np.cos(steps / 17.0),
                                        np.where(steps < 30, 145.0, 0.0)], axis=1).reshape(-1))
            else:
                base = 850.0 if m.role == "classifier" else 45.0
                inputs.append(base + rng.normal(0, base * 0.05, n))
        batch = torch.tensor(np.stack(inputs).astype(np.float32)).reshape(len(inputs), n, m.input_channels)
        with torch.no_grad():
            out = module(batch)
        out = out.detach().cpu().numpy().astype(np.float64).reshape(len(inputs), -1)
        if m.role == "classifier" and out.shape[1] != len(m.labels):
            raise EdgekitError(f"{cfg.name}: torch output has {out.shape[1]} classes, model has {len(m.labels)} labels")
        docs.append({
            "name": m.name, "role": m.role, "variant": m.variant, "input_length": n,
            "input_channels": m.input_channels,
            "labels": list(m.labels), "tolerance": m.tolerance,
            "inputs": [[float(np.float32(v)) for v in x] for x in inputs],
            "expected": [[float(v) for v in row] for row in out],
        })
    return {"models": docs}


def build_fixtures(models, cfgs, build_dir: Path) -> dict:
    """Every fixture document, keyed by its path in the package (template-relative names)."""
    core = core_fixtures()
    activity = activity_settings(models, cfgs)
    workouts = workout_fixtures(activity["window_steps"], activity["step_s"])
    from edgekit.package.activity_fixtures import activity_run_fixtures  # noqa: PLC0415

    return {
        "Tests/HRVKitCoreTests/Fixtures/core.json": core,
        "Tests/HRVKitCoreTests/Fixtures/workouts.json": workouts,
        "Tests/HRVKitTests/Fixtures/activity_runs.json": activity_run_fixtures(
            models, cfgs, Path(build_dir), activity["window_steps"], activity["step_s"]),
        "_workout_constants": workout_constants(),
        "_activity": activity,
        "Tests/HRVKitTests/Fixtures/predictions.json": prediction_fixtures(models, cfgs, Path(build_dir), core, workouts),
        "Tests/HRVKitCoreTests/Fixtures/watch.json": watch_fixtures(*watch_settings(cfgs)),
        "Tests/HRVKitCoreTests/Fixtures/baseline.json": baseline_fixtures(),
        "_constants": swift_constants(),
        "_preprocessing": preprocessing(models, cfgs),
    }
