"""Fixtures of the personal baseline for HRVKit's tests (``Tests/HRVKitCoreTests/Fixtures/baseline.json``),
computed by Python's :mod:`edgekit.data.signal.baseline`; Swift's ``PersonalBaseline`` must match within 1e-9.

- ``series``: daily ln RMSSD series (``null`` = a day without a value) — the hand-computed cases of
  tests/test_baseline.py (a 7-day ramp, a gap day, too few days, the normal range and the words) and
  a seeded 90-day series with gaps — with every figure per day.
- ``readings``: raw readings (beat times and gap flags) of a seeded simulated Apple Watch month
  (:func:`edgekit.data.synth.cohort.generate`, ``watch`` profile) and of a 12-minute continuous recording,
  under several UTC offsets and windows, with each reading's RMSSD after cleaning
  (:func:`edgekit.data.signal.baseline.reading_values`) and the whole :class:`~edgekit.data.signal.baseline.BaselineResult`.

Deterministic (fixed seeds, no clocks), so the package renders byte-identically.
"""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np

from edgekit.data.signal import baseline as bl

SEED = 20240611
T0 = 1_718_000_000.0  # a fixed UTC start (seconds since 1970)


def baseline_constants() -> dict:
    """The baseline's constants rendered into HRVKitCore's ``BaselineConstants``."""
    return {"baseline_reading_s": bl.READING_S, "baseline_max_artifact_pct": bl.MAX_ARTIFACT_PCT,
            "baseline_rolling_days": bl.ROLLING_DAYS, "baseline_min_rolling_days": bl.MIN_ROLLING_DAYS,
            "baseline_normal_range_days": bl.NORMAL_RANGE_DAYS,
            "baseline_min_normal_range_days": bl.MIN_NORMAL_RANGE_DAYS, "baseline_swc_factor": bl.SWC_FACTOR}


def _num(v) -> float | None:
    return None if v is None or not math.isfinite(float(v)) else float(v)


def _day_doc(d: bl.BaselineDay) -> dict:
    doc = asdict(d)
    doc.pop("missing")
    doc.pop("date")
    return doc


def _series_cases() -> list[dict]:
    rng = np.random.default_rng(SEED)
    noisy = rng.normal(3.6, 0.25, 90)
    noisy[rng.random(90) < 0.3] = np.nan
    noisy[40:47] = np.nan  # a week without readings: the 7-day figures vanish, the range stays
    cases = {
        "ramp_7_days": [3.0, 3.1, 3.2, 3.3, 3.4, 3.5, 3.6],
        "gap_day": [3.5, 3.6, 3.4, 3.5, None, 3.7, 3.3, 3.6, 3.5],
        "too_few_days": [3.2, None, None, None, None, 3.4],
        "normal_range_and_words": [3.4, 3.6] * 7 + [3.0, 3.0, 3.0],
        "seeded_90_days_with_gaps": [None if not math.isfinite(v) else float(v) for v in noisy],
    }
    out = []
    for k, (name, values) in enumerate(cases.items()):
        x = np.array([np.nan if v is None else v for v in values], float)
        counts = np.where(np.isfinite(x), 1 + (np.arange(len(x)) % 3), 0)
        days = bl.baseline_days(bl.DailyValues(19000 + 100 * k, x, counts))
        out.append({"name": name, "first_day": 19000 + 100 * k, "values": [_num(v) for v in x.tolist()],
                    "counts": [int(c) for c in counts], "days": [_day_doc(d) for d in days]})
    return out


def _watch_month() -> list[tuple[list[float], list[bool]]]:
    """Readings of one simulated Apple Watch wearer over 20 days: (beat times, gap flags) each."""
    from edgekit.data.rr import segment_bounds
    from edgekit.data.synth.cohort import generate

    cohort = generate(subjects=1, days=20, seed=SEED % 997, recordings=["watch"])
    t = cohort.table
    b = segment_bounds(t.segment)
    out = []
    for a, e in zip(b[:-1].tolist(), b[1:].tolist()):
        times = [float(t.time_s[a]) - float(t.rr_ms[a]) / 1000.0] + [float(x) for x in t.time_s[a:e]]
        out.append(([round(x, 6) for x in times], [False] * len(times)))
    return out


def _long_recording() -> list[tuple[list[float], list[bool]]]:
    """A 12-minute continuous recording at 02:00 UTC with a 4 s break and an ectopic pair (one
    reading, cut into one-minute pieces)."""
    rng = np.random.default_rng(SEED + 1)
    n = 900
    rr = 820.0 + 40.0 * np.sin(2 * np.pi * np.arange(n) / 4.5) + rng.normal(0, 15, n)
    rr[300] -= 250.0
    rr[301] += 250.0
    start = math.floor(T0 / 86400.0) * 86400.0 + 2 * 3600.0
    times = list(start + np.concatenate([[0.0], np.cumsum(rr) / 1000.0]))
    gaps = [False] * len(times)
    half = len(times) // 2
    times[half:] = [x + 4.0 for x in times[half:]]
    gaps[half] = True
    return [([round(x, 6) for x in times], gaps)]


def _readings_case(name: str, recording: str, readings, utc_offset_s: float, window: str) -> dict:
    from edgekit.data.signal.clean import clean
    from edgekit.package.swift_fixtures import rr_from_beats

    all_t = [x for times, _ in readings for x in times]
    all_g = [g or i == 0 for _, gaps in readings for i, g in enumerate(gaps)]
    settings = {"method": "kubios", "min_rr_ms": 300.0, "max_rr_ms": 2000.0, "max_artifact_pct": bl.MAX_ARTIFACT_PCT}
    table = clean(rr_from_beats(all_t, all_g), settings["method"], settings["min_rr_ms"], settings["max_rr_ms"]).table
    values = bl.reading_values(table, settings["max_artifact_pct"])
    result = bl.baseline_of_readings(values, "device", utc_offset_s, window)
    return {"name": name, "recording": recording, "utc_offset_s": utc_offset_s, "window": window, "settings": settings,
            "expected_readings": {"start_time": values.start_time_s.tolist(), "end_time": values.end_time_s.tolist(),
                                  "beats": values.beats.tolist(), "rmssd_ms": values.rmssd_ms.tolist(),
                                  "ln_rmssd": values.ln_rmssd.tolist()},
            "reading_count": result.n_readings, "days": [_day_doc(d) for d in result.days]}


def baseline_fixtures() -> dict:
    """The baseline fixture document (``baseline.json``)."""
    month = _watch_month()
    recordings = {"watch_month": month, "long_recording": _long_recording(), "watch_first_readings": month[:5]}
    cases = [_readings_case("watch_month_night_utc", "watch_month", month, 0.0, "night"),
             _readings_case("watch_month_night_ist", "watch_month", month, 19800.0, "night"),
             _readings_case("watch_month_all_pst", "watch_month", month, -28800.0, "all"),
             _readings_case("watch_month_morning_utc", "watch_month", month, 0.0, "morning"),
             _readings_case("long_recording_night", "long_recording", recordings["long_recording"], 0.0, "night"),
             _readings_case("no_reading_in_window", "watch_first_readings", recordings["watch_first_readings"],
                            43200.0, "night")]
    if not cases[-1]["days"] == [] or not cases[0]["days"] or not any(d["trend"] for d in cases[0]["days"]):
        raise ValueError("baseline fixture: the simulated month no longer exercises the cases")
    return {"tolerance": 1e-9, "windows": {k: list(v) for k, v in bl.WINDOWS.items()}, "series": _series_cases(),
            "recordings": {k: [{"time": t, "gap": g} for t, g in v] for k, v in recordings.items()}, "cases": cases}
