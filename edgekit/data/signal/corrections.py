"""Applying detected artifacts to a table (:mod:`edgekit.data.signal.clean`): extra beats merged, missed beats
split, ectopic and long/short beats interpolated within their segment, each corrected beat flagged with
its kind (docs/data.md, "Cleaning").
"""

from __future__ import annotations

import numpy as np

from edgekit.data.rr import Flag, RRTable


_KIND_FLAG = {
    "ectopic": Flag.ECTOPIC,
    "missed": Flag.MISSED,
    "extra": Flag.EXTRA,
    "long_short": Flag.LONG_SHORT,
}


def _apply(table: RRTable, events: list[tuple[int, int, str, int]]) -> RRTable:
    """Apply corrections: merge extras, split missed, then interpolate ectopic/long-short values."""
    n = len(table)
    if not events:
        return table
    rr = table.rr_ms
    t = table.time_s
    keep = np.ones(n, bool)
    new_rr = rr.copy()
    new_flags = table.flags.copy()
    interp = np.zeros(n, bool)
    inserts = []  # (position, rr values list, times list, flag)
    for a, b, kind, k in events:
        f = int(_KIND_FLAG[kind])
        if kind == "extra":
            new_rr[a + 1] = rr[a] + rr[a + 1]  # merged interval ends at the later beat
            new_flags[a + 1] |= f
            keep[a] = False
        elif kind == "missed":
            part = rr[a] / k
            new_rr[a] = part
            new_flags[a] |= f
            # k-1 inserted beats before beat a, evenly spaced
            times = [t[a] - (k - i) * part / 1000.0 for i in range(1, k)]
            inserts.append((a, [part] * (k - 1), times, f | int(Flag.INSERTED)))
        else:
            new_flags[a:b] |= f
            interp[a:b] = True
    out_rr, out_t, out_f, out_s, out_seg, out_interp = (new_rr, t.copy(), new_flags, table.subject,
                                                         table.segment, interp)
    if inserts:
        pos = np.concatenate([[p] * len(v) for p, v, _, _ in inserts]).astype(np.int64)
        vals = np.concatenate([v for _, v, _, _ in inserts])
        tim = np.concatenate([tt for _, _, tt, _ in inserts])
        fl = np.concatenate([[f] * len(v) for _, v, _, f in inserts]).astype(np.int64)
        out_rr = np.insert(out_rr, pos, vals)
        out_t = np.insert(out_t, pos, tim)
        out_f = np.insert(out_f, pos, fl)
        out_s = np.insert(out_s, pos, out_s[pos])
        out_seg = np.insert(out_seg, pos, out_seg[pos])
        out_interp = np.insert(out_interp, pos, False)
        keep = np.insert(keep, pos, True)
    res = RRTable(out_s[keep], out_seg[keep], out_t[keep], out_rr[keep], out_f[keep])
    interp_mask = out_interp[keep]
    if interp_mask.any():
        _interpolate(res, interp_mask)
    return res


def _interpolate(table: RRTable, mask: np.ndarray) -> None:
    """Replace masked rr values by linear interpolation in beat index between the nearest unmasked
    beats of the same segment (held constant beyond the first/last unmasked beat)."""
    b = table.segment_bounds()
    seg_idx = np.searchsorted(b, np.flatnonzero(mask), side="right") - 1
    for s in np.unique(seg_idx):
        lo, hi = b[s], b[s + 1]
        mk = mask[lo:hi]
        good = np.flatnonzero(~mk)
        if len(good) == 0:
            continue
        bad = np.flatnonzero(mk)
        seg_rr = table.rr_ms[lo:hi]
        seg_rr[bad] = np.interp(bad.astype(np.float64), good.astype(np.float64), seg_rr[good])
