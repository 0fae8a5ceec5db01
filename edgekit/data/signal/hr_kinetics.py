"""First-order heart-rate kinetics: the physiological baseline of the activity model.

HR responds to effort like a first-order system (Hunt & Fankhauser 2016: gain ≈ 24 bpm per m/s,
time constant ≈ 58 s on a treadmill). Effort is grade-adjusted speed: speed × C(i)/C(0) with
Minetti et al. (2002)'s energy cost of running on a gradient i (J/kg/m, valid for |i| ≤ 0.45)::
    C(i) = 155.4 i^5 − 30.4 i^4 − 43.3 i^3 + 46.3 i^2 + 19.5 i + 3.6

The model ``hr[t] = hr0 + gain · s[t]``, ``s[t] = s[t−1] + (1 − exp(−dt/τ)) (u[t] − s[t−1])`` with
``s[0] = u[0]`` is fitted per person (hr0 bpm, gain bpm per m/s, τ s) by least squares on their
training workouts' observed steps (``scipy.optimize.least_squares``) and predicts their other
workouts from speed and grade alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MINETTI = (155.4, -30.4, -43.3, 46.3, 19.5, 3.6)  # C(i) coefficients, highest power first


def minetti_cost(grade: np.ndarray) -> np.ndarray:
    """Energy cost of running (J/kg/m) at gradient ``grade`` (rise/run, clipped to ±0.45)."""
    return np.polyval(MINETTI, np.clip(np.asarray(grade, np.float64), -0.45, 0.45))


def effort(speed_mps: np.ndarray, grade: np.ndarray) -> np.ndarray:
    """Grade-adjusted speed (m/s on the flat that costs the same energy)."""
    return np.asarray(speed_mps, np.float64) * minetti_cost(grade) / MINETTI[-1]


def respond(u: np.ndarray, tau_s: float, step_s: float) -> np.ndarray:
    """First-order response along the last axis of ``u`` (…, T), starting at steady state."""
    u = np.asarray(u, np.float64)
    a = 1.0 - np.exp(-step_s / max(tau_s, 1e-3))
    s = np.empty_like(u)
    s[..., 0] = u[..., 0]
    for t in range(1, u.shape[-1]):
        s[..., t] = s[..., t - 1] + a * (u[..., t] - s[..., t - 1])
    return s


@dataclass(frozen=True)
class Kinetics:
    """A fitted first-order model: ``hr = hr0_bpm + gain_bpm_per_mps · response(effort, tau_s)``."""

    hr0_bpm: float
    gain_bpm_per_mps: float
    tau_s: float
    step_s: float

    def predict(self, speed_mps: np.ndarray, grade: np.ndarray) -> np.ndarray:
        """HR bpm (…, T) from speed and grade grids (…, T)."""
        return self.hr0_bpm + self.gain_bpm_per_mps * respond(effort(speed_mps, grade), self.tau_s, self.step_s)


def fit(speed_mps: np.ndarray, grade: np.ndarray, hr_bpm: np.ndarray, step_s: float) -> Kinetics:
    """Least-squares fit on windows (n, T) of one person; NaN HR steps are ignored."""
    # deferred: scipy.optimize takes a second to import; only this path needs it
    from scipy.optimize import least_squares

    speed_mps, grade, hr_bpm = (np.atleast_2d(np.asarray(a, np.float64)) for a in (speed_mps, grade, hr_bpm))
    observed = np.isfinite(hr_bpm)
    if observed.sum() < 3:
        raise ValueError("fitting HR kinetics needs at least 3 observed HR steps")
    u = effort(speed_mps, grade)

    def residuals(p):
        hr0, gain, log_tau = p
        return (hr0 + gain * respond(u, float(np.exp(log_tau)), step_s) - hr_bpm)[observed]

    start = (float(np.nanmean(hr_bpm)) - 24.0 * float(np.mean(u)), 24.0, float(np.log(58.0)))
    res = least_squares(residuals, start, bounds=([20.0, 0.0, np.log(2.0)], [220.0, 80.0, np.log(900.0)]))
    hr0, gain, log_tau = res.x
    return Kinetics(float(hr0), float(gain), float(np.exp(log_tau)), float(step_s))
