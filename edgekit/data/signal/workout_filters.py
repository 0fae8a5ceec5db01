"""Quality filters for workouts, after the FitRec research's (sport = run, complete HR in
50-220 bpm, valid GPS, a minimum length, no NaN), with a count per filter.

The filters run in a fixed order and a workout is counted under the first one it fails, so the
counts read as a table from ``read`` down to ``kept`` (like the seeds' 260k -> 13k). Speed is not
required by default: the research lost most workouts by requiring the device's ``speed`` field,
while resampling derives speed from GPS (``require_speed=True`` reproduces that loss).
"""

from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np

from edgekit.data.signal.workout_grid import haversine_m
from edgekit.data.workouts import Workout

RUN_SPORTS = frozenset({"run", "running"})  # FitRec says "run", Apple/TCX/FIT "running"
FILTERS = ("sport", "hr_missing", "hr_range", "gps", "length", "nan", "speed")
HR_MIN_BPM = 50.0
HR_MAX_BPM = 220.0
MIN_DURATION_S = 600.0
MIN_POINTS = 60
MAX_GPS_SPEED_MPS = 15.0  # faster than any runner (a sprint world record averages 10.4 m/s)


def quality_reason(w: Workout, *, sports: Iterable[str] = RUN_SPORTS, hr_min_bpm: float = HR_MIN_BPM,
                   hr_max_bpm: float = HR_MAX_BPM, min_duration_s: float = MIN_DURATION_S,
                   min_points: int = MIN_POINTS, max_gps_speed_mps: float | None = MAX_GPS_SPEED_MPS,
                   require_speed: bool = False, strict: bool = True) -> str | None:
    """The first filter ``w`` fails (a name of FILTERS), or None when it passes them all:

    ``strict`` (the research set's filters) refuses any missing value; ``strict=False`` (training,
    where resampling marks gaps absent) checks positions and values where they are given and
    needs only finite times:

    - ``sport``: ``w.sport`` is not in ``sports``;
    - ``hr_missing``: fewer than 2 HR samples;
    - ``hr_range``: a finite HR sample outside [hr_min_bpm, hr_max_bpm];
    - ``gps``: fewer than 2 route points, a latitude/longitude missing (NaN) or out of range, a
      point at (0, 0), no movement at all, or two consecutive points implying more than
      ``max_gps_speed_mps`` (None: no speed check);
    - ``length``: shorter than ``min_duration_s`` or fewer than ``min_points`` route points;
    - ``nan``: a non-finite route time, altitude, HR time or HR value;
    - ``speed`` (only with ``require_speed``): a route point without the device's speed.
    """
    if w.sport.lower() not in set(sports):
        return "sport"
    hr = np.asarray(w.hr_bpm, np.float64)
    if len(hr) < 2:
        return "hr_missing"
    fin = hr[np.isfinite(hr)]
    if np.any((fin < hr_min_bpm) | (fin > hr_max_bpm)):
        return "hr_range"
    lat = np.asarray(w.lat_deg, np.float64)
    lon = np.asarray(w.lon_deg, np.float64)
    t = np.asarray(w.route_t_s, np.float64)
    if not strict:
        pos = np.isfinite(lat) & np.isfinite(lon)
        lat, lon, t = lat[pos], lon[pos], t[pos]
    if len(lat) < 2 or not np.all(np.isfinite(lat) & np.isfinite(lon)):
        return "gps"
    if np.any(np.abs(lat) > 90) or np.any(np.abs(lon) > 180) or np.any((lat == 0) & (lon == 0)):
        return "gps"
    d = haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:])
    if not np.any(d > 0):
        return "gps"
    if max_gps_speed_mps is not None:
        dt = np.diff(t)
        with np.errstate(invalid="ignore", divide="ignore"):
            if np.any((dt > 0) & (d / np.where(dt > 0, dt, 1.0) > max_gps_speed_mps)):
                return "gps"
    if not w.duration_s >= min_duration_s or len(t) < min_points:
        return "length"
    for a in ((t, w.altitude_m, w.hr_t_s, hr) if strict else (w.route_t_s, w.hr_t_s)):
        if not np.all(np.isfinite(np.asarray(a, np.float64))):
            return "nan"
    if require_speed and not np.all(np.isfinite(np.asarray(w.speed_mps, np.float64))):
        return "speed"
    return None


def filter_workouts(workouts: Iterable[Workout], counts: dict, **kw) -> Iterator[Workout]:
    """Stream the workouts that pass :func:`quality_reason` (keyword arguments as there), filling
    ``counts`` as they go: ``read``, one count per filter in FILTERS, ``kept``."""
    for k in ("read", *FILTERS, "kept"):
        counts.setdefault(k, 0)
    for w in workouts:
        counts["read"] += 1
        why = quality_reason(w, **kw)
        if why is None:
            counts["kept"] += 1
            yield w
        else:
            counts[why] += 1


def quality_filter(workouts: Iterable[Workout], **kw) -> tuple[list[Workout], dict]:
    """The workouts that pass the filters (in input order) and the counts of
    :func:`filter_workouts`: ``read`` = the sum of the filter counts + ``kept``."""
    counts: dict = {}
    kept = list(filter_workouts(workouts, counts, **kw))
    return kept, counts
