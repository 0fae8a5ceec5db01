"""RR cleaning: physiological bounds, artifact detection and correction.

Methods (``--clean``):

- ``kubios``: detection after Lipponen & Tarvainen (2019), J Med Eng Technol 43(3):173-181,
  with per-class correction (extra beats merged, missed beats split, ectopic and long/short beats
  interpolated). The exact rules, constants and order are specified in ``docs/data.md`` so the Swift
  package can reproduce them to 1e-9; keep the two in step.
- ``malik``: Malik's 20 % rule (an interval differing by more than 20 % from the last accepted one
  is rejected and interpolated).
- ``none``: bounds only.

Everything is vectorised with NumPy across all segments of a table at once; the only Python loops
run over artifact *candidates* (a few per hundred beats) or over segments that need interpolation.
The rolling quantiles are :mod:`.rolling`'s, the corrections applied by :mod:`.corrections`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgekit.data.rr import ARTIFACT_MASK, THRESHOLD_EPS_MS, Flag, RRTable, segment_bounds
from edgekit.data.signal.rolling import _row_segment_limits, rolling_quantiles
from edgekit.data.signal.corrections import _apply, _interpolate

# Lipponen & Tarvainen (2019) constants.
ALPHA = 5.2  # threshold = ALPHA * quartile deviation
C1 = 0.13  # ectopic decision boundary slope
C2 = 0.17  # ectopic decision boundary offset
QD_HALF_WINDOW = 45  # 91-beat window for the time-varying thresholds
MED_HALF_WINDOW = 5  # 11-beat median filter for mRR
TH_FLOOR_MS = 1.0  # thresholds never fall below 1 ms (guards a perfectly regular series)
MALIK_FRACTION = 0.2
EXTRA_TOL = 0.25  # missed/extra: the split/merged interval within 25 % of the local median (or Th2)
ECT_MIN_DIFF = 0.3  # an ectopic pair's two intervals differ by >= 30 % of the local median

METHODS = ("kubios", "malik", "none")


@dataclass
class CleanResult:
    table: RRTable  # cleaned beats (out-of-bounds removed, artifacts corrected, flags set)
    n_in: int  # beats read
    n_out_of_bounds: int  # removed by the physiological bounds
    counts: dict  # events per class: detector_rejected, ectopic, missed, extra, long_short, malik
    segment_artifact_pct: np.ndarray  # per output segment: flagged beats / beats, in %
    segment_origin: np.ndarray  # per output segment number: the input segment number it came from

    @property
    def n_corrected(self) -> int:
        return int(sum(self.counts.values()))


# --------------------------------------------------------------------------------------------
# Detection (Lipponen & Tarvainen 2019)
# --------------------------------------------------------------------------------------------


@dataclass
class Detection:
    """Per-beat artifact classification of one pass (indices into the input arrays)."""

    ectopic: np.ndarray  # index j: the pair (j-1, j) is ectopic
    missed: np.ndarray  # index j: interval j hides k >= 2 beats
    missed_k: np.ndarray  # number of parts for each missed index
    extra: np.ndarray  # index j: intervals j and j+1 are one beat split by an extra detection
    long_short: np.ndarray  # index j: interval j is long or short
    subspaces: dict


def detect_kubios(rr: np.ndarray, segment: np.ndarray) -> Detection:
    """Classify artifacts; see docs/data.md ("Artifact detection") for the exact rules."""
    rr = np.asarray(rr, dtype=np.float64)
    n = len(rr)
    start, end = _row_segment_limits(segment)
    j = np.arange(n)
    first = j == start
    # dRR_j = RR_j - RR_{j-1}; undefined (0, and excluded from threshold windows) at segment starts.
    drr = np.zeros(n)
    drr[1:] = rr[1:] - rr[:-1]
    drr[first] = 0.0
    q1, q3 = rolling_quantiles(np.abs(drr), start, end, QD_HALF_WINDOW, (0.25, 0.75), valid=~first)
    th1 = np.maximum(ALPHA * (q3 - q1) / 2.0, TH_FLOOR_MS)
    th1 = np.where(np.isnan(th1), TH_FLOOR_MS, th1)
    d = drr / th1

    def nb(arr: np.ndarray, k: int) -> np.ndarray:
        """arr[j+k] when j+k is in row j's segment and is not the segment's first row, else 0."""
        out = np.zeros(n)
        src = j + k
        ok = (src >= start) & (src < end)
        src_c = np.clip(src, 0, max(n - 1, 0))
        ok &= ~first[src_c]
        out[ok] = arr[src_c[ok]]
        return out

    dm1, dp1, dp2 = nb(d, -1), nb(d, 1), nb(d, 2)
    s12 = np.where(d > 0, np.maximum(dm1, dp1), np.where(d < 0, np.minimum(dm1, dp1), 0.0))
    s22 = np.where(d >= 0, np.minimum(dp1, dp2), np.maximum(dp1, dp2))

    (med,) = rolling_quantiles(rr, start, end, MED_HALF_WINDOW, (0.5,))
    mrr = rr - med
    mrr = np.where(mrr < 0, 2.0 * mrr, mrr)
    q1m, q3m = rolling_quantiles(np.abs(mrr), start, end, QD_HALF_WINDOW, (0.25, 0.75))
    th2 = np.maximum(ALPHA * (q3m - q1m) / 2.0, TH_FLOOR_MS)
    m = mrr / th2

    big = np.abs(d) > 1.0
    # ectopic pattern at j; the pair is the short and the long interval around the ectopic beat:
    # a rise (d_j > 1: RR_j long after a short RR_{j-1}) marks the pair (j-1, j), a drop (d_j < -1:
    # RR_j short, the compensatory pause follows) the pair (j, j+1). `ect` is indexed by the pair's
    # second interval.
    ect_rise = (d > 1) & (s12 < -C1 * d - C2) & ~first
    ect_drop = (d < -1) & (s12 > -C1 * d + C2) & ~first & (j + 1 < end)
    ect = ect_rise.copy()
    ect[1:] |= ect_drop[:-1]
    # ... and is a premature beat (>= 15 % early) with its pause: the two intervals differ by at least
    # ECT_MIN_DIFF of the local median. Without this floor, ordinary respiratory swings just above
    # Th1 in a calm stretch match the pattern and real variability is erased.
    prv = np.maximum(j - 1, 0)
    ect &= np.abs(rr - rr[prv]) >= ECT_MIN_DIFF * med
    bigm = np.abs(m) > 3.0
    cand = big | bigm
    long_ = (d > 1) & (s22 < -1)
    short = (d < -1) & (s22 > 1)
    # missed: interval j holds k = round(RR_j / med_j) >= 2 beats of about the local median
    k = np.rint(rr / med)
    tol = np.maximum(th2, EXTRA_TOL * med)
    missed = cand & (long_ | (bigm & (rr > med))) & (k >= 2) & (np.abs(rr / np.maximum(k, 1) - med) < tol)
    # extra: intervals j and j+1 are both shorter than the local median and their sum is within
    # max(Th2, EXTRA_TOL * med) of it
    nxt = np.minimum(j + 1, n - 1)
    has_next = (j + 1) < end
    cand_next = np.where(has_next, cand[nxt], False)
    extra = ((cand | cand_next) & has_next & (rr < med) & (rr[nxt] < med)
             & (np.abs(rr + rr[nxt] - med) < tol))
    extra &= ~missed
    # an ectopic pair (j-1, j) whose sum fits 2 medians better than RR_j fits k medians is ectopic
    ect_fit = np.abs(rr[prv] + rr - 2.0 * med) < np.abs(rr - k * med)
    missed &= ~(ect & ect_fit)
    # an isolated long/short interval must also deviate from the local median (|mRR| > 3): the dRR
    # pattern alone fires on genuine respiratory swings and would erase real variability
    ls = cand & bigm & ~missed & ~extra & ~ect
    return Detection(
        ectopic=np.flatnonzero(ect),
        missed=np.flatnonzero(missed),
        missed_k=k[missed].astype(np.int64),
        extra=np.flatnonzero(extra),
        long_short=np.flatnonzero(ls),
        subspaces={"drr": d, "mrr": m, "s12": s12, "s22": s22, "th1": th1, "th2": th2, "med": med},
    )


def _resolve(det: Detection, n: int) -> list[tuple[int, int, str, int]]:
    """Turn candidate indices into non-overlapping events (start, stop, kind, k).

    Priority: extra pairs, then missed, then ectopic pairs, then long/short (a missed or extra beat
    often also matches the ectopic pattern, an ectopic pair never sums to ~1 or ~2 medians); within
    a class left to right. A candidate overlapping an accepted event, or touching one (the interval just before or
    just after it, whose dRR is disturbed by the artifact), is dropped.
    """
    covered = np.zeros(n + 2, bool)
    events = []
    for kind, idx, span in (
        ("extra", det.extra, (0, 2)),
        ("missed", det.missed, (0, 1)),
        ("ectopic", det.ectopic, (-1, 1)),
        ("long_short", det.long_short, (0, 1)),
    ):
        ks = det.missed_k if kind == "missed" else np.zeros(len(idx), np.int64)
        for i, kk in zip(idx.tolist(), ks.tolist()):
            a, b = i + span[0], i + span[1]
            if covered[max(a - 1, 0):b + 1].any():
                continue
            covered[a:b] = True
            events.append((a, b, kind, int(kk)))
    events.sort()
    return events


def correct_kubios(table: RRTable, passes: int = 2) -> tuple[RRTable, dict]:
    """Detect and correct; later passes re-run detection only on segments corrected before."""
    counts = {"ectopic": 0, "missed": 0, "extra": 0, "long_short": 0}
    cur = table
    todo = None  # segments to (re)examine; None = all
    for _ in range(passes):
        if len(cur) == 0:
            break
        if todo is None:
            sub, rows = cur, None
        else:
            rows = np.flatnonzero(np.isin(cur.segment, todo))
            if len(rows) == 0:
                break
            sub = cur.take(rows)
        det = detect_kubios(sub.rr_ms, sub.segment)
        events = _resolve(det, len(sub))
        if not events:
            break
        for _, _, kind, _ in events:
            counts[kind] += 1
        fixed = _apply(sub, events)
        todo = np.unique(sub.segment[[a for a, _, _, _ in events]])
        if rows is None:
            cur = fixed
        else:
            rest = np.ones(len(cur), bool)
            rest[rows] = False
            merged = RRTable.concat_rows([cur.take(np.flatnonzero(rest)), fixed])
            cur = merged
    return cur, counts


def correct_malik(table: RRTable, fraction: float = MALIK_FRACTION) -> tuple[RRTable, dict]:
    """Malik's rule: RR_j is rejected when |RR_j - ref| > fraction * ref, where ref is the last
    accepted interval of the segment (the first interval of a segment is accepted as reference only
    if it lies within 20 % of the segment median). Rejected intervals are interpolated."""
    rr = table.rr_ms
    b = table.segment_bounds()
    rej = np.zeros(len(rr), bool)
    for s in range(len(b) - 1):
        lo, hi = int(b[s]), int(b[s + 1])
        seg = rr[lo:hi].tolist()
        med = float(np.median(rr[lo:hi]))
        ref = seg[0] if abs(seg[0] - med) <= fraction * med + THRESHOLD_EPS_MS else med
        for i, v in enumerate(seg):
            if abs(v - ref) > fraction * ref + THRESHOLD_EPS_MS:
                rej[lo + i] = True
            else:
                ref = v
    out = RRTable(table.subject, table.segment, table.time_s, rr.copy(), table.flags.copy())
    out.flags[rej] |= int(Flag.MALIK)
    if rej.any():
        _interpolate(out, rej)
    return out, {"malik": int(rej.sum())}


def apply_bounds(table: RRTable, min_rr_ms: float, max_rr_ms: float) -> tuple[RRTable, int, np.ndarray]:
    """Remove intervals outside [min_rr_ms, max_rr_ms] (or not finite); each removal ends the
    segment (the beats on both sides are no longer successive), so the table is re-segmented
    0, 1, 2, ... in order.

    Returns (table, number removed, input segment number of each output segment).
    """
    rr = table.rr_ms
    with np.errstate(invalid="ignore"):
        # NaN fails every comparison; bounds allow THRESHOLD_EPS_MS of floating-point slack
        bad = ~((rr > 0) & (rr >= min_rr_ms - THRESHOLD_EPS_MS) & (rr <= max_rr_ms + THRESHOLD_EPS_MS))
    n_bad = int(bad.sum())
    keep = ~bad
    # a new output segment starts at an input segment change or right after a removed interval
    starts = np.zeros(len(table), bool)
    if len(table):
        starts[0] = True
        starts[1:] = (table.segment[1:] != table.segment[:-1]) | bad[:-1]
    # only kept rows carry segments; a start on a removed row moves to the next kept row
    grp = np.cumsum(starts)  # group id per row (1-based)
    kept_grp = grp[keep]
    newseg = np.zeros(len(kept_grp), np.int64)
    if len(kept_grp):
        newseg[1:] = np.cumsum(kept_grp[1:] != kept_grp[:-1])
    out = RRTable(table.subject[keep], newseg, table.time_s[keep], table.rr_ms[keep], table.flags[keep])
    b = segment_bounds(newseg)
    origin = table.segment[keep][b[:-1]] if len(newseg) else np.zeros(0, np.int64)
    return out, n_bad, origin


def clean(table: RRTable, method: str = "kubios", min_rr_ms: float = 300.0,
          max_rr_ms: float = 2000.0) -> CleanResult:
    """Bounds (upper), artifact detection/correction with ``method``, bounds (lower and upper).

    ``n_out_of_bounds`` counts the removals of both bound passes."""
    if method not in METHODS:
        raise ValueError(f"unknown cleaning method {method!r}; expected one of {METHODS}")
    n_in = len(table)
    # Upper bound first (a too-long interval is a gap, not beats to split); intervals below the
    # lower bound stay for the artifact pass, which merges an extra beat's halves back into one
    # interval, and are removed afterwards if still short.
    t, n_long, origin = apply_bounds(table, np.nextafter(0.0, 1.0), max_rr_ms)
    n_rej = 0
    if method != "none":
        # intervals next to a peak the detector (HeartPy) rejected: their values are not beat-to-beat
        # intervals; interpolated like ectopic beats (flag kept, counted) before artifact detection
        rej = (t.flags & int(Flag.DETECTOR_REJECTED)) != 0
        n_rej = int(rej.sum())
        if n_rej:
            _interpolate(t, rej)
    if method == "kubios":
        t, counts = correct_kubios(t)
    elif method == "malik":
        t, counts = correct_malik(t)
    else:
        counts = {}
    if method != "none":
        counts = {"detector_rejected": n_rej, **counts}
    t, n_short, origin2 = apply_bounds(t, min_rr_ms, max_rr_ms)
    origin = origin[origin2] if len(origin2) else np.zeros(0, np.int64)
    n_oob = n_long + n_short
    b = t.segment_bounds()
    flagged = (t.flags & ARTIFACT_MASK) != 0
    if len(t):
        per = np.add.reduceat(flagged.astype(np.int64), b[:-1]) / np.diff(b) * 100.0
    else:
        per = np.zeros(0)
    return CleanResult(t, n_in, n_oob, counts, per, origin)
