"""SYNTHETIC heart rate of a runner: effort from speed and grade (Minetti et al. 2002), and HR as a
delayed first-order response with a slow component, drift and saturation (:func:`true_hr`; the model and
its sources: the docstring of :mod:`edgekit.data.synth.workouts` and docs/synthetic_workouts.md).

Heart rate (:func:`true_hr`, one value per second): effort = grade-adjusted speed
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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from edgekit.data.synth import workout_plans


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
DRIFT_BPM_PER_MIN = 0.7  # cardiac drift rate at 100 % of the heart-rate reserve: HR +10 % from min 15 to 60 at
# ~60 % HRR, as reported for prolonged moderate exercise (Coyle & Gonzalez-Alonso 2001; Wingo et al. 2012: more in
# the heat); chosen over 0.35 / 0.5 / 1.05 on the tune runners of realdata/runs (docs/synthetic_workouts.md, "Drift")
DRIFT_ONSET_S = 600.0  # drift starts after ~10 min of exercise (Coyle & Gonzalez-Alonso 2001)
TAU_DRIFT_S = 3600.0  # drift saturates / recovers with this time constant (design choice)
SATURATION_KNEE = 0.9  # share of the heart-rate reserve above which HR bends towards HRmax (design choice)
V_REF_MPS = 4.4  # a runner with v_T = V_REF and heart-rate reserve HRR_REF has the nominal gain: HR at v_T
# = rest + 0.85 g HRR (~90 % HRmax; second ventilatory threshold at ~87-92 % HRmax, Seiler & Kjerland 2006)
HRR_REF_BPM = 125.0


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
