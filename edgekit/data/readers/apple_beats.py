"""The beats of many HRV records at once, parsed as a byte matrix (no Python object per beat).

An Apple Health export writes each beat as
``<InstantaneousBeatsPerMinute bpm="78" time="23:01:41.51"/>`` (12-hour locales add `` PM`` or
``\\u202fPM``). :func:`plain_beats` finds every such element inside the given record bodies with
NumPy, gathers the bytes after ``bpm="`` into one (beats x ≤ 56) matrix, groups the rows by shape,
checks one element per shape with :data:`PLAIN_BEAT_RE` and reads the digits column by column. It
accepts exactly what that pattern matches and returns None for anything else (the caller then uses
the regular expressions, which know every other form), so the two cannot disagree. Values are computed as the regex path computes them: bpm = digits / 10**k (one correctly
rounded division of exact integers, which is what parsing the decimal text gives), time of day =
h*3600 + min*60 + s + fraction digits / 10**len.

Written here because no library parses this element form without building a Python object per
beat, which was most of the reader's time (4.4 M beats in a 300 MB export).
"""

from __future__ import annotations

import re

import numpy as np

# the form exports are written in (groups: bpm, hour, minute, second, fraction, A/P)
PLAIN_BEAT_RE = re.compile(
    rb'<InstantaneousBeatsPerMinute bpm="(\d{1,3}(?:\.\d{1,6})?)" time="(\d{1,2})[:.](\d\d)[:.](\d\d)'
    rb'(?:[.,](\d{1,15}))?(?:(?: |\xe2\x80\xaf)([AaPp])M)?"/>')
_NAME = np.frombuffer(b"<InstantaneousBeatsPerMinute", np.uint8)  # what counts as a beat element
_HEAD = b'<InstantaneousBeatsPerMinute bpm="'  # the plain form's first bytes
MAX_TAIL = 50  # bytes after 'bpm="' that the longest plain beat uses (3.6 bpm + 8 + 2:2:2.15 + 5 + 3)
_PAD = 128
POW10 = np.array([float(10 ** k) for k in range(16)])  # 10.0 ** k, exact
_POW10_INT = np.array([10 ** k for k in range(16)], np.int64)
_HASH = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5,
                  0x85EBCA77C2B2AE63, 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x94D049BB133111EB], np.uint64)


def element_starts(a: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Offsets of every ``<InstantaneousBeatsPerMinute`` in ``a`` (uint8, padded by ``_PAD`` zero
    bytes) that lies in a body ``[lo[r], hi[r])`` (sorted, disjoint), and the body index r of each."""
    lt = np.flatnonzero(a[: len(a) - _PAD] == 60)  # '<'
    lt = lt[a[lt + 1] == 73]  # 'I'
    if len(lt):
        lt = lt[(a[lt[:, None] + np.arange(len(_NAME))] == _NAME).all(axis=1)]
    rec = np.searchsorted(lo, lt, side="right") - 1
    inside = (rec >= 0) & (lt < hi[np.maximum(rec, 0)]) if len(lo) else np.zeros(len(lt), bool)
    return lt[inside], rec[inside]


def _number(W: np.ndarray, c0: int, c1: int) -> np.ndarray:
    """int64 value of the ASCII digits in columns [c0, c1) of every row of W."""
    v = np.zeros(len(W), np.int64)
    for c in range(c0, c1):
        v = v * 10 + (W[:, c].astype(np.int64) - 48)
    return v


def plain_beats(buf: bytes, lo: np.ndarray, hi: np.ndarray):
    """(tod s, bpm, beats per body) of the beats in the bodies ``[lo[r], hi[r])`` of ``buf``, in
    order; None unless every beat element there has the plain form (see the module docstring).

    Rows are grouped by shape (the element's bytes with each digit replaced by one marker). Whether
    the regex accepts an element depends on its shape alone (``\\d`` or a literal at each place), so
    the regex checks one element per shape and its groups give the digit columns of all of them.
    Plausibility (hour ≤ 23, 0 < bpm < 400, ...) is checked as on the regex path."""
    lo = np.asarray(lo, np.int64)
    hi = np.asarray(hi, np.int64)
    a = np.frombuffer(buf + bytes(_PAD), np.uint8)
    p, rec = element_starts(a, lo, hi)
    counts = np.bincount(rec, minlength=len(lo))
    n = len(p)
    if n == 0:
        return np.zeros(0), np.zeros(0), counts
    gt = np.flatnonzero(a == 62)  # '>': an element ends at the first one after its start
    k = np.searchsorted(gt, p)
    if k[-1] >= len(gt):
        return None
    tail0 = p + len(_HEAD)
    length = gt[k] + 1 - tail0  # bytes from after 'bpm="' to the '>' included
    if length.min() < 1 or length.max() > MAX_TAIL:
        return None
    width = -(-int(length.max()) // 8) * 8
    W = a[tail0[:, None] + np.arange(width)]
    W[np.arange(width)[None, :] >= length[:, None]] = 0
    shape = np.where((W >= 48) & (W <= 57), np.uint8(48), W)
    key = (np.ascontiguousarray(shape).view(np.uint64) * _HASH[: width // 8]).sum(axis=1)
    keys, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    if not (shape == shape[first[inverse]]).all():
        return None  # two shapes with one key: let the regex path decide
    bpm = np.empty(n)
    h = np.empty(n, np.int64)
    mi = np.empty(n, np.int64)
    s = np.empty(n, np.int64)
    frac = np.zeros(n)
    has_ap = np.zeros(n, bool)
    pm = np.zeros(n, bool)
    for g, r in enumerate(first):
        rows = np.flatnonzero(inverse == g) if len(keys) > 1 else np.arange(n)
        text = _HEAD + W[r, : length[r]].tobytes()
        m = PLAIN_BEAT_RE.fullmatch(text)
        if m is None:
            return None
        Wg = W[rows]
        off = len(_HEAD)
        b0, b1 = m.span(1)
        dot = text.find(b".", b0, b1)
        if dot < 0:
            bpm[rows] = _number(Wg, b0 - off, b1 - off).astype(np.float64)
        else:  # digits / 10**k: one correctly rounded division, as parsing the decimal text
            nd = b1 - dot - 1
            whole = _number(Wg, b0 - off, dot - off) * _POW10_INT[nd] + _number(Wg, dot + 1 - off, b1 - off)
            bpm[rows] = whole.astype(np.float64) / POW10[nd]
        h[rows] = _number(Wg, m.start(2) - off, m.end(2) - off)
        mi[rows] = _number(Wg, m.start(3) - off, m.end(3) - off)
        s[rows] = _number(Wg, m.start(4) - off, m.end(4) - off)
        if m.start(5) >= 0:
            f0, f1 = m.span(5)
            frac[rows] = _number(Wg, f0 - off, f1 - off).astype(np.float64) / POW10[f1 - f0]
        if m.start(6) >= 0:
            has_ap[rows] = True
            pm[rows] = (Wg[:, m.start(6) - off] == 80) | (Wg[:, m.start(6) - off] == 112)
    values = beat_values(bpm, h, mi, s, frac, has_ap, pm)
    return None if values is None else (*values, counts)


def beat_values(bpm: np.ndarray, h: np.ndarray, mi: np.ndarray, s: np.ndarray, frac: np.ndarray,
                has_ap: np.ndarray, pm: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(tod s, bpm) from the fields of parsed beats (hour as written, ``has_ap``/``pm``: an AM/PM
    marker and which), or None where the strict path would object (12-hour hour outside 1-12, hour
    > 23, minute > 59, second > 60, bpm outside (0, 400)). Shared by both fast-path parsers."""
    if has_ap.any():
        if np.any(has_ap & ((h < 1) | (h > 12))):
            return None
        h = np.where(has_ap, h % 12 + 12 * pm, h)
    if np.any((h > 23) | (mi > 59) | (s > 60)) or not np.all((bpm > 0) & (bpm < 400)):
        return None
    return (h * 3600 + mi * 60 + s).astype(np.float64) + frac, bpm
