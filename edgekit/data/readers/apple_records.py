"""Apple Health ``export.xml``: what both reading paths of :mod:`.apple_health` share: the record dates and
locale times of day, :func:`_assemble` (one batch of complete HRV records -> beat times, RR and
segments: anchoring, midnight, gaps), the rows collected, and the file's opening checks.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

import numpy as np

from edgekit.data.rr import RRTable
from edgekit.core.errors import InputError


HRV_TYPE = "HKQuantityTypeIdentifierHeartRateVariabilitySDNN"


GAP_FACTOR = 1.5


_TIME_RE = re.compile(
    r"^\s*(\d{1,2})[:.](\d{2})[:.](\d{2})(?:[.,](\d+))?\s*([AaPp]\.?\s?[Mm]\.?)?\s*$"
)
_DATE_RE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\s*$")


def _tod_seconds(h: int, mi: int, s: int, frac: str | None) -> float:
    # the same operations, in the same order, as the vectorised form in _beats_from_matches
    return float(h * 3600 + mi * 60 + s) + (int(frac) / 10 ** len(frac) if frac else 0.0)


def parse_time_of_day(text: str) -> float:
    """Seconds since midnight from a locale-formatted time of day; ValueError when unreadable."""
    m = _TIME_RE.match(text)
    if not m:
        raise ValueError(text)
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3))
    ampm = m.group(5)
    if ampm:
        pm = ampm[0] in "Pp"
        if not 1 <= h <= 12:
            raise ValueError(text)
        h = (h % 12) + (12 if pm else 0)
    if h > 23 or mi > 59 or s > 60:
        raise ValueError(text)
    return _tod_seconds(h, mi, s, m.group(4))


def parse_apple_date(text: str) -> tuple[float, float]:
    """``2023-01-01 23:58:10 +0100`` -> (epoch seconds, seconds since local midnight)."""
    m = _DATE_RE.match(text)
    if not m:
        raise ValueError(text)
    y, mo, d, hh, mm, ss, sign, oh, om = m.groups()
    off = timedelta(hours=int(oh), minutes=int(om))
    if off >= timedelta(hours=24):
        raise ValueError(text)
    tz = timezone(-off if sign == "-" else off)
    dt = datetime(int(y), int(mo), int(d), int(hh), int(mm), int(ss), tzinfo=tz)  # ValueError if invalid
    return dt.timestamp(), float(int(hh) * 3600 + int(mm) * 60 + int(ss))


@lru_cache(maxsize=4096)
def _local_midnight(day: bytes, zone: bytes) -> float:
    """Epoch seconds of 00:00 on ``day`` (``2023-01-01``) at UTC offset ``zone`` (``+0100``)."""
    return parse_apple_date(f"{day.decode()} 00:00:00 {zone.decode()}")[0]


def _record_start(sd: bytes) -> tuple[float, float]:
    """:func:`parse_apple_date` of a ``startDate`` already in the exact form (``_DATE_B``), with
    the day's midnight cached: records of one day share it. The same floats (whole seconds)."""
    hh, mm, ss = int(sd[11:13]), int(sd[14:16]), int(sd[17:19])
    if hh > 23 or mm > 59 or ss > 59:
        raise ValueError(sd)
    tod = float(hh * 3600 + mm * 60 + ss)
    return _local_midnight(sd[:10], sd[20:25]) + tod, tod


def _assemble(tod: np.ndarray, bpm: np.ndarray, starts: np.ndarray, epochs: np.ndarray,
              rtods: np.ndarray, seg0: int):
    """Rows of a batch of whole records (elementwise per beat: results do not depend on batching).

    ``starts[r]`` is the index of record r's first beat (records may be empty), ``seg0`` the segment
    counter before the batch. Returns ``(seg, t, rr, seg_after, bad)`` where ``bad`` is the index of
    the first beat that goes backwards (then the other values are None), else -1.
    """
    n = len(tod)
    R = len(starts)
    counts = np.diff(np.append(starts, n))
    rec = np.repeat(np.arange(R), counts)
    first = np.zeros(n, bool)
    first[starts[counts > 0]] = True
    nf = ~first
    d = np.empty(n)
    d[1:] = tod[1:] - tod[:-1]
    if n:
        d[0] = 0.0
    wrap = nf & (d < -43200.0)  # crossed midnight
    d[wrap] += 86400.0
    back = np.flatnonzero(nf & (d < 0.0))
    if len(back):
        return None, None, None, seg0, int(back[0])
    # first beat: anchored to the record's start within +-12 h
    fidx = starts[rec] if n else np.zeros(0, np.int64)  # index of each beat's record's first beat
    d0 = tod[fidx] - rtods[rec]
    d0 = np.where(d0 < -43200.0, d0 + 86400.0, np.where(d0 > 43200.0, d0 - 86400.0, d0))
    wc = np.cumsum(wrap, dtype=np.int64)
    wraps = wc - wc[fidx]
    t = (epochs[rec] + d0) + ((tod - tod[fidx]) + 86400.0 * wraps)
    rr = d * 1000.0
    gap = nf & ((rr <= 0.0) | (rr > GAP_FACTOR * 60000.0 / bpm))
    gc = np.cumsum(gap, dtype=np.int64)
    seg = seg0 + 1 + rec + gc
    keep = nf & ~gap
    seg_after = seg0 + R + (int(gc[-1]) if n else 0)
    return seg[keep], t[keep], rr[keep], seg_after, -1


class _Rows:
    """Output accumulated as NumPy chunks (no per-beat Python objects kept)."""

    def __init__(self, sink=None):
        self.seg: list[np.ndarray] = []
        self.t: list[np.ndarray] = []
        self.rr: list[np.ndarray] = []
        self.counter = -1
        self.n_records = 0
        self.n_beats = 0
        self.sink = sink  # callable(seg, t, rr): rows go there as they are read instead of being kept

    def add(self, seg, t, rr):
        if len(rr) and self.sink is not None:
            self.sink(seg, t, rr)
        elif len(rr):
            self.seg.append(seg)
            self.t.append(t)
            self.rr.append(rr)

    def table(self, subject: str) -> RRTable:
        def cat(parts, dtype):
            return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)

        seg = cat(self.seg, np.int64)
        self.seg = []
        t = cat(self.t, np.float64)
        self.t = []
        rr = cat(self.rr, np.float64)
        self.rr = []
        n = len(rr)
        return RRTable(np.full(n, subject), seg, t, rr, np.zeros(n, np.int64),
                       meta={"records": self.n_records, "beats": self.n_beats})


class _EntityRefused(Exception):
    pass


class _Fallback(Exception):
    """The fast path is not sure: the strict path reads the file."""


class _RootFound(Exception):
    pass


def _entity_error(path: Path, p) -> InputError:
    return InputError(f"{path}: line {p.CurrentLineNumber}: entity declaration refused "
                      f"(edgekit never expands XML entities)")


def _open_checked(path: Path):
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        head = fh.read(4096)
    except OSError as exc:
        fh.close()
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    if not head.strip():
        fh.close()
        raise InputError(f"{path}: empty file")
    if not head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"<"):
        fh.close()
        raise InputError(f"{path}: line 1: not XML (an Apple Health export.xml starts with '<?xml')")
    fh.seek(0)
    return fh
