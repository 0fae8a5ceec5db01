"""SYNTHETIC runners: fixed traits and the course of their fitness over the years (:class:`Runner`),
drawn by :func:`runner_params` from the population of docs/synthetic_workouts.md, "Runners".
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass, fields

import numpy as np

from edgekit.data.synth.heart_response import (DRIFT_BPM_PER_MIN, GAIN_BPM_PER_MPS, HRParams, HRR_REF_BPM,
                                               TAU_FALL_RATIO, TAU_RISE_S, TAU_SLOW_S, TAU_VAGAL_S, V_REF_MPS)


DAY_S = 86_400.0
YEAR_S = 365.2425 * DAY_S


# --- Population (docs/synthetic_workouts.md, "Runners") --------------------------------------------
V_T_MEDIAN_MPS = 3.0  # threshold speed on 1 January of the first year: ln N(ln 3.0, 0.20), 2.0..5.6
V_T_SD_LN = 0.20
V_T_RANGE = (2.0, 5.6)
REST_MEDIAN_BPM = 60.0  # resting HR at the median fitness: N(60, 7)
TANAKA_INTERCEPT, TANAKA_SLOPE = 208.0, 0.7  # HRmax = 208 - 0.7 age (Tanaka, Monahan & Seals 2001)
REST_PER_LN_FITNESS = 25.0  # resting HR falls by 2.5 bpm per +10 % of threshold speed (design choice)
DETRAIN_TAU_LOSS_D = 25.0  # fitness lost during a break: depth (1 - exp(-days / 25)) (Coyle et al. 1984)
DETRAIN_TAU_REGAIN_D = 60.0  # regained after it: exp(-days / 60) (design choice)


RUN_WALKER_P = 0.2  # share of runners who often run/walk (design choice)


CITIES = (  # (lat, lon, altitude m): where runners live; longitude also sets the local clock
    (47.37, 8.54, 410.0), (52.52, 13.40, 35.0), (42.36, -71.06, 10.0), (39.74, -104.99, 1610.0),
    (49.28, -123.12, 30.0), (35.68, 139.69, 40.0), (-33.87, 151.21, 20.0), (-33.92, 18.42, 20.0),
    (-23.55, -46.63, 760.0),
)


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
