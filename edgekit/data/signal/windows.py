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

from edgekit.data.rr import ARTIFACT_MASK, RRTable, segment_bounds, ARTIFACT_MASK as _MASK

MIN_HOUR_DIFFS = 30
MAX_MISSING_HOURS = 2
MIN_SLOT_DIFFS = 20  # hourly slots (watch forecaster): an hour holding >= 20 differences is present
MIN_READING_BEATS = 45  # reading windows (watch strain classifier): a reading needs >= 45 clean beats


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


def hourly_rmssd(table: RRTable, max_artifact_pct: float, min_diffs: int = MIN_HOUR_DIFFS,
                 utc_offset_s: float = 0.0) -> dict[str, tuple[int, np.ndarray]]:
    """Per subject: (first hour index, RMSSD per hour with NaN for missing hours). Hours are
    ``floor((time_s + utc_offset_s) / 3600)``: the wearer's local clock hours when ``utc_offset_s``
    is their UTC offset (UTC hours by default)."""
    out = {}
    if len(table) == 0:
        return out
    t = table.time_s if not utc_offset_s else table.time_s + float(utc_offset_s)
    hour = np.floor(t / 3600.0).astype(np.int64)
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
        ok = (n_d >= min_diffs) & (n_f * 100.0 <= max_artifact_pct * np.maximum(n_b, 1))
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


READING_JOIN_S = 5.0  # reading windows: parts of one reading split by a short gap are joined


def reading_units(table: RRTable, join_gap_s: float = READING_JOIN_S) -> list[list[tuple[int, int]]]:
    """Readings of a cleaned table: runs of consecutive segments of one subject in which each
    segment's first beat comes at most ``join_gap_s`` seconds after the previous segment's last
    beat (a reading split by cleaning, or by dropped beats). Each is a list of (first row, end row)."""
    b = segment_bounds(table.segment)
    units: list[list[tuple[int, int]]] = []
    for a, e in zip(b[:-1].tolist(), b[1:].tolist()):
        if e <= a:
            continue
        if units:
            pa, pe = units[-1][-1]
            if (table.subject[pe - 1] == table.subject[a]
                    and 0.0 <= table.time_s[a] - table.time_s[pe - 1] <= join_gap_s):
                units[-1].append((a, e))
                continue
        units.append([(a, e)])
    return units


def reading_windows(table: RRTable, n_slots: int, min_beats: int, max_artifact_pct: float,
                    pieces: bool = False, seed: int = 0, max_pieces: int = 48,
                    join_gap_s: float = READING_JOIN_S, every: bool = False):
    """Reading windows (strain classifier on single readings): ``n_slots`` slots holding one
    reading's beats, oldest first, then absent markers (RR = 0 ms) when it has fewer.

    A reading is a run of segments joined by gaps of at most ``join_gap_s`` (:func:`reading_units`);
    its sequence is the segments' RR values with one 0 between consecutive segments (the model
    takes no difference across it). Inference (``pieces=False``): one window per reading with
    >= ``min_beats`` beats — the newest ``min(length, n_slots)`` values of its sequence (a leading
    0 dropped). Training (``pieces=True``): a sequence of at most ``n_slots`` values gives one window;
    a longer one is cut into consecutive pieces whose lengths are drawn uniformly from
    [min_beats, n_slots] (generator ``default_rng([seed, first segment number])``), at most
    ``max_pieces`` kept, evenly spread. A window whose artifact fraction (flagged beats / beats)
    exceeds ``max_artifact_pct`` is excluded and counted.
    ``every`` (``edgekit predict``: every reading of a file): a sequence longer than ``n_slots`` is cut
    into consecutive pieces of ``n_slots`` values ending with its newest (the newest piece is the
    inference window above), the oldest piece kept when it holds >= ``min_beats`` beats.
    Returns (X (W, n_slots) float64, segment index (of the first beat) per window, first row, beats
    per window, n_excluded).
    """
    flagged = (table.flags & _MASK) != 0
    seg_index = np.searchsorted(segment_bounds(table.segment), np.arange(len(table)), side="right") - 1
    rows, segs, starts, lens = [], [], [], []
    n_excl = 0
    for unit in reading_units(table, join_gap_s):
        idx = np.concatenate([np.r_[-1, np.arange(a, e)] if i else np.arange(a, e) for i, (a, e) in enumerate(unit)])
        n = int((idx >= 0).sum())
        if n < min_beats:
            continue
        m = len(idx)
        if every and not pieces and m > n_slots:
            cuts = [(max(0, c1 - n_slots), c1) for c1 in range(m, 0, -n_slots)][::-1]
        elif not pieces or m <= n_slots:
            cuts = [(max(0, m - n_slots), m)]
        else:
            rng = np.random.default_rng([seed, int(table.segment[unit[0][0]])])
            cuts, c = [], 0
            while True:
                ln = int(rng.integers(min_beats, n_slots + 1))
                if c + ln > m:
                    break
                cuts.append((c, c + ln))
                c += ln
            if len(cuts) > max_pieces:
                keep = np.linspace(0, len(cuts) - 1, max_pieces).round().astype(int)
                cuts = [cuts[i] for i in keep]
        for c0, c1 in cuts:
            part = idx[c0:c1]
            if len(part) and part[0] < 0:
                part = part[1:]
            beats = part[part >= 0]
            if len(beats) < min_beats:
                continue
            if flagged[beats].sum() * 100.0 > max_artifact_pct * len(beats):
                n_excl += 1
                continue
            x = np.zeros(n_slots)
            x[: len(part)] = np.where(part >= 0, table.rr_ms[np.maximum(part, 0)], 0.0)
            rows.append(x)
            segs.append(int(seg_index[beats[0]]))
            starts.append(int(beats[0]))
            lens.append(len(beats))
    X = np.array(rows).reshape(-1, n_slots)
    return X, np.array(segs, np.int64), np.array(starts, np.int64), np.array(lens, np.int64), n_excl


def crop_readings(X: np.ndarray, min_beats: int, rng: np.random.Generator, fraction: float = 1.0) -> np.ndarray:
    """Training augmentation of reading windows (``train.crop_fraction``): each row of ``X`` (W, N),
    with probability ``fraction``, becomes an input of a shorter reading — a run of k consecutive
    slots of its sequence moved to slot 0, 0 (absent) after it. L = the row's sequence length (last
    present slot + 1); k is drawn uniformly in [min_beats, L], the start uniformly in [0, L − k]; a
    leading 0 (segment separator) is dropped as :func:`reading_windows` drops it. A row with
    L <= min_beats, or whose cut holds fewer than ``min_beats`` beats, is kept as it is. Every row
    takes three uniform draws from ``rng`` whatever happens to it, so the draws of row i do not
    depend on the other rows. Returns a new array of X's dtype."""
    X = np.asarray(X)
    n, N = X.shape
    present = X > 0
    L = np.where(present.any(axis=1), N - np.argmax(present[:, ::-1], axis=1), 0)
    u = rng.random((n, 3))
    cut = (u[:, 0] < fraction) & (L > min_beats)
    k = np.minimum(min_beats + np.floor(u[:, 1] * (L - min_beats + 1)).astype(np.int64), L)
    k = np.maximum(k, 0)
    s = np.floor(u[:, 2] * (L - k + 1)).astype(np.int64)
    lead0 = (X[np.arange(n), np.clip(s, 0, N - 1)] <= 0) & (k > 0)
    s, k = s + lead0, k - lead0
    cols = np.arange(N)
    Y = np.take_along_axis(X, np.minimum(s[:, None] + cols[None, :], N - 1), axis=1)
    Y = np.where(cols[None, :] < k[:, None], Y, 0)
    ok = cut & ((Y > 0).sum(axis=1) >= min_beats)
    return np.where(ok[:, None], Y, X).astype(X.dtype)


def hourly_slots(rmssd_by_subject: dict, subject: str, end_hour_abs: int, hours: int = 24) -> np.ndarray:
    """Hourly slots (forecaster on irregular readings): RMSSD of hours [e-hours, e) of one subject,
    oldest first, an absent hour (no RMSSD, or outside the recording) as 0."""
    x = np.zeros(hours)
    if subject not in rmssd_by_subject:
        return x
    h0, r = rmssd_by_subject[subject]
    for i, h in enumerate(range(end_hour_abs - hours, end_hour_abs)):
        j = h - h0
        if 0 <= j < len(r) and np.isfinite(r[j]):
            x[i] = r[j]
    return x
