"""HRV features of a cleaned RR series (Task Force of the ESC and NASPE, 1996).

Time-domain and Poincaré features are computed over *successive differences within segments*
only (a gap never contributes a difference). Definitions, with references, are in docs/data.md.

On-device subset (re-implemented in Swift, must match to 1e-9): :func:`rmssd`, :func:`time_domain`.
The frequency-domain features (Welch periodogram of the 4 Hz resampled tachogram) are Python-only.
"""

from __future__ import annotations

import numpy as np
from scipy import interpolate, signal

from edgekit.data.rr import ARTIFACT_MASK, THRESHOLD_EPS_MS, RRTable, segment_bounds

LF_BAND = (0.04, 0.15)
HF_BAND = (0.15, 0.40)
RESAMPLE_HZ = 4.0
WELCH_SEGMENT_S = 256.0  # Welch segment length (s); shortened to the series length if longer


def successive_differences(rr: np.ndarray, segment: np.ndarray | None = None) -> np.ndarray:
    """RR_j - RR_{j-1} for consecutive beats of the same segment."""
    rr = np.asarray(rr, dtype=np.float64)
    d = np.diff(rr)
    if segment is not None and len(rr) > 1:
        seg = np.asarray(segment)
        d = d[seg[1:] == seg[:-1]]
    return d


def rmssd(rr: np.ndarray, segment: np.ndarray | None = None) -> float:
    """Root mean square of successive differences (ms); NaN with fewer than one difference."""
    d = successive_differences(rr, segment)
    if len(d) == 0:
        return float("nan")
    return float(np.sqrt(np.mean(d * d)))


def time_domain(rr: np.ndarray, segment: np.ndarray | None = None) -> dict:
    rr = np.asarray(rr, dtype=np.float64)
    d = successive_differences(rr, segment)
    n = len(rr)
    out = {
        "n_beats": int(n),
        "mean_rr_ms": float(np.mean(rr)) if n else float("nan"),
        "sdnn_ms": float(np.std(rr, ddof=1)) if n > 1 else float("nan"),
        "mean_hr_bpm": float(np.mean(60000.0 / rr)) if n else float("nan"),
        "rmssd_ms": float(np.sqrt(np.mean(d * d))) if len(d) else float("nan"),
        "pnn50_pct": float(100.0 * np.mean(np.abs(d) > 50.0 + THRESHOLD_EPS_MS)) if len(d) else float("nan"),
    }
    # Poincaré: SD1^2 = Var(diff)/2, SD2^2 = 2 SDNN^2 - SD1^2 (Brennan et al. 2001), ddof=1.
    if len(d) > 1 and n > 1:
        sd1 = np.sqrt(np.var(d, ddof=1) / 2.0)
        sd2_sq = 2.0 * np.var(rr, ddof=1) - sd1 * sd1
        out["sd1_ms"] = float(sd1)
        out["sd2_ms"] = float(np.sqrt(max(sd2_sq, 0.0)))
    else:
        out["sd1_ms"] = float("nan")
        out["sd2_ms"] = float("nan")
    return out


def frequency_domain(rr: np.ndarray, time_s: np.ndarray | None = None,
                     segment: np.ndarray | None = None) -> dict:
    """LF and HF power (ms^2) by Welch's method on the tachogram resampled at 4 Hz.

    Each segment is resampled separately (cubic spline of RR_j at beat time t_j, 4 Hz grid, linear
    detrend) and its periodogram is averaged into the total weighted by segment duration. Segments
    shorter than 30 s are skipped.
    """
    rr = np.asarray(rr, dtype=np.float64)
    if time_s is None:
        time_s = np.cumsum(rr) / 1000.0
    time_s = np.asarray(time_s, dtype=np.float64)
    seg = np.zeros(len(rr), np.int64) if segment is None else np.asarray(segment)
    b = segment_bounds(seg)
    lf = hf = 0.0
    total_w = 0.0
    for s in range(len(b) - 1):
        lo, hi = b[s], b[s + 1]
        t = time_s[lo:hi]
        x = rr[lo:hi]
        if hi - lo < 4 or t[-1] - t[0] < 30.0:
            continue
        # beat times strictly increasing is required by the spline
        if np.any(np.diff(t) <= 0):
            t = t[0] + np.concatenate([[0.0], np.cumsum(x[1:]) / 1000.0])
        grid = np.arange(t[0], t[-1], 1.0 / RESAMPLE_HZ)
        y = interpolate.CubicSpline(t, x)(grid)
        y = signal.detrend(y, type="linear")
        nper = int(min(len(y), WELCH_SEGMENT_S * RESAMPLE_HZ))
        f, p = signal.welch(y, fs=RESAMPLE_HZ, nperseg=nper, noverlap=nper // 2, window="hann",
                            detrend=False, scaling="density")
        df = f[1] - f[0]
        w = t[-1] - t[0]
        lf += w * _band(f, p, df, LF_BAND)
        hf += w * _band(f, p, df, HF_BAND)
        total_w += w
    if total_w == 0:
        nan = float("nan")
        return {"lf_ms2": nan, "hf_ms2": nan, "lf_hf": nan, "lfnu": nan, "hfnu": nan}
    lf /= total_w
    hf /= total_w
    return {
        "lf_ms2": float(lf),
        "hf_ms2": float(hf),
        "lf_hf": float(lf / hf) if hf > 0 else float("nan"),
        "lfnu": float(100.0 * lf / (lf + hf)) if lf + hf > 0 else float("nan"),
        "hfnu": float(100.0 * hf / (lf + hf)) if lf + hf > 0 else float("nan"),
    }


def _band(f: np.ndarray, p: np.ndarray, df: float, band: tuple[float, float]) -> float:
    m = (f >= band[0]) & (f < band[1])
    return float(np.sum(p[m]) * df)


def all_features(table: RRTable, n_corrected: int = 0) -> dict:
    out = time_domain(table.rr_ms, table.segment)
    out.update(frequency_domain(table.rr_ms, table.time_s, table.segment))
    flagged = int(np.count_nonzero(table.flags & ARTIFACT_MASK))
    out["n_corrected"] = int(n_corrected)
    out["artifact_pct"] = float(100.0 * flagged / len(table)) if len(table) else float("nan")
    return out
