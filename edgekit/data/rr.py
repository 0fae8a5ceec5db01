"""The RR table: one row per RR interval, the common currency of every reader and stage.

Columns (all NumPy arrays of equal length, in time order within each segment):

- ``subject`` (str): subject / recording id.
- ``segment`` (int64): segment number; a gap (timestamps jump, a record ends, sensor off) starts a
  new segment. Segment numbers increase through the table; no window or difference ever spans two.
- ``time_s`` (float64): beat timestamp, seconds since the Unix epoch (UTC) when the source has a
  clock, else seconds since the start of the recording. The timestamp is the time of the beat that
  *ends* the interval.
- ``rr_ms`` (float64): the RR interval in milliseconds.
- ``flags`` (int64): bit mask, see :class:`Flag`. 0 = a normal beat as read.

CSV form (``edgekit data ingest`` output): header ``subject,segment,time_s,rr_ms,flags``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from enum import IntFlag
from pathlib import Path

import numpy as np

from edgekit.core.errors import InputError
from edgekit.core.fileio import atomic_path

COLUMNS = ("subject", "segment", "time_s", "rr_ms", "flags")

# Threshold comparisons on RR values and successive differences (pNN50's 50 ms, Malik's 20 %, the
# physiological bounds) allow this much floating-point slack (ms): a value counts as above a
# threshold only when it exceeds it by more than THRESHOLD_EPS_MS. Intervals derived from timestamps
# (Apple Watch: 10 ms resolution) carry float noise (beat times of ~1.7e9 s in float64 carry
# ~2.4e-4 ms each, so a difference of intervals can be off by ~1e-3 ms): an exact 50 ms step would
# otherwise count or not by chance, and a CSV round trip could change pNN50. No recording resolves
# RR finer than 1 ms, so 0.01 ms changes no real comparison. The Swift port uses the same constant.
THRESHOLD_EPS_MS = 0.01


class Flag(IntFlag):
    """Per-beat flags. Readers set DETECTOR_REJECTED; cleaning sets the rest."""

    NONE = 0
    DETECTOR_REJECTED = 1  # the peak detector (HeartPy) rejected a peak bounding this interval
    OUT_OF_BOUNDS = 2  # outside [min_rr_ms, max_rr_ms]; removed, splits the segment
    ECTOPIC = 4  # part of an ectopic (short-long / long-short) pair; interpolated
    MISSED = 8  # a missed beat: this interval was split in two (or more)
    EXTRA = 16  # an extra beat: this interval is the merge of two detected intervals
    LONG_SHORT = 32  # an isolated long or short interval; interpolated
    MALIK = 64  # rejected by Malik's 20 % rule; interpolated
    INSERTED = 128  # a beat created by correction (second half of a split)

    @classmethod
    def artifact_mask(cls) -> int:
        return int(cls.DETECTOR_REJECTED | cls.OUT_OF_BOUNDS | cls.ECTOPIC | cls.MISSED | cls.EXTRA
                   | cls.LONG_SHORT | cls.MALIK)


ARTIFACT_MASK = Flag.artifact_mask()


@dataclass
class RRTable:
    subject: np.ndarray
    segment: np.ndarray
    time_s: np.ndarray
    rr_ms: np.ndarray
    flags: np.ndarray
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.subject = np.asarray(self.subject, dtype=str)
        self.segment = np.asarray(self.segment, dtype=np.int64)
        self.time_s = np.asarray(self.time_s, dtype=np.float64)
        self.rr_ms = np.asarray(self.rr_ms, dtype=np.float64)
        self.flags = np.asarray(self.flags, dtype=np.int64)
        n = len(self.rr_ms)
        for name in COLUMNS:
            if len(getattr(self, name)) != n:
                raise ValueError(f"RRTable column {name} has {len(getattr(self, name))} rows, expected {n}")

    def __len__(self) -> int:
        return len(self.rr_ms)

    @classmethod
    def empty(cls) -> RRTable:
        return cls(np.array([], dtype=str), np.array([], np.int64), np.array([]), np.array([]),
                   np.array([], np.int64))

    @classmethod
    def concat(cls, tables: list[RRTable]) -> RRTable:
        """Concatenate tables, renumbering segments so they stay distinct and increasing."""
        tables = [t for t in tables if len(t)]
        if not tables:
            return cls.empty()
        segs = []
        offset = 0
        for t in tables:
            _, inv = np.unique(t.segment, return_inverse=True)
            # keep order of first appearance: segments are already increasing within a table
            segs.append(inv.astype(np.int64) + offset)
            offset += int(inv.max()) + 1 if len(inv) else 0
        return cls(
            np.concatenate([t.subject for t in tables]),
            np.concatenate(segs),
            np.concatenate([t.time_s for t in tables]),
            np.concatenate([t.rr_ms for t in tables]),
            np.concatenate([t.flags for t in tables]),
        )

    @classmethod
    def concat_rows(cls, tables: list[RRTable]) -> RRTable:
        """Concatenate rows keeping segment numbers, then order stably by segment (then time)."""
        cat = cls(
            np.concatenate([t.subject for t in tables]),
            np.concatenate([t.segment for t in tables]),
            np.concatenate([t.time_s for t in tables]),
            np.concatenate([t.rr_ms for t in tables]),
            np.concatenate([t.flags for t in tables]),
        )
        order = np.argsort(cat.segment, kind="stable")
        return cat.take(order)

    def take(self, idx: np.ndarray) -> RRTable:
        return RRTable(self.subject[idx], self.segment[idx], self.time_s[idx], self.rr_ms[idx],
                       self.flags[idx], dict(self.meta))

    def segment_bounds(self) -> np.ndarray:
        """Start offsets of each segment plus the end: segment k is rows [b[k], b[k+1])."""
        return segment_bounds(self.segment)


def segment_bounds(segment: np.ndarray) -> np.ndarray:
    seg = np.asarray(segment)
    if len(seg) == 0:
        return np.array([0], dtype=np.int64)
    change = np.flatnonzero(seg[1:] != seg[:-1]) + 1
    return np.concatenate([[0], change, [len(seg)]]).astype(np.int64)


def write_csv(table: RRTable, path: str | Path) -> None:
    """Write the table as CSV (atomically; no partial file on failure)."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(",".join(COLUMNS) + "\n")
            # Vectorised formatting: repr-exact floats are not needed; 6 decimals of seconds
            # (µs) and 6 decimals of ms keep every reader's precision.
            n = len(table)
            chunk = 200_000
            for a in range(0, n, chunk):
                b = min(n, a + chunk)
                subj = table.subject[a:b]
                if any("," in s or '"' in s or "\n" in s for s in np.unique(subj)):
                    raise InputError(f"{path}: subject ids must not contain commas, quotes or newlines")
                lines = np.char.add(subj.astype(object).astype(str), ",")
                parts = [
                    lines,
                    np.char.mod("%d,", table.segment[a:b]),
                    np.char.mod("%.6f,", table.time_s[a:b]),
                    np.char.mod("%.6f,", table.rr_ms[a:b]),
                    np.char.mod("%d\n", table.flags[a:b]),
                ]
                out = parts[0]
                for p in parts[1:]:
                    out = np.char.add(out, p)
                fh.write("".join(out.tolist()))


def read_text_file(path: Path) -> str:
    """The text of a UTF-8 file (a BOM is dropped), or a one-line ``InputError`` naming the file:
    missing, unreadable, empty, binary, or not UTF-8."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    if not raw.strip():
        raise InputError(f"{path}: empty file")
    if b"\x00" in raw[:4096]:
        raise InputError(f"{path}: binary data, not a text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def read_csv(path: str | Path) -> RRTable:
    """Read a CSV written by :func:`write_csv` (the ``edgekit data ingest`` output)."""
    path = Path(path)
    text = read_text_file(path)
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise InputError(f"{path}: empty file")
    if tuple(h.strip() for h in header) != COLUMNS:
        raise InputError(f"{path}: line 1: expected header {','.join(COLUMNS)}, got {','.join(header)}")
    subj, seg, t, rr, fl = [], [], [], [], []
    for lineno, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != 5:
            raise InputError(f"{path}: line {lineno}: expected 5 fields, got {len(row)}")
        try:
            subj.append(row[0])
            seg.append(int(row[1]))
            t.append(float(row[2]))
            rr.append(float(row[3]))
            fl.append(int(row[4]))
        except ValueError:
            raise InputError(f"{path}: line {lineno}: non-numeric value in {row!r}") from None
        if not np.isfinite(rr[-1]) or not np.isfinite(t[-1]):
            raise InputError(f"{path}: line {lineno}: non-finite value")
    if not rr:
        raise InputError(f"{path}: no RR rows after the header")
    return RRTable(np.array(subj, dtype=str), np.array(seg), np.array(t), np.array(rr), np.array(fl))
