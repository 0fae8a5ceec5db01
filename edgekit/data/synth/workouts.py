"""SYNTHETIC running-workout population (default pretraining data of the heart-rate-from-activity model).

Everything this module produces is simulated: the research population data cannot be downloaded
here. The model, its parameters and their sources are described in docs/synthetic_workouts.md; keep
the two in step. Every :class:`~edgekit.data.workouts.Workout` carries ``meta["synthetic"] = True``.

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
- **Heart rate** (:func:`true_hr`, one value per second): effort = grade-adjusted speed
  ``u = v C(i) / C(0)`` with Minetti et al. (2002)'s energy cost of running on gradient i,
  ``C(i) = 155.4 i^5 - 30.4 i^4 - 43.3 i^3 + 46.3 i^2 + 19.5 i + 3.6`` J/kg/m (|i| <= 0.45).
  HR - HR_rest is the sum of
  (1) a first-order response to ``u`` delayed by a dead time, steady-state gain ~ 24.2 bpm per m/s
  and time constant ~ 57.6 s (Hunt, Fankhauser & Saengsuwan 2015, the nominal model used by Hunt &
  Fankhauser 2016), rising faster than it falls (a design choice, see the doc);
  (2) a parallel slower first-order component carrying a fraction of the same gain (values a design
  choice; second-order models with fast and slow phases fit HR better than first-order ones, and
  Hunt & Wang 2024 found a first order with dead time plus a parallel component fits best);
  (3) a slow component above ``v_T`` (the VO2 slow component, Jones et al. 2011);
  (4) cardiac drift after ~10 min of prolonged exercise (Coyle & Gonzalez-Alonso 2001);
  above 90 % of the heart-rate reserve the sum bends smoothly towards HRmax, and it is clipped to
  [HR_rest, HRmax].
- **Sensors**: chest strap (small noise, rare dropouts) or optical wrist (larger correlated noise,
  lag, more dropouts, cadence lock: the reading follows step cadence for minutes). HR is sampled
  densely (~ every 5 s) or sparsely (~ once a minute, like 2019-21 Apple Watch workouts).

Determinism: runner i's draws come from ``SeedSequence(seed, spawn_key=(i, ...))`` only, so the
same seed gives bit-identical workouts whatever the chunk size, and the first N runners of a larger
population are the N-runner population. The HR sampling mode and the route step change only which
samples are kept, never the simulated physiology.
"""

from __future__ import annotations

import calendar
import json
import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
from scipy.signal import lfilter

from edgekit.data.synth import workout_plans
from edgekit.data.workouts import Workout
from edgekit.core.fileio import atomic_path

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG); the one GPS positions are converted with
DAY_S = 86_400.0
YEAR_S = 365.2425 * DAY_S

# --- Energy cost of running on gradients: Minetti et al. (2002), J Appl Physiol 93:1039 ----------
MINETTI_COEF = (155.4, -30.4, -43.3, 46.3, 19.5, 3.6)  # C(i) in J/kg/m, i = rise/run, highest power first
MINETTI_MAX_GRADE = 0.45  # the polynomial's range (treadmill slopes -0.45 .. +0.45)

# --- Heart-rate kinetics (docs/synthetic_workouts.md, "Heart-rate model") --------------------------
GAIN_BPM_PER_MPS = 24.2  # Hunt, Fankhauser & Saengsuwan 2015: nominal k = 24.2 +- 8.3 bpm/(m/s)
TAU_RISE_S = 57.6  # same study: nominal tau = 57.6 +- 23.6 s
TAU_FALL_RATIO = 1.25  # design choice: the fall is slower than the rise (the study: 57.5 vs 54.4 s, n.s.)
DEAD_TIME_S = 8.0  # design choice (population range 4-12 s)
SLOW_FRACTION = 0.30  # share of the gain carried by the parallel slower component (design choice,
# calibrated on the tune runners' stops: ~45 % of the excess HR remains 2 min after stopping)
TAU_SLOW_S = 300.0  # its time constant (rise; the fall is SLOW_FALL_RATIO times slower)
SLOW_FALL_RATIO = 2.5  # design choice, calibrated on the tune runners' stops: HR stays up for minutes
TAU_VAGAL_S = 10.0  # non-delayed fast component (phase I, vagal withdrawal: Fagraeus & Linnarsson 1976)
SC_GAIN_BPM_PER_MPS = 10.0  # slow component: bpm per m/s of effort above v_T (design choice)
TAU_SC_S = 240.0  # its time constant: it emerges over minutes (Jones et al. 2011)
DRIFT_BPM_PER_MIN = 0.35  # cardiac drift rate at 100 % of the heart-rate reserve (design choice)
DRIFT_ONSET_S = 600.0  # drift starts after ~10 min of exercise (Coyle & Gonzalez-Alonso 2001)
TAU_DRIFT_S = 3600.0  # drift saturates / recovers with this time constant (design choice)
SATURATION_KNEE = 0.9  # share of the heart-rate reserve above which HR bends towards HRmax (design choice)
V_REF_MPS = 4.4  # a runner with v_T = V_REF and heart-rate reserve HRR_REF has the nominal gain: HR at v_T
# = rest + 0.85 g HRR (~90 % HRmax; second ventilatory threshold at ~87-92 % HRmax, Seiler & Kjerland 2006)
HRR_REF_BPM = 125.0

# --- Population (docs/synthetic_workouts.md, "Runners") --------------------------------------------
V_T_MEDIAN_MPS = 3.0  # threshold speed on 1 January of the first year: ln N(ln 3.0, 0.20), 2.0..5.6
V_T_SD_LN = 0.20
V_T_RANGE = (2.0, 5.6)
REST_MEDIAN_BPM = 60.0  # resting HR at the median fitness: N(60, 7)
TANAKA_INTERCEPT, TANAKA_SLOPE = 208.0, 0.7  # HRmax = 208 - 0.7 age (Tanaka, Monahan & Seals 2001)
REST_PER_LN_FITNESS = 25.0  # resting HR falls by 2.5 bpm per +10 % of threshold speed (design choice)
DETRAIN_TAU_LOSS_D = 25.0  # fitness lost during a break: depth (1 - exp(-days / 25)) (Coyle et al. 1984)
DETRAIN_TAU_REGAIN_D = 60.0  # regained after it: exp(-days / 60) (design choice)
KINDS = workout_plans.KINDS
KIND_P = workout_plans.KIND_P
RUN_WALKER_P = 0.2  # share of runners who often run/walk (design choice)
STRAP_CONTACT_P = 0.25  # chest-strap workouts whose first minutes read low (dry electrodes; design choice)
CITIES = (  # (lat, lon, altitude m): where runners live; longitude also sets the local clock
    (47.37, 8.54, 410.0), (52.52, 13.40, 35.0), (42.36, -71.06, 10.0), (39.74, -104.99, 1610.0),
    (49.28, -123.12, 30.0), (35.68, 139.69, 40.0), (-33.87, 151.21, 20.0), (-33.92, 18.42, 20.0),
    (-23.55, -46.63, 760.0),
)

GPS_NOISE_TAU_S = 15.0  # GPS position error: two-pole low-passed white noise (smooth at 1 s)

# --- Sampling ----------------------------------------------------------------------------------------
DENSE_HR_S = 5.0  # dense HR: one sample every ~5 s (0.8-1.2 x)
SPARSE_HR_S = 60.0  # sparse HR: one sample every ~60 s (0.6-1.4 x), like 2019-21 Apple Watch workouts
SPARSE_UNTIL_YEAR = 2021  # hr_sampling="by_year": sparse up to and including this year, dense after
HR_SAMPLING_MODES = ("dense", "sparse", "by_year", "mixed")
MAX_WORKOUTS_PER_RUNNER = 100_000  # workout ids are (runner + 1) * 100000 + k


def minetti_cost(grade) -> np.ndarray:
    """Energy cost of running C(i) in J/kg/m on gradient ``grade`` (rise/run), Minetti et al. 2002.

    The gradient is clipped to the polynomial's range |i| <= 0.45."""
    i = np.clip(np.asarray(grade, dtype=np.float64), -MINETTI_MAX_GRADE, MINETTI_MAX_GRADE)
    return np.polyval(MINETTI_COEF, i)


def effort_speed(speed_mps, grade) -> np.ndarray:
    """Grade-adjusted speed (m/s): the flat-ground speed of equal metabolic power, v C(i) / C(0)."""
    return np.asarray(speed_mps, dtype=np.float64) * minetti_cost(grade) / MINETTI_COEF[-1]


@dataclass(frozen=True)
class HRParams:
    """Parameters of :func:`true_hr` for one runner on one day (defaults: the nominal runner)."""

    hr_rest_bpm: float = 60.0
    hr_max_bpm: float = 185.0
    gain_bpm_per_mps: float = GAIN_BPM_PER_MPS  # steady state, fast + slow parallel components
    tau_rise_s: float = TAU_RISE_S
    tau_fall_s: float = TAU_RISE_S * TAU_FALL_RATIO
    dead_time_s: float = DEAD_TIME_S
    slow_fraction: float = SLOW_FRACTION
    tau_slow_s: float = TAU_SLOW_S
    vagal_fraction: float = 0.0  # share of the gain of a non-delayed fast component (vagal withdrawal)
    tau_vagal_s: float = TAU_VAGAL_S
    v_threshold_mps: float = V_REF_MPS
    sc_gain_bpm_per_mps: float = SC_GAIN_BPM_PER_MPS
    tau_sc_s: float = TAU_SC_S
    drift_bpm_per_min: float = DRIFT_BPM_PER_MIN
    drift_onset_s: float = DRIFT_ONSET_S
    tau_drift_s: float = TAU_DRIFT_S


def _asymmetric_pair(u: list, g_fast: float, g_slow: float, a_rise: float, a_fall: float,
                     b_rise: float, b_fall: float, x0: float) -> tuple[np.ndarray, np.ndarray]:
    """Two parallel first-order responses to ``u`` (held over each 1 s step), each with a faster
    rise than fall: x[k+1] = x[k] + a (g u[k] - x[k]), a = a_rise when the target is above x."""
    xf, xs = x0, 0.0
    out_f, out_s = [], []
    af, bf = out_f.append, out_s.append
    for uk in u:
        af(xf)
        bf(xs)
        yf = g_fast * uk
        xf += (a_rise if yf > xf else a_fall) * (yf - xf)
        ys = g_slow * uk
        xs += (b_rise if ys > xs else b_fall) * (ys - xs)
    return np.asarray(out_f), np.asarray(out_s)


def true_hr(speed_mps, grade=None, params: HRParams = HRParams(), *, hr0_bpm: float | None = None,
            components: bool = False, walking=None):
    """Noise-free heart rate (bpm) on a 1 s grid for a speed (m/s) and grade (rise/run) per second.

    ``speed_mps[k]`` and ``grade[k]`` hold over [k, k + 1) s; the result's element k is the HR at k s.
    ``walking`` (bool per second, default none): those seconds are walked, at
    :func:`edgekit.data.synth.workout_plans.walking_cost_ratio` of level running's cost per metre.
    The runner is at rest before the start (effort 0 before t = 0); ``hr0_bpm`` is the HR at t = 0
    (default: resting), its excess decays with the fast component. With ``components=True`` returns
    a dict with ``hr_bpm`` and the parts ``effort_mps``, ``fast``, ``slow``, ``slow_component``,
    ``drift`` (bpm above rest, before clipping). Model: module docstring and the doc.
    """
    v = np.asarray(speed_mps, dtype=np.float64)
    g = np.zeros_like(v) if grade is None else np.broadcast_to(np.asarray(grade, dtype=np.float64), v.shape)
    u = effort_speed(v, g)
    if walking is not None:
        u = np.where(np.asarray(walking, dtype=bool), v * workout_plans.walking_cost_ratio(g), u)
    n = len(u)
    d = max(0, int(round(params.dead_time_s)))
    ud = np.concatenate([np.zeros(min(d, n)), u[: max(n - d, 0)]]) if d else u
    p = params
    x0 = 0.0 if hr0_bpm is None else max(float(hr0_bpm) - p.hr_rest_bpm, 0.0)

    def a(tau: float) -> float:
        return 1.0 - math.exp(-1.0 / tau)

    fast, slow = _asymmetric_pair(ud.tolist(), p.gain_bpm_per_mps * (1.0 - p.slow_fraction - p.vagal_fraction),
                                  p.gain_bpm_per_mps * p.slow_fraction, a(p.tau_rise_s), a(p.tau_fall_s),
                                  a(p.tau_slow_s), a(p.tau_slow_s * SLOW_FALL_RATIO), x0)
    if p.vagal_fraction > 0.0 and n:  # no dead time: HR jumps within seconds of a change of effort
        a_v = a(p.tau_vagal_s)
        vag = lfilter([0.0, a_v], [1.0, a_v - 1.0], p.gain_bpm_per_mps * p.vagal_fraction * u)
        fast = fast + vag
    a_sc = a(p.tau_sc_s)
    sc_in = p.sc_gain_bpm_per_mps * np.maximum(ud - p.v_threshold_mps, 0.0)
    sc = lfilter([0.0, a_sc], [1.0, a_sc - 1.0], sc_in) if n else sc_in
    hrr = max(p.hr_max_bpm - p.hr_rest_bpm, 1.0)
    load = np.clip((fast + slow) / hrr, 0.0, 1.0) * (np.arange(n) >= p.drift_onset_s)
    decay = math.exp(-1.0 / p.tau_drift_s)
    drift = lfilter([0.0, p.drift_bpm_per_min / 60.0], [1.0, -decay], load) if n else load
    excess = fast + slow + sc + drift
    knee = SATURATION_KNEE * hrr  # above it HR approaches HRmax smoothly (value and slope continuous)
    over = np.maximum(excess - knee, 0.0)
    excess = np.where(over > 0.0, knee + (hrr - knee) * np.tanh(over / (hrr - knee)), excess)
    hr = np.clip(p.hr_rest_bpm + excess, p.hr_rest_bpm, p.hr_max_bpm)
    if components:
        return {"hr_bpm": hr, "effort_mps": u, "fast": fast, "slow": slow, "slow_component": sc,
                "drift": drift}
    return hr


# ----------------------------------------------------------------------------------------------------
# Runners


@dataclass(frozen=True)
class Runner:
    """One synthetic runner: fixed traits and the course of their fitness over the years.

    Times are UTC epoch seconds; ``t0_s`` is 1 January of the first simulated year. A break is
    absent when ``break_start_s`` is NaN. ``profile`` overrides of :func:`runner_params` replace
    any of these fields (except ``index``, ``name``, ``t0_s``).
    """

    index: int
    name: str
    t0_s: float
    age0_years: float  # age on t0
    v_t0_mps: float  # threshold speed level on t0 (before the seasonal term)
    trend_per_year: float  # d ln(v_T) / dt
    season_amp: float  # amplitude of the seasonal term of ln(v_T)
    season_peak_day: float  # day of the year when the seasonal term peaks
    break_start_s: float  # a training break (injury): no workouts, fitness drops
    break_end_s: float
    detrain_depth: float  # fraction of v_T lost by a long break
    hr_rest0_bpm: float  # resting HR at the v_T0 fitness level
    hr_max_offset_bpm: float  # individual deviation from 208 - 0.7 age
    gain_factor: float  # personal multiplier of the HR gain
    tau_rise_s: float
    tau_fall_s: float
    dead_time_s: float
    slow_fraction: float
    drift_bpm_per_min: float
    sensor: str  # main HR sensor: "optical" (wrist) or "chest" (strap)
    optical_tau_s: float  # lag of the optical sensor's smoothing
    cadence_offset_spm: float  # personal step cadence offset (cadence-lock artifacts)
    gps_noise_m: float  # s.d. of the GPS position error (correlated over ~30 s)
    device_speed_prob: float  # share of workouts whose device reports speed
    home_lat_deg: float
    home_lon_deg: float
    home_alt_m: float
    utc_offset_h: float  # local clock = UTC + offset (from the longitude)
    hilliness: float  # scale of the terrain gradients near home
    tau_slow_s: float = TAU_SLOW_S  # the slower parallel component's time constant (rise)
    vagal_fraction: float = 0.0  # share of the gain that responds within seconds, without dead time
    tau_vagal_s: float = TAU_VAGAL_S
    easy_fraction: float = 0.74  # habitual easy pace as a fraction of v_T
    walk_mps: float = 1.4  # walking speed
    walk_run_mps: float = 2.0  # walk-run transition: planned speeds below it are walked
    hike_grade: float = 0.12  # on trails, climbs steeper than this are hiked
    run_walker: float = 0.0  # 1: often runs/walks (more run_walk workouts)

    def _years(self, t_s):
        return (np.asarray(t_s, dtype=np.float64) - self.t0_s) / YEAR_S

    def detraining(self, t_s) -> np.ndarray:
        """Fraction of ln(v_T) lost to the break at ``t_s`` (0 without a break)."""
        t = np.asarray(t_s, dtype=np.float64)
        if not math.isfinite(self.break_start_s) or self.detrain_depth <= 0.0:
            return np.zeros_like(t)
        b0, b1 = self.break_start_s, self.break_end_s
        lost_at_end = self.detrain_depth * (1.0 - math.exp(-(b1 - b0) / DAY_S / DETRAIN_TAU_LOSS_D))
        during = self.detrain_depth * (1.0 - np.exp(-np.maximum(t - b0, 0.0) / DAY_S / DETRAIN_TAU_LOSS_D))
        after = lost_at_end * np.exp(-np.maximum(t - b1, 0.0) / DAY_S / DETRAIN_TAU_REGAIN_D)
        return np.where(t < b0, 0.0, np.where(t < b1, during, after))

    def fitness_at(self, t_s) -> np.ndarray:
        """Threshold speed v_T (m/s) at ``t_s``: trend x season x detraining."""
        y = self._years(t_s)
        season = self.season_amp * np.cos(2 * np.pi * (y - self.season_peak_day / 365.2425))
        return self.v_t0_mps * np.exp(self.trend_per_year * y + season - self.detraining(t_s))

    def age_at(self, t_s) -> np.ndarray:
        return self.age0_years + self._years(t_s)

    def hr_params_at(self, t_s: float) -> HRParams:
        """The :class:`HRParams` of this runner on the day of ``t_s``."""
        v = float(self.fitness_at(t_s))
        hr_max = TANAKA_INTERCEPT - TANAKA_SLOPE * float(self.age_at(t_s)) + self.hr_max_offset_bpm
        rest = float(np.clip(self.hr_rest0_bpm - REST_PER_LN_FITNESS * math.log(v / self.v_t0_mps), 38.0, 85.0))
        gain = GAIN_BPM_PER_MPS * self.gain_factor * (V_REF_MPS / v) * ((hr_max - rest) / HRR_REF_BPM)
        return HRParams(hr_rest_bpm=rest, hr_max_bpm=hr_max, gain_bpm_per_mps=gain,
                        tau_rise_s=self.tau_rise_s, tau_fall_s=self.tau_fall_s, dead_time_s=self.dead_time_s,
                        slow_fraction=self.slow_fraction, tau_slow_s=self.tau_slow_s, v_threshold_mps=v,
                        vagal_fraction=self.vagal_fraction, tau_vagal_s=self.tau_vagal_s,
                        drift_bpm_per_min=self.drift_bpm_per_min)


_FIXED_FIELDS = {"index", "name", "t0_s"}


def _years_span(years: tuple[int, int]) -> tuple[float, float]:
    y0, y1 = (int(years[0]), int(years[1]))
    if y1 < y0:
        raise ValueError(f"years must be (first, last) with first <= last, got {years!r}")
    return float(calendar.timegm((y0, 1, 1, 0, 0, 0))), float(calendar.timegm((y1 + 1, 1, 1, 0, 0, 0)))


def _runner_rng(seed: int, runner_index: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(runner_index), *key)))


def runner_params(runner_index: int, seed: int = 7, years: tuple[int, int] = (2019, 2025),
                  profile: dict | None = None) -> Runner:
    """Draw runner ``runner_index`` of the population ``seed`` (independent of the population size).

    ``profile``: overrides of :class:`Runner` fields (e.g. ``{"trend_per_year": 0.05,
    "detrain_depth": 0.0, "sensor": "chest"}``); the random draws are the same with or without it.
    """
    if runner_index < 0 or seed < 0:
        raise ValueError("runner_index and seed must be >= 0")
    t0, t1 = _years_span(years)
    rng = _runner_rng(seed, runner_index)
    age0 = rng.uniform(20.0, 62.0)
    v0 = float(np.clip(np.exp(rng.normal(math.log(V_T_MEDIAN_MPS), V_T_SD_LN)) * math.exp(-0.005 * max(age0 - 35.0, 0.0)),
                       *V_T_RANGE))
    trend = rng.normal(0.0, 0.02) - (0.005 if age0 > 40.0 else 0.0)
    city = CITIES[int(rng.integers(len(CITIES)))]
    lat = city[0] + rng.normal(0.0, 0.05)
    lon = city[1] + rng.normal(0.0, 0.05)
    peak = rng.uniform(100.0, 280.0) + (182.6 if lat < 0 else 0.0)
    has_break = rng.random() < 0.5
    b_len = rng.uniform(45.0, 150.0) * DAY_S
    b_pos = rng.random()
    lo, hi = t0 + 60 * DAY_S, t1 - 60 * DAY_S - b_len
    b0 = lo + b_pos * (hi - lo) if (has_break and hi > lo) else math.nan
    tau_rise = float(np.clip(TAU_RISE_S * math.exp(rng.normal(0.0, 0.3)), 30.0, 120.0))
    values = dict(
        index=int(runner_index), name=str(runner_index), t0_s=t0, age0_years=float(age0), v_t0_mps=v0,
        trend_per_year=float(trend), season_amp=float(rng.uniform(0.01, 0.04)), season_peak_day=float(peak % 365.2425),
        break_start_s=float(b0), break_end_s=float(b0 + b_len) if math.isfinite(b0) else math.nan,
        detrain_depth=float(rng.uniform(0.06, 0.16)),
        hr_rest0_bpm=float(np.clip(rng.normal(REST_MEDIAN_BPM, 7.0) - REST_PER_LN_FITNESS * math.log(v0 / V_T_MEDIAN_MPS),
                                   40.0, 85.0)),
        hr_max_offset_bpm=float(np.clip(rng.normal(0.0, 8.0), -18.0, 18.0)),
        gain_factor=float(math.exp(rng.normal(0.0, 0.15))),
        tau_rise_s=tau_rise, tau_fall_s=tau_rise * float(rng.uniform(1.25, 2.0)),
        dead_time_s=float(rng.uniform(4.0, 12.0)), slow_fraction=float(rng.uniform(0.20, 0.40)),
        drift_bpm_per_min=float(DRIFT_BPM_PER_MIN * math.exp(rng.normal(0.0, 0.3))),
        sensor="chest" if rng.random() < 0.35 else "optical",
        optical_tau_s=float(rng.uniform(5.0, 25.0)), cadence_offset_spm=float(rng.normal(0.0, 5.0)),
        gps_noise_m=float(rng.uniform(1.0, 4.0)), device_speed_prob=float(rng.uniform(0.2, 0.9)),
        home_lat_deg=float(lat), home_lon_deg=float(lon), home_alt_m=float(city[2]),
        utc_offset_h=float(round(lon / 15.0)),
        hilliness=float(np.clip(math.exp(rng.normal(math.log(0.6), 0.6)), 0.1, 2.5)),
        tau_slow_s=float(rng.uniform(180.0, 420.0)), easy_fraction=float(rng.uniform(0.72, 1.02)),
        walk_mps=float(rng.uniform(1.15, 1.65)), walk_run_mps=float(np.clip(rng.normal(2.0, 0.12), 1.7, 2.3)),
        hike_grade=float(rng.uniform(0.08, 0.16)), run_walker=float(rng.random() < RUN_WALKER_P),
        vagal_fraction=float(rng.uniform(0.15, 0.35)), tau_vagal_s=float(rng.uniform(5.0, 15.0)),
    )
    if profile:
        names = {f.name for f in fields(Runner)} - _FIXED_FIELDS
        unknown = set(profile) - names
        if unknown:
            raise ValueError(f"unknown profile keys {sorted(unknown)}; known: {', '.join(sorted(names))}")
        if "sensor" in profile and profile["sensor"] not in ("optical", "chest"):
            raise ValueError(f"sensor must be 'optical' or 'chest', got {profile['sensor']!r}")
        values.update({k: (v if k == "sensor" else float(v)) for k, v in profile.items()})
        if "tau_rise_s" in profile and "tau_fall_s" not in profile:
            values["tau_fall_s"] = values["tau_rise_s"] * TAU_FALL_RATIO
        b0, b1 = values["break_start_s"], values["break_end_s"]
        if math.isfinite(b0) and not (math.isfinite(b1) and b1 > b0):
            raise ValueError("a break needs break_end_s after break_start_s (NaN start: no break)")
    return Runner(**values)


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


def _json_id(s: str):
    """FitRec ids are integers: a canonical decimal string becomes an int, anything else stays text."""
    return int(s) if s.isdigit() and str(int(s)) == s else s


def _num(x: float):
    if not math.isfinite(x):
        return None
    return int(x) if x == int(x) and abs(x) < 2**53 else x


def fitrec_record(w: Workout) -> dict:
    """One workout as a FitRec-style record (the fields of the FitRec / Endomondo JSON lines).

    All arrays share the ``timestamp`` axis: the sorted union of route and HR times (integer UTC
    epoch seconds where whole). A stream without a value at a time has ``null`` there; ``speed`` is
    in km/h and present only when the device gave speed; ``altitude`` is all ``null`` when absent.
    """
    t = np.union1d(w.route_t_s, w.hr_t_s)
    ri = np.searchsorted(t, w.route_t_s)
    hi = np.searchsorted(t, w.hr_t_s)

    def on_axis(idx: np.ndarray, values: np.ndarray, scale: float = 1.0) -> list:
        col = np.full(len(t), np.nan)
        col[idx] = np.asarray(values, dtype=np.float64) * scale
        return [_num(x) for x in col.tolist()]

    rec = {
        "id": _json_id(w.workout_id), "userId": _json_id(w.runner), "sport": w.sport,
        "timestamp": [_num(x) for x in t.tolist()],
        "heart_rate": on_axis(hi, w.hr_bpm),
        "altitude": on_axis(ri, w.altitude_m),
        "latitude": on_axis(ri, w.lat_deg),
        "longitude": on_axis(ri, w.lon_deg),
    }
    if np.isfinite(w.speed_mps).any():
        rec["speed"] = on_axis(ri, w.speed_mps, 3.6)
    if w.meta.get("synthetic"):
        rec["synthetic"] = True
    return rec


def write_jsonl(path: str | Path, workouts: Iterable[Workout]) -> int:
    """Write ``workouts`` as FitRec-style JSON lines (one :func:`fitrec_record` per line, strict JSON),
    atomically: a failure leaves no partial file. ``workouts`` may be a generator (streamed, e.g.
    ``(w for chunk in iter_population(...) for w in chunk)``). Returns the number of lines."""
    n = 0
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            for w in workouts:
                fh.write(json.dumps(fitrec_record(w), allow_nan=False, separators=(",", ":")))
                fh.write("\n")
                n += 1
    return n
