"""Shared pieces of the RR readers: value and unit checks, beat clocks and the chunks of one file.

Every check raises :class:`edgekit.core.errors.InputError` naming the file and line.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import numpy as np

from edgekit.core.errors import InputError
from edgekit.data.rr import RRTable

GAP_S = 3.0  # a beat whose timestamp advances more than its RR + GAP_S starts a new segment
ABSURD_RR_MS = 60_000.0  # a single value above this (or <= 0) is not an RR interval
UNIT_RULE_MS = 10.0  # unit auto-detection: median value < 10 -> seconds, else milliseconds


def _number(text: str, path: Path, lineno: int, what: str = "value") -> float:
    s = text.strip()
    try:
        v = float(s)
    except ValueError:
        raise InputError(f"{path}: line {lineno}: non-numeric {what} {s[:40]!r}") from None
    if not math.isfinite(v):
        raise InputError(f"{path}: line {lineno}: {what} is {s!r} (not a finite number)")
    return v


def _check_rr(rr: np.ndarray, lines: np.ndarray, path: Path) -> None:
    bad = np.flatnonzero((rr <= 0) | (rr > ABSURD_RR_MS))
    if len(bad):
        i = bad[0]
        raise InputError(f"{path}: line {lines[i]}: RR interval {rr[i]:g} ms is negative, zero or absurd")


def check_unit(unit: str) -> None:
    """Refuse a ``--unit`` other than auto, ms or s."""
    if unit not in ("auto", "ms", "s"):
        raise InputError(f"unknown unit {unit!r}; expected auto, ms or s")


def _detect_unit(values: np.ndarray, unit: str) -> float:
    """Scale to milliseconds. Rule: ``auto`` treats the file as seconds when its median < 10."""
    if unit == "ms":
        return 1.0
    if unit == "s":
        return 1000.0
    return 1000.0 if np.median(values) < UNIT_RULE_MS else 1.0


def _detect_unit_streamed(value_chunks: Iterable[np.ndarray], unit: str) -> float:
    """:func:`_detect_unit` over a file read in chunks, in constant memory (only ``auto`` reads them).

    ``np.median(v) < 10`` from counts: with n values of which ``below`` are < 10, the median is
    below 10 when more than half are; for even n with exactly half below it is the mean of the largest
    value below 10 and the smallest value at or above it (the two middle values), as np.median takes.
    """
    if unit != "auto":
        return _detect_unit(np.empty(0), unit)
    n = below = 0
    top_below, low_above = -math.inf, math.inf
    for v in value_chunks:
        is_below = v < UNIT_RULE_MS
        n += len(v)
        k = int(is_below.sum())
        below += k
        if k:
            top_below = max(top_below, float(v[is_below].max()))
        if k < len(v):
            low_above = min(low_above, float(v[~is_below].min()))
    if 2 * below > n:
        seconds = True
    elif 2 * below < n:
        seconds = False
    else:  # even n, exactly half below 10
        seconds = (top_below + low_above) / 2 < UNIT_RULE_MS
    return 1000.0 if seconds else 1.0


def _segments_from_times(t: np.ndarray, rr_ms: np.ndarray, gap_s: float) -> np.ndarray:
    seg = np.zeros(len(t), np.int64)
    if len(t) > 1:
        jump = (np.diff(t) - rr_ms[1:] / 1000.0) > gap_s
        seg[1:] = np.cumsum(jump)
    return seg


def _check_monotonic(t: np.ndarray, lines: np.ndarray, path: Path) -> None:
    back = np.flatnonzero(np.diff(t) < 0)
    if len(back):
        i = back[0] + 1
        raise InputError(f"{path}: line {lines[i]}: timestamp goes backwards")


class RRChunk(NamedTuple):
    """Consecutive rows of one input (n beats): ``segment`` (n,) int64, 0-based and nondecreasing
    within the input; ``time_s`` (n,) beat times in s; ``rr_ms`` (n,) intervals in ms."""

    segment: np.ndarray
    time_s: np.ndarray
    rr_ms: np.ndarray


class _BeatClock:
    """Beat times and segments of one file read in chunks: the cumulative RR sum, the timestamp order
    check and the gap split carry over from one chunk to the next, so the rows are those of the file
    read whole (``np.cumsum`` adds in order, so carrying the running sum gives the same floats)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sum_ms = 0.0
        self.last_t: float | None = None
        self.last_segment = 0

    def cumulative(self, rr_ms: np.ndarray) -> RRChunk:
        """One segment; beat times are the running sum of the intervals (s from the first beat)."""
        total = np.cumsum(np.concatenate(([self.sum_ms], rr_ms)))[1:]
        self.sum_ms = float(total[-1])
        return RRChunk(np.zeros(len(rr_ms), np.int64), total / 1000.0, rr_ms)

    def timed(self, t: np.ndarray, rr_ms: np.ndarray, lines: np.ndarray, gap_s: float) -> RRChunk:
        """Timestamps that must not go backwards; a beat more than its RR + ``gap_s`` after the
        previous one starts a new segment."""
        if self.last_t is None:
            _check_monotonic(t, lines, self.path)
            seg = _segments_from_times(t, rr_ms, gap_s)
        else:
            _check_monotonic(np.concatenate(([self.last_t], t)), np.concatenate(([0], lines)), self.path)
            seg = self.last_segment + _segments_from_times(np.concatenate(([self.last_t], t)),
                                                           np.concatenate(([0.0], rr_ms)), gap_s)[1:]
        self.last_t = float(t[-1])
        self.last_segment = int(seg[-1])
        return RRChunk(seg, t, rr_ms)


def _sniff_delimiter(header: str, path: Path, candidates: str = ",;\t") -> str:
    counts = {d: header.count(d) for d in candidates}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _table(path: Path, chunks: Iterable[RRChunk]) -> RRTable:
    """The chunks of one file as one table (subject: the file stem)."""
    parts = list(chunks)
    seg, t, rr = (np.concatenate([getattr(c, f) for c in parts]) for f in RRChunk._fields)
    return RRTable(np.full(len(rr), path.stem), seg, t, rr, np.zeros(len(rr), np.int64))
