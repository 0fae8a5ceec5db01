"""Resampling a :class:`Workout` to a fixed time grid, and cutting grids into fixed-length windows.

Normative for the Swift port (docs/data.md, section "Workouts", says the same in prose): every
step below is elementwise float64 arithmetic in the order written, so a port matches to 1e-9.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from edgekit.data.workouts import Workout, WorkoutGrid

STEP_S = 10.0
MAX_HR_GAP_S = 60.0  # HR is interpolated across gaps up to this long, else NaN
MAX_ROUTE_GAP_S = 60.0  # route points further apart than this: the steps between are unknown (NaN)
SPEED_WINDOW_S = 20.0  # GPS speed: centred difference of distance over about this span
ALTITUDE_WINDOW_S = 30.0  # altitude: centred moving average over about this span
GRADE_WINDOW_S = 60.0  # grade: centred difference of smoothed altitude over distance, about this span
MIN_RUN_M = 10.0  # grade needs at least this much horizontal distance in its window, else 0
GRADE_LIMIT = 0.45  # |grade| is clipped here: the range of Minetti et al. 2002's cost of running
EARTH_RADIUS_M = 6371008.8  # mean Earth radius (IUGG), for the haversine distance


def haversine_m(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance (m) on a sphere of radius EARTH_RADIUS_M, elementwise, degrees in."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dp / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2.0) ** 2
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


def half_width(window_s: float, step_s: float) -> int:
    """Steps each side of a centred window: max(1, floor(window_s / (2 step_s) + 0.5))."""
    return max(1, int(math.floor(window_s / (2.0 * step_s) + 0.5)))


def _samples(t: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Samples with a finite time and value, in time order (stable); of several samples at the same
    time only the first is kept."""
    t = np.asarray(t, np.float64)
    y = np.asarray(y, np.float64)
    ok = np.isfinite(t) & np.isfinite(y)
    t, y = t[ok], y[ok]
    order = np.argsort(t, kind="stable")
    t, y = t[order], y[order]
    if len(t) > 1:
        keep = np.concatenate([[True], t[1:] != t[:-1]])
        t, y = t[keep], y[keep]
    return t, y


def interp_gapped(t: np.ndarray, y: np.ndarray, x: np.ndarray, max_gap_s: float) -> np.ndarray:
    """``y`` sampled at times ``t`` (cleaned by :func:`_samples`), read at times ``x``.

    At a sample's time: its value. Between samples i and i+1 with ``t[i+1] - t[i] <= max_gap_s``:
    ``y[i] + (y[i+1] - y[i]) * (x - t[i]) / (t[i+1] - t[i])``. Elsewhere (a longer gap, before the
    first or after the last sample, no samples): NaN.
    """
    t, y = _samples(t, y)
    x = np.asarray(x, np.float64)
    out = np.full(len(x), np.nan)
    if len(t) == 0:
        return out
    i = np.searchsorted(t, x, side="right") - 1  # last sample at or before x
    inside = (i >= 0) & (x <= t[-1])
    exact = inside & (t[np.clip(i, 0, len(t) - 1)] == x)
    out[exact] = y[i[exact]]
    between = inside & ~exact
    j = i[between]
    t0, t1 = t[j], t[j + 1]
    y0, y1 = y[j], y[j + 1]
    xb = x[between]
    val = y0 + (y1 - y0) * (xb - t0) / (t1 - t0)
    out[between] = np.where(t1 - t0 <= max_gap_s, val, np.nan)
    return out


def _runs(ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each index, the first and last index of the run of True values holding it (-1 outside)."""
    n = len(ok)
    first = np.full(n, -1, np.int64)
    last = np.full(n, -1, np.int64)
    if n == 0:
        return first, last
    edges = np.diff(np.concatenate([[0], ok.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    for a, b in zip(starts, ends):
        first[a:b + 1] = a
        last[a:b + 1] = b
    return first, last


def centred_difference(v: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray]:
    """``(v[hi] - v[lo], hi - lo)`` per index k with ``lo = max(k - h, a)``, ``hi = min(k + h, b)``
    clamped to the run [a, b] of finite values holding k (a one-sided difference at a run's ends);
    NaN and 0 where v[k] is NaN."""
    ok = np.isfinite(v)
    a, b = _runs(ok)
    k = np.arange(len(v))
    lo = np.where(ok, np.maximum(k - h, a), 0)
    hi = np.where(ok, np.minimum(k + h, b), 0)
    d = np.where(ok, v[hi] - v[lo], np.nan)
    return d, np.where(ok, hi - lo, 0)


def centred_mean(v: np.ndarray, h: int) -> np.ndarray:
    """Mean of ``v[k-m .. k+m]`` with ``m = min(h, k - a, b - k)`` inside the run [a, b] of finite
    values holding k: the window shrinks symmetrically at a run's ends, so a linear trend is
    unchanged. NaN where v[k] is NaN. Summed left to right."""
    ok = np.isfinite(v)
    a, b = _runs(ok)
    k = np.arange(len(v))
    m = np.where(ok, np.minimum(h, np.minimum(k - a, b - k)), 0)
    s = np.zeros(len(v))
    for j in range(-h, h + 1):  # left to right; an excluded term adds 0.0, which changes no sum
        kj = np.clip(k + j, 0, max(len(v) - 1, 0))
        s = s + np.where(ok & (abs(j) <= m), v[kj], 0.0)
    return np.where(ok, s / (2 * m + 1), np.nan)


def to_grid(workout: Workout, step_s: float = STEP_S, max_hr_gap_s: float = MAX_HR_GAP_S, *,
            max_route_gap_s: float = MAX_ROUTE_GAP_S, speed_window_s: float = SPEED_WINDOW_S,
            altitude_window_s: float = ALTITUDE_WINDOW_S, grade_window_s: float = GRADE_WINDOW_S) -> WorkoutGrid:
    """Resample a workout to steps ``t_k = start_s + k * step_s``, ``k = 0 .. T-1``,
    ``T = floor((end_s - start_s) / step_s + 1e-9) + 1``.

    - **Distance** D_k (m): the cumulative haversine distance of the route points with a position,
      read at t_k by :func:`interp_gapped` (gaps up to ``max_route_gap_s``). Without two positions:
      the device speed integrated by the trapezoid rule along each run of finite grid speeds.
    - **Speed** (m/s): the device's speed where it gave one (route speeds read at t_k by
      :func:`interp_gapped`; not smoothed again: watches already filter it), else the GPS speed
      ``(D_hi - D_lo) / ((hi - lo) * step_s)`` of :func:`centred_difference` with
      ``h = half_width(speed_window_s, step_s)`` — a centred moving average of the point-to-point
      speed over ``2 h`` steps (20 s at 10 s steps), one-sided at the ends of a run. NaN where
      neither is known (no route data within ``max_route_gap_s``).
    - **Grade** (rise / run): altitude read at t_k (gaps up to ``max_route_gap_s``), smoothed by
      :func:`centred_mean` with ``half_width(altitude_window_s, step_s)``; then over the run of
      steps where smoothed altitude and distance are both finite, :func:`centred_difference` of
      each with ``half_width(grade_window_s, step_s)``: ``grade = rise / run`` when
      ``run >= MIN_RUN_M`` (10 m), else 0 (standing still); clipped to ±0.45 (GRADE_LIMIT).
      NaN where altitude or distance is unknown.
    - **HR** (bpm): the HR samples read at t_k by :func:`interp_gapped` with ``max_hr_gap_s``: NaN
      across longer gaps and outside the recorded span, never invented.

    Samples with equal times: the first is kept. Outputs are float32; ``meta`` counts the steps
    whose speed came from the device and from GPS.
    """
    if not step_s > 0:
        raise ValueError(f"step_s must be positive, got {step_s}")
    span = workout.end_s - workout.start_s
    if not (math.isfinite(span) and span >= 0):
        raise ValueError(f"workout {workout.workout_id}: end_s before start_s or not finite")
    T = int(math.floor(span / step_s + 1e-9)) + 1
    tk = workout.start_s + np.arange(T, dtype=np.float64) * step_s

    rt = np.asarray(workout.route_t_s, np.float64)
    lat = np.asarray(workout.lat_deg, np.float64)
    lon = np.asarray(workout.lon_deg, np.float64)
    pos = np.isfinite(rt) & np.isfinite(lat) & np.isfinite(lon)
    pt, plat, plon = rt[pos], lat[pos], lon[pos]
    order = np.argsort(pt, kind="stable")
    pt, plat, plon = pt[order], plat[order], plon[order]
    if len(pt) > 1:
        keep = np.concatenate([[True], pt[1:] != pt[:-1]])
        pt, plat, plon = pt[keep], plat[keep], plon[keep]

    v_dev = interp_gapped(rt, workout.speed_mps, tk, max_route_gap_s)
    if len(pt) >= 2:
        cum = np.concatenate([[0.0], np.cumsum(haversine_m(plat[:-1], plon[:-1], plat[1:], plon[1:]))])
        D = interp_gapped(pt, cum, tk, max_route_gap_s)
    else:
        D = _integrate_runs(v_dev, step_s)
    h = half_width(speed_window_s, step_s)
    dd, dn = centred_difference(D, h)
    with np.errstate(invalid="ignore", divide="ignore"):
        v_gps = np.where(dn > 0, dd / (dn * step_s), np.nan)
    use_dev = np.isfinite(v_dev)
    speed = np.where(use_dev, v_dev, v_gps)

    alt = interp_gapped(rt, workout.altitude_m, tk, max_route_gap_s)
    alt_s = centred_mean(alt, half_width(altitude_window_s, step_s))
    both = np.isfinite(alt_s) & np.isfinite(D)
    hg = half_width(grade_window_s, step_s)
    rise, _ = centred_difference(np.where(both, alt_s, np.nan), hg)
    run, n = centred_difference(np.where(both, D, np.nan), hg)
    with np.errstate(invalid="ignore", divide="ignore"):
        grade = np.where(run >= MIN_RUN_M, rise / run, 0.0)
    grade = np.where(both, np.clip(grade, -GRADE_LIMIT, GRADE_LIMIT), np.nan)

    hr = interp_gapped(workout.hr_t_s, workout.hr_bpm, tk, max_hr_gap_s)
    meta = {"device_speed_steps": int(use_dev.sum()), "gps_speed_steps": int((~use_dev & np.isfinite(v_gps)).sum()),
            "max_hr_gap_s": float(max_hr_gap_s), "max_route_gap_s": float(max_route_gap_s)}
    return WorkoutGrid(workout_id=workout.workout_id, runner=workout.runner, start_s=float(workout.start_s),
                       step_s=float(step_s), speed_mps=speed.astype(np.float32), grade=grade.astype(np.float32),
                       hr_bpm=hr.astype(np.float32), meta=meta)


def _integrate_runs(v: np.ndarray, step_s: float) -> np.ndarray:
    """Cumulative trapezoid integral of ``v`` restarting at 0 at each run of finite values; NaN
    outside runs."""
    out = np.full(len(v), np.nan)
    acc = None
    for k in range(len(v)):
        if not np.isfinite(v[k]):
            acc = None
            continue
        acc = 0.0 if acc is None else acc + step_s * (v[k - 1] + v[k]) / 2.0
        out[k] = acc
    return out


@dataclass
class WorkoutWindows:
    """Fixed-length windows of one grid: arrays of shape (N, steps).

    Mask convention (normative): window i holds grid steps ``start_step[i] + j``, j = 0..steps-1.
    ``valid[i, j]`` is True iff that step exists in the grid (not padding) and its speed is finite;
    an unknown grade (no altitude: a GPX without elevation, gaps in it) reads as 0 (flat). Where
    ``valid`` is False, ``speed_mps`` and ``grade`` are 0.0 (so a model input never holds NaN). ``hr_bpm`` is the grid's HR (NaN = absent) on existing steps and NaN on
    padding: a step is a training target or calibration context iff ``valid & isfinite(hr_bpm)``.
    """

    workout_id: str
    runner: str
    step_s: float
    start_step: np.ndarray  # (N,) int64 index of each window's first step in the grid
    speed_mps: np.ndarray  # (N, steps) float32
    grade: np.ndarray  # (N, steps) float32
    hr_bpm: np.ndarray  # (N, steps) float32
    valid: np.ndarray  # (N, steps) bool
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(len(self.start_step))


def windows(grid: WorkoutGrid, steps: int, stride: int | None = None) -> WorkoutWindows:
    """Cut a grid of T steps into windows of ``steps`` steps starting every ``stride`` steps
    (default ``steps``: no overlap): N = 1 when T <= steps, else ``1 + ceil((T - steps) / stride)``;
    window i starts at step ``i * stride``. The last window runs past the grid's end when the
    stride does not land on it, and a grid shorter than ``steps`` gives one window: the steps
    beyond the grid are padding (see :class:`WorkoutWindows` for the mask). Every grid step is in
    at least one window."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    stride = steps if stride is None else stride
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    T = len(grid)
    n = 1 if T <= steps else 1 + -(-(T - steps) // stride)
    start = np.arange(n, dtype=np.int64) * stride
    idx = start[:, None] + np.arange(steps, dtype=np.int64)[None, :]
    exists = idx < T
    safe = np.minimum(idx, max(T - 1, 0))
    sp = np.where(exists, grid.speed_mps[safe], np.nan) if T else np.full(idx.shape, np.nan)
    gr = np.where(exists, grid.grade[safe], np.nan) if T else np.full(idx.shape, np.nan)
    hr = np.where(exists, grid.hr_bpm[safe], np.nan) if T else np.full(idx.shape, np.nan)
    valid = exists & np.isfinite(sp)
    return WorkoutWindows(workout_id=grid.workout_id, runner=grid.runner, step_s=grid.step_s, start_step=start,
                          speed_mps=np.where(valid, sp, 0.0).astype(np.float32),
                          grade=np.where(valid & np.isfinite(gr), gr, 0.0).astype(np.float32),
                          hr_bpm=hr.astype(np.float32), valid=valid, meta={"grid_steps": T})
