"""SYNTHETIC running-workout population (default pretraining data of the heart-rate-from-activity model).

Everything this module produces is simulated: the research population data cannot be downloaded
here. The model, its parameters and their sources are described in docs/synthetic_workouts.md; keep
the two in step. Every :class:`~edgekit.data.workouts.Workout` carries ``meta["synthetic"] = True``.
Runners: :mod:`.runners`; heart rate: :mod:`.heart_response`; JSON lines: :mod:`.workout_jsonl`.

Outline
-------
- **Runners** differ in fitness (threshold speed ``v_T``: the speed above which a slow component
  appears, a proxy of VO2max / lactate threshold), age (HRmax = 208 - 0.7 age, Tanaka, Monahan &
  Seals 2001, plus an individual offset: the equation's prediction error is 7-11 bpm, Robergs &
  Landwehr 2002), resting HR, a personal HR gain and kinetics, and their sensor (optical wrist or
  chest strap) and GPS.
- **Fitness evolves** over the calendar years: ``ln v_T(t)`` = level + a per-runner trend + a
  seasonal cycle - a detraining dip after an optional break (loss and regain time course after
  Coyle et al. 1984). Resting HR, HRmax (with age) and the HR gain follow, so a model fitted to a
  runner's 2019-2024 workouts sees a different speed -> HR relation in 2025.
- **Workouts** (easy, long, tempo, intervals, hill repeats) are planned as target speeds relative to
  ``v_T``; the route has an altitude profile (rolling terrain along the distance run, or the same
  hill up and down); speed follows the plan, slows partly uphill, and carries noise and short stops.
  GPS positions integrate the speed (so speed can be derived from them) plus correlated GPS error.
- **Heart rate** (:func:`~edgekit.data.synth.heart_response.true_hr`, one value per second): effort from
  grade-adjusted speed, a delayed response with slow component and drift (:mod:`.heart_response`).
- **Sensors**: chest strap (small noise, rare dropouts) or optical wrist (larger correlated noise,
  lag, more dropouts, cadence lock: the reading follows step cadence for minutes). HR is sampled
  densely (~ every 5 s) or sparsely (~ once a minute, like 2019-21 Apple Watch workouts).

Determinism: runner i's draws come from ``SeedSequence(seed, spawn_key=(i, ...))`` only, so the
same seed gives bit-identical workouts whatever the chunk size, and the first N runners of a larger
population are the N-runner population. The HR sampling mode and the route step change only which
samples are kept, never the simulated physiology.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import numpy as np
from scipy.signal import lfilter

from edgekit.data.synth import workout_plans
from edgekit.data.workouts import Workout
from edgekit.data.synth.heart_response import MINETTI_COEF, minetti_cost, true_hr
from edgekit.data.synth.runners import DAY_S, Runner, _runner_rng, _years_span, runner_params

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG); the one GPS positions are converted with
KINDS = workout_plans.KINDS
KIND_P = workout_plans.KIND_P
STRAP_CONTACT_P = 0.25  # chest-strap workouts whose first minutes read low (dry electrodes; design choice)

GPS_NOISE_TAU_S = 15.0  # GPS position error: two-pole low-passed white noise (smooth at 1 s)

# --- Sampling ----------------------------------------------------------------------------------------
DENSE_HR_S = 5.0  # dense HR: one sample every ~5 s (0.8-1.2 x)
SPARSE_HR_S = 60.0  # sparse HR: one sample every ~60 s (0.6-1.4 x), like 2019-21 Apple Watch workouts
SPARSE_UNTIL_YEAR = 2021  # hr_sampling="by_year": sparse up to and including this year, dense after
HR_SAMPLING_MODES = ("dense", "sparse", "by_year", "mixed")
MAX_WORKOUTS_PER_RUNNER = 100_000  # workout ids are (runner + 1) * 100000 + k


# ----------------------------------------------------------------------------------------------------
# Workouts


def _ar1(rng: np.random.Generator, n: int, sd: float, tau_s: float) -> np.ndarray:
    """Stationary AR(1) noise with standard deviation ``sd`` and correlation time ``tau_s`` (1 s steps)."""
    if n == 0 or sd == 0.0:
        return np.zeros(n)
    rho = math.exp(-1.0 / tau_s)
    e = rng.normal(0.0, sd * math.sqrt(1.0 - rho * rho), n)
    e[0] = rng.normal(0.0, sd)
    return lfilter([1.0], [1.0, -rho], e)


def _smooth_noise(rng: np.random.Generator, n: int, sd: float, tau_s: float) -> np.ndarray:
    """Stationary noise with standard deviation ``sd`` from white noise through two first-order
    poles of time constant ``tau_s``: smooth at the 1 s scale, like a receiver's filtered GPS error."""
    if n == 0 or sd == 0.0:
        return np.zeros(n)
    rho = math.exp(-1.0 / tau_s)
    warm = int(10 * tau_s)  # the filters start at rest: drop their transient
    scale = sd * math.sqrt((1.0 - rho * rho) ** 3 / (1.0 + rho * rho))
    x = lfilter([1.0], [1.0, -2.0 * rho, rho * rho], rng.normal(0.0, scale, n + warm))
    return x[warm:]


def _smooth(x: np.ndarray, tau_s: float) -> np.ndarray:
    """First-order low-pass (time constant ``tau_s``) starting from x[0]."""
    if len(x) == 0:
        return x
    a = 1.0 - math.exp(-1.0 / tau_s)
    y, _ = lfilter([a], [1.0, a - 1.0], x, zi=[(1.0 - a) * x[0]])
    return y


def _terrain(rng: np.random.Generator, hilliness: float):
    """Rolling terrain along the distance run: grade(s) = sum_j g_j cos(2 pi s / L_j + phi_j)."""
    lam = rng.uniform(300.0, 2500.0, 3)
    amp = hilliness * rng.uniform(0.004, 0.02, 3)
    phi = rng.uniform(0.0, 2 * np.pi, 3)

    def grade(s: np.ndarray) -> np.ndarray:
        out = np.zeros_like(s)
        for j in range(3):
            out += amp[j] * np.cos(2 * np.pi * s / lam[j] + phi[j])
        return np.clip(out, -0.3, 0.3)

    return grade


def _events(rng: np.random.Generator, n: int, rate_per_h: float, lo_s: float, hi_s: float,
            allowed: np.ndarray | None = None, count: int | None = None) -> list[tuple[int, int]]:
    """Random [start, end) second ranges of U(lo, hi) seconds starting at ``allowed`` seconds:
    ``count`` of them, or Poisson(rate x duration) many."""
    k = int(rng.poisson(rate_per_h * n / 3600.0)) if count is None else int(count)
    starts = rng.random(k)
    lens = rng.uniform(lo_s, hi_s, k)
    cand = np.flatnonzero(allowed) if allowed is not None else np.arange(n)
    out = []
    if len(cand) == 0:
        return out
    for s, ln in zip(starts, lens):
        a = int(cand[int(s * len(cand))])
        out.append((a, min(n, a + int(round(ln)))))
    return out


def _runs_of(m: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True in ``m``."""
    edges = np.diff(np.concatenate([[0], m.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def _mask(n: int, ranges: list[tuple[int, int]]) -> np.ndarray:
    m = np.zeros(n, dtype=bool)
    for a, b in ranges:
        m[a:b] = True
    return m


def _sample_times(rng: np.random.Generator, n: int, interval_s: float, jitter: float) -> np.ndarray:
    """Integer seconds in [0, n) about ``interval_s`` apart (x U(1 - jitter, 1 + jitter))."""
    m = int(n / (interval_s * (1.0 - jitter))) + 2
    steps = interval_s * rng.uniform(1.0 - jitter, 1.0 + jitter, m)
    t = rng.uniform(0.0, interval_s) + np.concatenate([[0.0], np.cumsum(steps[:-1])])
    idx = _unique_sorted(np.round(t).astype(np.int64))  # t increases: the rounded times never decrease
    return idx[idx < n]


def _unique_sorted(a: np.ndarray) -> np.ndarray:
    """``np.unique(a)`` of an array already in non-decreasing order: its first element and each one
    that differs from its predecessor (no sort: np.unique hashed ~3500 values in ~0.2 ms, twice per workout)."""
    if len(a) < 2:
        return a.copy()
    return a[np.concatenate([[True], a[1:] != a[:-1]])]


def _hr_interval(hr_sampling, year: int, coin: float) -> tuple[str, float, float]:
    """(label, mean interval s, jitter) of the HR samples of one workout."""
    if isinstance(hr_sampling, (int, float)) and not isinstance(hr_sampling, bool):
        return f"every {float(hr_sampling):g} s", float(hr_sampling), 0.2
    mode = hr_sampling
    if mode == "by_year":
        mode = "sparse" if year <= SPARSE_UNTIL_YEAR else "dense"
    elif mode == "mixed":
        mode = "sparse" if coin < 0.5 else "dense"
    return (mode, SPARSE_HR_S, 0.4) if mode == "sparse" else (mode, DENSE_HR_S, 0.2)


def _check_sampling(hr_sampling, route_step_s: float) -> None:
    if isinstance(hr_sampling, bool) or not (
            hr_sampling in HR_SAMPLING_MODES
            or (isinstance(hr_sampling, (int, float)) and math.isfinite(hr_sampling) and hr_sampling >= 1.0)):
        raise ValueError(f"hr_sampling must be one of {', '.join(HR_SAMPLING_MODES)} or a number of "
                         f"seconds >= 1, got {hr_sampling!r}")
    if not (math.isfinite(route_step_s) and route_step_s >= 1.0):
        raise ValueError(f"route_step_s must be >= 1, got {route_step_s!r}")


def _to_lat_lon(north: np.ndarray, east: np.ndarray, lat0_deg: float, lon0_deg: float):
    """Latitude and longitude (radians) of local north/east offsets (m) from (lat0, lon0).

    Longitude steps use the latitude reached, so great-circle distances between consecutive points
    give back the distances moved."""
    lat = np.radians(lat0_deg) + north / EARTH_RADIUS_M
    lon = np.radians(lon0_deg) + np.cumsum(np.diff(east, prepend=0.0) / (EARTH_RADIUS_M * np.cos(lat)))
    return lat, lon


def _workout_dates(rng: np.random.Generator, runner: Runner, n: int, t1: float) -> np.ndarray:
    """``n`` sorted dates (UTC epoch s) uniform over the years, none inside the break."""
    t0 = runner.t0_s
    u = np.sort(rng.random(n))
    if math.isfinite(runner.break_start_s):
        b0, b1 = runner.break_start_s, runner.break_end_s
        active = (t1 - t0) - (b1 - b0)
        x = t0 + u * active
        return np.where(x < b0, x, x + (b1 - b0))
    return t0 + u * (t1 - t0)


def _simulate(runner: Runner, k: int, start_s: float, kind: str, seed: int, hr_sampling,
              route_step_s: float, with_truth: bool) -> Workout:
    """One workout of ``runner`` starting at ``start_s``."""
    r_plan, r_route, r_sensor, r_sample = (_runner_rng(seed, runner.index, k + 1, part) for part in range(4))
    p = runner.hr_params_at(start_s)
    v_t = p.v_threshold_mps
    year = time.gmtime(start_s).tm_year

    # --- speed and grade per second -------------------------------------------------------------
    pl = workout_plans.plan(kind, v_t, r_plan, easy=runner.easy_fraction, walk_mps=runner.walk_mps,
                            walk_run_mps=runner.walk_run_mps)
    pl = workout_plans.add_pauses(pl, _runner_rng(seed, runner.index, k + 1, 4))
    vt, gfix, mode, stops_ok, walking, pause = pl.speed, pl.grade, pl.mode, pl.stops_ok, pl.walking, pl.pause
    n = len(vt)
    for a, b in _events(r_plan, n, 4.0, 10.0, 45.0, stops_ok):  # traffic lights, shoelaces
        vt[a:b] = np.where(stops_ok[a:b], 0.0, vt[a:b])
    hilly = {"intervals": 0.15, "trail": workout_plans.TRAIL_HILLINESS}.get(kind, 1.0)
    terrain = _terrain(r_plan, runner.hilliness * hilly)
    noise = 1.0 + _ar1(r_plan, n, 0.03, 30.0)
    jitter = r_plan.normal(0.0, 0.04, n)
    free = np.isnan(gfix)
    moving = vt > 0.0
    v = _smooth(vt, 3.0)
    for _ in range(3):  # speed depends on the terrain grade at the distance reached: fixed point
        s = np.concatenate([[0.0], np.cumsum(v[:-1])])
        grade = np.where(free, terrain(s), gfix)
        # steep climbs are hiked (on trails above the runner's hiking grade, anywhere above 0.2)
        hike = free & moving & (grade > (runner.hike_grade if kind == "trail" else 0.2))
        walk = walking | hike
        target = np.where(hike, runner.walk_mps * np.clip(1.0 - 3.0 * (grade - runner.hike_grade), 0.5, 1.0), vt)
        vs = _smooth(target, 3.0)
        run_slow = np.sqrt(MINETTI_COEF[-1] / minetti_cost(grade))
        walk_slow = np.clip(np.sqrt(0.5 / workout_plans.walking_cost_ratio(grade)), 0.5, 1.2)
        slow_down = np.where(free & ~hike, np.where(walk, walk_slow, run_slow), 1.0)
        v = np.where(vs < 0.2, 0.0, np.maximum((noise * vs + jitter) * slow_down, 0.0))
    s = np.concatenate([[0.0], np.cumsum(v[:-1])])
    grade = np.where(free, terrain(s), np.nan_to_num(gfix))
    walking = walk & (v > 0.0)
    alt = runner.home_alt_m + r_route.uniform(-20.0, 20.0) + np.concatenate([[0.0], np.cumsum((v * grade)[:-1])])

    # --- route: heading, positions, GPS error ---------------------------------------------------
    dtheta = r_route.normal(0.0, 0.015, n)
    for a, b in _events(r_route, n, 15.0, 3.0, 6.0):  # street corners: +-(45..90) degrees over a few s
        dtheta[a:b] += r_route.choice([-1.0, 1.0]) * r_route.uniform(np.pi / 4, np.pi / 2) / (b - a)
    theta = r_route.uniform(0.0, 2 * np.pi) + np.cumsum(dtheta)
    hill_heading = r_route.uniform(0.0, 2 * np.pi)
    theta = np.where(mode == 1, hill_heading, np.where(mode == 2, hill_heading + np.pi, theta))
    north = np.concatenate([[0.0], np.cumsum((v * np.cos(theta))[:-1])])
    east = np.concatenate([[0.0], np.cumsum((v * np.sin(theta))[:-1])])
    lat0 = runner.home_lat_deg + r_route.normal(0.0, 0.01)
    lon0 = runner.home_lon_deg + r_route.normal(0.0, 0.01)
    err_n = _smooth_noise(r_route, n, runner.gps_noise_m, GPS_NOISE_TAU_S)
    err_e = _smooth_noise(r_route, n, runner.gps_noise_m, GPS_NOISE_TAU_S)
    lat_rad, lon_rad = _to_lat_lon(north + err_n, east + err_e, lat0, lon0)
    device_speed = r_route.random() < runner.device_speed_prob
    dev_v = np.maximum(v + _ar1(r_route, n, 0.08, 5.0), 0.0)
    alt_present = r_route.random() >= 0.03
    alt_meas = alt + r_route.normal(0.0, 3.0) + _ar1(r_route, n, 0.7, 120.0)
    gps_gaps = _events(r_route, n, 0.3, 10.0, 60.0)

    # --- heart rate: truth, sensor, samples -----------------------------------------------------
    hr0 = p.hr_rest_bpm + r_sensor.uniform(10.0, 60.0)  # HR when the watch starts: after the way out
    parts = true_hr(v, grade, p, hr0_bpm=hr0, components=True, walking=walking)
    hr = parts["hr_bpm"]
    sensor = runner.sensor if r_sensor.random() >= 0.1 else ("chest" if runner.sensor == "optical" else "optical")
    artifacts = []
    if sensor == "chest":
        m1 = hr + r_sensor.normal(0.0, 1.0, n)
        drops = _events(r_sensor, n, 0.3, 5.0, 40.0)
        if r_sensor.random() < STRAP_CONTACT_P:  # dry electrodes: the first minutes read a low, steady value
            c = min(n, int(r_sensor.uniform(60.0, 360.0)))
            m1[:c] = r_sensor.uniform(50.0, 90.0) + r_sensor.normal(0.0, 2.0, c)
            artifacts.append({"kind": "strap_contact", "start_s": start_s, "end_s": start_s + c})
    else:
        lagged = _smooth(np.concatenate([np.full(2, hr[0]), hr[:-2]]) if n > 2 else hr, runner.optical_tau_s)
        m1 = lagged + _ar1(r_sensor, n, 2.5, 8.0)
        drops = _events(r_sensor, n, 1.5, 10.0, 120.0)
        if r_sensor.random() < 0.3:  # cadence lock: the optical reading follows the step rate
            cadence = np.clip(150.0 + 7.0 * _smooth(v, 10.0) + runner.cadence_offset_spm, 140.0, 200.0)
            episodes = 1 + int(r_sensor.poisson(0.5))
            for a, b in _events(r_sensor, n, 0.0, 60.0, 300.0, v > 2.5, count=episodes):
                m1[a:b] = cadence[a:b] + r_sensor.normal(0.0, 1.5, b - a)
                artifacts.append({"kind": "cadence_lock", "start_s": start_s + a, "end_s": start_s + b})
    artifacts += [{"kind": "hr_dropout", "start_s": start_s + a, "end_s": start_s + b} for a, b in drops]
    artifacts += [{"kind": "gps_gap", "start_s": start_s + a, "end_s": start_s + b} for a, b in gps_gaps]
    m1 = np.clip(np.round(m1), 30.0, 240.0)  # devices report whole beats per minute
    label, interval, jitter = _hr_interval(hr_sampling, year, r_sample.random())
    hidx = _sample_times(r_sample, n, interval, jitter)
    paused = pause == 2  # the watch paused: no route or HR samples
    hidx = hidx[~(_mask(n, drops) | paused)[hidx]]
    ridx = _unique_sorted(np.round(np.arange(0.0, n, route_step_s)).astype(np.int64))
    ridx = ridx[(ridx < n) & ~(_mask(n, gps_gaps) | paused)[ridx]]
    artifacts += [{"kind": "pause_recorded" if pause[a] == 1 else "pause_unrecorded", "start_s": start_s + a,
                   "end_s": start_s + b} for a, b in _runs_of(pause > 0)]

    meta = {
        "synthetic": True, "seed": int(seed), "runner_index": runner.index, "workout_index": int(k),
        "kind": kind, "year": int(year), "sensor": sensor, "hr_sampling": label,
        "runner_fitness": float(v_t),  # threshold speed v_T (m/s) on the day
        "age_years": float(runner.age_at(start_s)), "hr_rest_bpm": float(p.hr_rest_bpm),
        "hr_max_bpm": float(p.hr_max_bpm), "gain_bpm_per_mps": float(p.gain_bpm_per_mps),
        "device_speed": bool(device_speed), "altitude": bool(alt_present), "artifacts": artifacts,
    }
    if with_truth:
        meta["truth"] = {"t_s": start_s + np.arange(n, dtype=np.float64), "speed_mps": v, "grade": grade,
                         "walking": walking,
                         "altitude_m": alt, "effort_mps": parts["effort_mps"], "hr_bpm": hr,
                         "hr_sensor_bpm": m1}
        true_lat, true_lon = _to_lat_lon(north, east, lat0, lon0)  # without the GPS error
        meta["truth"].update(lat_deg=np.degrees(true_lat), lon_deg=np.degrees(true_lon))
    return Workout(
        workout_id=str((runner.index + 1) * MAX_WORKOUTS_PER_RUNNER + k), runner=runner.name, sport="run",
        start_s=float(start_s), end_s=float(start_s + n),
        route_t_s=start_s + ridx.astype(np.float64),
        lat_deg=np.degrees(lat_rad[ridx]), lon_deg=np.degrees(lon_rad[ridx]),
        altitude_m=alt_meas[ridx] if alt_present else np.full(len(ridx), np.nan),
        speed_mps=dev_v[ridx] if device_speed else np.full(len(ridx), np.nan),
        hr_t_s=start_s + hidx.astype(np.float64), hr_bpm=m1[hidx],
        source=f"synthetic workouts seed {seed}: runner {runner.index}, workout {k}", meta=meta,
    )


def generate_runner(runner_index: int, seed: int = 7, workouts_per_runner: int = 40,
                    years: tuple[int, int] = (2019, 2025), hr_sampling="dense", route_step_s: float = 1.0,
                    with_truth: bool = False, profile: dict | None = None) -> list[Workout]:
    """All workouts of one runner, in time order (deterministic in ``seed`` and ``runner_index``).

    ``hr_sampling``: ``"dense"`` (~5 s), ``"sparse"`` (~60 s), ``"by_year"`` (sparse up to
    SPARSE_UNTIL_YEAR, dense after), ``"mixed"`` (each workout one or the other) or a number of
    seconds. ``route_step_s``: seconds between route points (>= 1). ``with_truth``: put the 1 s
    ground truth (speed, grade, altitude, effort, true and sensor HR, positions) in
    ``meta["truth"]``. ``profile``: :class:`Runner` field overrides (see :func:`runner_params`).
    """
    _check_sampling(hr_sampling, route_step_s)
    if not 0 <= workouts_per_runner <= MAX_WORKOUTS_PER_RUNNER:
        raise ValueError(f"workouts_per_runner must be in 0..{MAX_WORKOUTS_PER_RUNNER}")
    runner = runner_params(runner_index, seed, years, profile)
    _, t1 = _years_span(years)
    rng = _runner_rng(seed, runner_index, 0)
    dates = _workout_dates(rng, runner, workouts_per_runner, t1)
    kind_p = workout_plans.RUN_WALKER_KIND_P if runner.run_walker else KIND_P
    kinds = rng.choice(len(KINDS), size=workouts_per_runner, p=kind_p)
    hours = rng.uniform(6.0, 20.0, workouts_per_runner)
    off = runner.utc_offset_h * 3600.0
    out: list[Workout] = []
    prev_end = -math.inf
    for k in range(workouts_per_runner):
        midnight = math.floor((dates[k] + off) / DAY_S) * DAY_S - off  # local midnight, in UTC
        start = max(round(midnight + hours[k] * 3600.0), prev_end + 3600.0)
        w = _simulate(runner, k, float(start), KINDS[int(kinds[k])], seed, hr_sampling, route_step_s, with_truth)
        prev_end = w.end_s
        out.append(w)
    return out


def iter_population(n_runners: int = 24, workouts_per_runner: int = 40, seed: int = 7,
                    years: tuple[int, int] = (2019, 2025), hr_sampling="dense", chunk_runners: int = 8,
                    route_step_s: float = 1.0, with_truth: bool = False,
                    profile: dict | None = None) -> Iterator[list[Workout]]:
    """Yield the population's workouts a chunk of ``chunk_runners`` runners at a time, in order
    (runner 0's workouts first, each runner's in time order).

    Memory grows with ``chunk_runners`` x ``workouts_per_runner``, never with ``n_runners``; the
    workouts are bit-identical for any ``chunk_runners`` (each runner has its own seed sequence).
    Arguments as :func:`generate_runner`; ``profile`` applies to every runner.
    """
    if n_runners < 0:
        raise ValueError("n_runners must be >= 0")
    if chunk_runners < 1:
        raise ValueError("chunk_runners must be >= 1")
    _check_sampling(hr_sampling, route_step_s)
    _years_span(years)
    for r0 in range(0, n_runners, chunk_runners):
        chunk: list[Workout] = []
        for r in range(r0, min(n_runners, r0 + chunk_runners)):
            chunk.extend(generate_runner(r, seed, workouts_per_runner, years, hr_sampling, route_step_s,
                                         with_truth, profile))
        yield chunk


# ----------------------------------------------------------------------------------------------------
# FitRec-style JSON lines


