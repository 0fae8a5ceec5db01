"""Segment-aware rolling quantiles of an RR series, vectorised across all segments of a table at once
(the time-varying thresholds and medians of :mod:`edgekit.data.signal.clean`'s Kubios detection): a window
never reaches across a segment boundary.
"""

from __future__ import annotations

import numpy as np

from edgekit.data.rr import segment_bounds


# rows per block in the rolling-quantile kernel: a block of 91-wide windows (~3 MB) is gathered,
# sorted and read while it is in cache; 65 536-row blocks (~47 MB) were 25 % slower, same values
_CHUNK = 4_096


def _row_segment_limits(segment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    b = segment_bounds(segment)
    lengths = np.diff(b)
    start = np.repeat(b[:-1], lengths)
    end = np.repeat(b[1:], lengths)
    return start, end


def rolling_quantiles(values: np.ndarray, start: np.ndarray, end: np.ndarray, half: int,
                      qs: tuple[float, ...], valid: np.ndarray | None = None) -> list[np.ndarray]:
    """Quantiles of ``values`` over the window [j-half, j+half] clipped to row j's segment.

    Quantiles use linear interpolation between order statistics (NumPy's default ``linear``
    method): position p = q * (n - 1) in the sorted window of its n valid values. ``valid``
    (optional bool mask) excludes rows from every window. Rows whose window holds no valid value
    get NaN. ``start``/``end`` give each row's segment [start, end).
    """
    n = len(values)
    out = [np.full(n, np.nan) for _ in qs]
    if n == 0:
        return out
    ok_all = np.ones(n, bool) if valid is None else np.asarray(valid, bool)
    width = 2 * half + 1
    # Lay segments out with `half` +inf separators so a plain sliding window never crosses one.
    seg_no = np.cumsum(np.concatenate([[0], start[1:] != start[:-1]]))
    pos = np.arange(n) + (seg_no + 1) * half
    padded = np.full(n + (int(seg_no[-1]) + 2) * half, np.inf)
    padded[pos] = np.where(ok_all, values, np.inf)
    view = np.lib.stride_tricks.sliding_window_view(padded, width)
    inval = np.concatenate([[0], np.cumsum(~ok_all)])
    j = np.arange(n)
    lo_i = np.maximum(j - half, start)
    hi_i = np.minimum(j + half + 1, end)
    cnt_all = (hi_i - lo_i) - (inval[hi_i] - inval[lo_i])
    for a in range(0, n, _CHUNK):
        b = min(n, a + _CHUNK)
        w = view[pos[a:b] - half]  # gathered copy (rows, width)
        cnt = cnt_all[a:b]
        w.sort(axis=1)  # +inf (outside the segment / invalid) sorts last
        r = np.arange(b - a)
        has = cnt > 0
        cm1 = np.maximum(cnt - 1, 0)
        for k, q in enumerate(qs):
            p = q * cm1
            lo = np.floor(p).astype(np.int64)
            hi = np.minimum(lo + 1, cm1)
            frac = p - lo
            vlo = w[r, lo]
            vhi = w[r, hi]
            with np.errstate(invalid="ignore"):
                res = vlo + frac * (vhi - vlo)
            out[k][a:b] = np.where(has, res, np.nan)
    return out
