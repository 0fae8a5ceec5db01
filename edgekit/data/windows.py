"""Windows for training and on-device prediction, both from the same cleaned RR table.

- Beat windows (strain classifier): N consecutive cleaned RR intervals of one segment, starts at
  0, stride, 2*stride, ... while start + N <= segment length. A window whose artifact fraction
  (beats with any artifact flag / N, in %) exceeds ``max_artifact_pct`` is excluded and counted.
- Hourly RMSSD (forecaster): for each subject and clock hour floor(time_s / 3600), RMSSD over the
  successive differences RR_j - RR_{j-1} of consecutive beats of the same segment whose later beat
  j falls in that hour. An hour needs at least ``MIN_HOUR_DIFFS`` differences and an artifact
  fraction (over its beats) not above ``max_artifact_pct``; otherwise it is missing (NaN).
- 24-step series: hours [e-24, e) of one subject; e advances by ``stride_hours``. At most
  ``MAX_MISSING_HOURS`` hours may be missing, none of them the last hour; they are filled by linear
  interpolation between the nearest present hours of the series (held at the first present value
  when the series starts with missing hours). Other series are excluded and counted.
"""

from __future__ import annotations

import numpy as np

from edgekit.data.rr import ARTIFACT_MASK, RRTable, segment_bounds

MIN_HOUR_DIFFS = 30
MAX_MISSING_HOURS = 2


def beat_windows(table: RRTable, n_beats: int, stride: int, max_artifact_pct: float):
    """Return (X (W, N) float64, segment index per window, start row per window, n_excluded)."""
    b = segment_bounds(table.segment)
    lens = np.diff(b)
    n_win = np.where(lens >= n_beats, (lens - n_beats) // stride + 1, 0)
    if n_win.sum() == 0:
        return np.zeros((0, n_beats)), np.zeros(0, np.int64), np.zeros(0, np.int64), 0
    seg_of = np.repeat(np.arange(len(lens)), n_win)
    first = np.concatenate([[0], np.cumsum(n_win)[:-1]])
    k = np.arange(n_win.sum()) - np.repeat(first, n_win)
    starts = b[:-1][seg_of] + k * stride
    idx = starts[:, None] + np.arange(n_beats)[None, :]
    flagged = (table.flags & ARTIFACT_MASK) != 0
    csum = np.concatenate([[0], np.cumsum(flagged)])
    art = csum[starts + n_beats] - csum[starts]
    ok = art * 100.0 <= max_artifact_pct * n_beats
    return table.rr_ms[idx[ok]], seg_of[ok], starts[ok], int((~ok).sum())


def hourly_rmssd(table: RRTable, max_artifact_pct: float) -> dict[str, tuple[int, np.ndarray]]:
    """Per subject: (first hour index, RMSSD per hour with NaN for missing hours)."""
    out = {}
    if len(table) == 0:
        return out
    hour = np.floor(table.time_s / 3600.0).astype(np.int64)
    same = np.zeros(len(table), bool)
    same[1:] = (table.segment[1:] == table.segment[:-1]) & (table.subject[1:] == table.subject[:-1])
    d2 = np.zeros(len(table))
    d2[1:] = np.diff(table.rr_ms) ** 2
    flagged = ((table.flags & ARTIFACT_MASK) != 0).astype(np.int64)
    for subj in _ordered_unique(table.subject):
        m = table.subject == subj
        h = hour[m]
        h0 = int(h.min())
        hi = h - h0
        nh = int(hi.max()) + 1
        s = same[m]
        sum_d2 = np.bincount(hi[s], weights=d2[m][s], minlength=nh)
        n_d = np.bincount(hi[s], minlength=nh)
        n_b = np.bincount(hi, minlength=nh)
        n_f = np.bincount(hi, weights=flagged[m], minlength=nh)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.sqrt(sum_d2 / n_d)
        ok = (n_d >= MIN_HOUR_DIFFS) & (n_f * 100.0 <= max_artifact_pct * np.maximum(n_b, 1))
        out[subj] = (h0, np.where(ok, r, np.nan))
    return out


def _ordered_unique(a: np.ndarray) -> list:
    _, idx = np.unique(a, return_index=True)
    return [a[i] for i in sorted(idx)]


def hourly_series(rmssd_by_subject: dict, hours: int = 24, stride_hours: int = 4):
    """Yield (subject, end_hour_abs, X(24,)) for every complete window; counts incomplete ones."""
    xs, subj, ends = [], [], []
    n_incomplete = 0
    for s, (h0, r) in rmssd_by_subject.items():
        n = len(r)
        for e in range(hours, n + 1, stride_hours):
            x = complete_series(r[e - hours:e])
            if x is None:
                n_incomplete += 1
                continue
            xs.append(x)
            subj.append(s)
            ends.append(h0 + e)
    X = np.array(xs).reshape(-1, hours)
    return X, subj, np.array(ends, np.int64), n_incomplete


def complete_series(x: np.ndarray) -> np.ndarray | None:
    """A forecaster input from hourly RMSSD ``x`` (ms, NaN = missing hour): missing hours filled,
    or None when more than ``MAX_MISSING_HOURS`` are missing or the last hour is."""
    miss = np.isnan(x)
    if miss.any():
        if miss.sum() > MAX_MISSING_HOURS or miss[-1]:
            return None
        return fill_missing_hours(x)
    return x


def fill_missing_hours(x: np.ndarray) -> np.ndarray:
    """Linear interpolation over missing (NaN) hours in hour index; constant beyond the ends."""
    x = np.array(x, dtype=np.float64)
    miss = np.isnan(x)
    if miss.any():
        idx = np.arange(len(x), dtype=np.float64)
        x[miss] = np.interp(idx[miss], idx[~miss], x[~miss])
    return x
