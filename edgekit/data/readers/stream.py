"""Streaming RR-table CSV output: rows are formatted and written as a reader produces them.

``edgekit data ingest`` of an Apple Health export goes through here (:func:`ingest_apple_health`),
and of Polar, rr-text and CSV recordings (:func:`ingest_recordings`): the reader hands over about
one MiB of the input at a time, the rows go straight to a temporary file beside the output,
renamed into place at the end. Peak memory does not depend on the size of
the input; any error leaves nothing behind (``edgekit.core.fileio.atomic_path``).

The bytes are those of ``rr.write_csv(readers.read(...))`` (tests compare them): the same columns,
the same ``%.6f`` / ``%d`` formatting, and segments renumbered 0, 1, 2, ... through all inputs in
order of first appearance, as ``RRTable.concat`` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from edgekit.data.rr import COLUMNS
from edgekit.core.errors import InputError
from edgekit.core.fileio import atomic_path
from edgekit.data.clock import has_clock, parse_start
from edgekit.data.readers import formats as readers
from edgekit.data.readers.apple_health import stream_export


def format_rows(subject: str, segment: np.ndarray, time_s: np.ndarray, rr_ms: np.ndarray,
                flags: np.ndarray | None = None) -> str:
    """CSV lines (each ending in a newline) of rows of one subject, formatted like ``rr.write_csv``
    (``%d``, ``%.6f``): :func:`_format_rows_numpy` when every value is exact there, else Python's
    formatting row by row (what ``np.char.mod`` calls per element)."""
    segment = np.asarray(segment, np.int64)
    flags = np.zeros(len(rr_ms), np.int64) if flags is None else np.asarray(flags, np.int64)
    out = _format_rows_numpy(subject, segment, np.asarray(time_s, np.float64),
                             np.asarray(rr_ms, np.float64), flags)
    if out is not None:
        return out
    return "".join([f"{subject},{g},{t:.6f},{r:.6f},{f}\n" for g, t, r, f in zip(
        segment.tolist(), time_s.tolist(), rr_ms.tolist(), flags.tolist())])


def _fixed6(x: np.ndarray):
    """``x`` rounded to 6 decimals as (integer part, millionths), both int64, exactly as
    ``"%.6f" % x`` rounds (half to even on the exact binary value); None when any value is not
    certain (negative, not finite, >= 2**52 / 1e6, or x * 1e6 within half an ulp of a half)."""
    y = x * 1e6
    with np.errstate(invalid="ignore"):
        if not (np.all(x >= 0) and np.all(y < 2.0 ** 52)):
            return None
        frac = y - np.floor(y)  # exact for y < 2**52
        # y is within half an ulp of the exact x * 10**6: no half between them, same rounding
        if np.any(np.abs(frac - 0.5) <= 0.5 * np.spacing(y)):
            return None
    q = np.rint(y).astype(np.int64)
    return q // 1_000_000, q % 1_000_000


def _digits(v: np.ndarray, width: int | None = None):
    """ASCII digits of int64 ``v`` >= 0, right-aligned in (n, width) uint8, and the valid mask;
    with ``width`` given: zero-padded to it, every digit valid (the 6 decimals)."""
    pad = width is not None
    if width is None:
        width = len(str(int(v.max()))) if len(v) else 1
    chars = np.empty((len(v), width), np.uint8)
    t = v.copy()
    for j in range(width - 1, -1, -1):
        np.remainder(t, 10, out=chars[:, j], casting="unsafe")
        t //= 10
    chars += 48
    if pad:
        return chars, np.ones((len(v), width), bool)
    n_dig = np.ones(len(v), np.int64)
    for k in range(1, width):
        n_dig += v >= 10 ** k
    return chars, np.arange(width)[None, :] >= (width - n_dig)[:, None]


def _format_rows_numpy(subject: str, segment, time_s, rr_ms, flags) -> str | None:
    """The CSV lines built as one byte matrix (row x character) and a mask of the characters each
    row uses; None when a value needs Python's formatting (see :func:`_fixed6`)."""
    n = len(rr_ms)
    if n == 0:
        return ""
    t, r = _fixed6(time_s), _fixed6(rr_ms)
    if t is None or r is None or segment.min() < 0 or flags.min() < 0:
        return None

    def const(text: bytes):
        a = np.frombuffer(text, np.uint8)
        return np.broadcast_to(a, (n, len(a))), np.ones((n, len(a)), bool)

    dot = const(b".")
    fields = [const(subject.encode("utf-8") + b","), _digits(segment), const(b","), _digits(t[0]), dot,
              _digits(t[1], 6), const(b","), _digits(r[0]), dot, _digits(r[1], 6), const(b","),
              _digits(flags), const(b"\n")]
    chars = np.concatenate([f[0] for f in fields], axis=1)
    mask = np.concatenate([f[1] for f in fields], axis=1)
    return chars[mask].tobytes().decode("utf-8")


class TableWriter:
    """Write an RR table CSV incrementally: ``begin(subject)`` per input, ``add(...)`` per chunk of
    rows, ``restart()`` to drop what the current input wrote (a reader starting over), ``end()``.

    Segments are renumbered densely in order of appearance, continuing across inputs (a segment
    never spans two inputs). Counts: ``n_rows``, ``n_segments``.
    """

    def __init__(self, fh):
        self.fh = fh
        fh.write(",".join(COLUMNS) + "\n")
        self.n_rows = 0
        self.n_segments = 0
        self._subject = ""
        self._last = None  # raw segment number of the last row written for this input
        self._mark = None

    def begin(self, subject: str, where: str) -> None:
        if any(c in subject for c in ',"\n\r'):
            raise InputError(f"{where}: subject ids must not contain commas, quotes or newlines")
        self._subject = subject
        self._last = None
        self._mark = (self.fh.tell(), self.n_rows, self.n_segments)

    def add(self, segment: np.ndarray, time_s: np.ndarray, rr_ms: np.ndarray, flags=None) -> None:
        n = len(rr_ms)
        if n == 0:
            return
        segment = np.asarray(segment, np.int64)
        new = np.empty(n, bool)
        new[0] = self._last is None or segment[0] != self._last
        new[1:] = segment[1:] != segment[:-1]
        dense = self.n_segments - 1 + np.cumsum(new)
        self.fh.write(format_rows(self._subject, dense, np.asarray(time_s, np.float64),
                                  np.asarray(rr_ms, np.float64), flags))
        self._last = int(segment[-1])
        self.n_segments = int(dense[-1]) + 1
        self.n_rows += n

    def restart(self) -> None:
        pos, self.n_rows, self.n_segments = self._mark
        self.fh.seek(pos)
        self.fh.truncate()
        self._last = None

    def end(self) -> int:
        """Rows written for the current input."""
        return self.n_rows - self._mark[1]


def ingest_apple_health(paths, out: str | Path, *, strict: bool = False) -> dict:
    """Apple Health exports -> one RR table CSV at ``out`` (subject = file stem), streamed.

    Returns ``{"rows", "segments", "records", "beats", "paths"}``. Raises InputError (and leaves
    ``out`` as it was) when any input is missing, bad or holds no RR interval."""
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    for p in paths:
        if not p.is_file():
            raise InputError(f"{p}: file not found")
    info = {"records": 0, "beats": 0, "paths": []}
    with _table_writer(out) as w:
        for p in paths:
            w.begin(p.stem, str(out))
            meta = stream_export(p, w.add, w.restart)
            if w.end() == 0:
                raise InputError(f"{p}: no RR intervals found")
            info["records"] += meta["records"]
            info["beats"] += meta["beats"]
            info["paths"].append(meta["path"])
    return {"rows": w.n_rows, "segments": w.n_segments, **info}


_WRITE_ROWS = 32_768  # rows formatted at a time by ingest_recordings


def ingest_recordings(paths, out: str | Path, fmt: str, *, subjects: list[str] | None = None,
                      column: str | None = None, time_column: str | None = None, unit: str = "auto",
                      gap_s: float | None = None, start: str | None = None) -> dict:
    """Polar, rr-text or CSV recordings -> one RR table CSV at ``out``, streamed chunk by chunk
    (:func:`edgekit.data.readers.formats.iter_format`): memory independent of the files' sizes, the bytes
    of ``rr.write_csv(readers.read(...))``. Subject ids as :func:`readers.read` (``subjects`` or the
    file stems). Returns ``{"rows", "segments"}``; raises InputError (``out`` left as it was) when any
    input is missing, bad or holds no RR interval. ``start`` (ISO 8601) places recordings without a
    clock on it, as :func:`readers.read` does."""
    start_s = parse_start(start) if start is not None else None
    files = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    names = readers.subject_names(files, subjects)
    options = {"column": column, "time_column": time_column, "unit": unit,
               "gap_s": readers.GAP_S if gap_s is None else gap_s}
    readers.check_unit(unit)
    with _table_writer(out) as w:
        for p, name in zip(files, names):
            w.begin(name, str(out))
            for chunk in readers.iter_format(p, fmt, **options):
                t = chunk.time_s
                if start_s is not None:
                    if has_clock(t):
                        raise InputError(f"{p}: has its own clock; --start is for recordings without one")
                    t = t + start_s
                for a in range(0, len(chunk.rr_ms), _WRITE_ROWS):  # the formatting's memory stays small
                    b = a + _WRITE_ROWS
                    w.add(chunk.segment[a:b], t[a:b], chunk.rr_ms[a:b])
            if w.end() == 0:
                raise InputError(f"{p}: no RR intervals found")
    return {"rows": w.n_rows, "segments": w.n_segments}


@contextmanager
def _table_writer(out: str | Path) -> Iterator[TableWriter]:
    """A :class:`TableWriter` on a temporary file that replaces ``out`` only when the block ends
    without an error."""
    with atomic_path(out) as tmp:
        # newline="" as rr.write_csv; a large buffer keeps write calls few
        with open(tmp, "w", encoding="utf-8", newline="", buffering=1 << 20) as fh:
            yield TableWriter(fh)
