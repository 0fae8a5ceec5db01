"""Files of RR intervals: one value per line (rr-text: Elite HRV, Kubios text export) and the Polar
Sensor Logger RR file (polar); read whole or in chunks of :class:`RRChunk`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timezone
from operator import itemgetter
from pathlib import Path

import numpy as np

from edgekit.data.rr import RRTable
from edgekit.data.readers.text_blocks import text_blocks
from edgekit.data.readers.text_numbers import finite_floats, iso_times_utc
from edgekit.core.errors import InputError
from edgekit.data.readers.rr_chunks import GAP_S, RRChunk, _BeatClock, _check_rr, _detect_unit_streamed, _number, _table


def read_rr_text(path: Path, unit: str = "auto") -> RRTable:
    """One RR per line, ms or s (see ``_detect_unit``). Blank lines are skipped; a single header line
    containing letters is allowed as the first non-blank line. The file is one segment; beat times
    are the cumulative sum of the intervals (seconds from the first beat)."""
    return _table(path, iter_rr_text(path, unit))


def iter_rr_text(path: Path, unit: str = "auto", block_bytes: int | None = None) -> Iterator[RRChunk]:
    """:func:`read_rr_text` in chunks of about ``block_bytes`` of text (default
    :data:`edgekit.data.readers.text_blocks.BLOCK_BYTES`; memory independent of the
    file; ``auto`` reads the file twice, once to find the unit)."""
    scale = _detect_unit_streamed((v for v, _ in _rr_text_values(path, block_bytes)), unit)
    clock = _BeatClock(path)
    for v, lines in _rr_text_values(path, block_bytes):
        rr = v * scale
        _check_rr(rr, lines, path)
        yield clock.cumulative(rr)


def _rr_text_values(path: Path, block_bytes: int | None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(values as written, their line numbers) per block of the file; errors name the line."""
    first = True
    lineno = 0
    seen = False
    for block in text_blocks(path, block_bytes):
        rows = block.splitlines()
        # one by one: up to the first non-blank line (the header rule), and any block the fast path
        # declines (blank lines, a bad value: the line-by-line reading names it)
        head = next((i + 1 for i, line in enumerate(rows) if line.strip()), len(rows)) if first else 0
        rest = rows[head:]
        fast = finite_floats(rest) if rest and all(rest) else None
        if fast is None:
            head = len(rows)
        vals, lines = [], []
        for line in rows[:head]:
            lineno += 1
            s = line.strip()
            if not s:
                continue
            if first and re.search(r"[A-Za-z]", s) and not re.fullmatch(r"[-+]?(nan|inf)(inity)?", s, re.I):
                first = False
                if re.search(r"[;,\t]", s) and re.search(r"\d", s):
                    raise InputError(f"{path}: line {lineno}: several fields per line; not an rr-text file "
                                     f"(one RR per line)")
                continue
            first = False
            if re.search(r"[;,\t ]", s):
                raise InputError(f"{path}: line {lineno}: several fields {s[:40]!r}; rr-text expects one RR "
                                 f"per line (use --format csv for delimited files)")
            vals.append(_number(s, path, lineno, "RR"))
            lines.append(lineno)
        if vals:
            seen = True
            yield np.array(vals), np.array(lines)
        if fast is not None:
            seen = True
            yield fast, np.arange(lineno + 1, lineno + 1 + len(rest))
            lineno += len(rest)
    if not seen:
        raise InputError(f"{path}: no RR values")


_POLAR_TS_FORMATS = ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f",
                     "%Y-%m-%d %H:%M:%S")


def _parse_ts(s: str, path: Path, lineno: int) -> float:
    s = s.strip()
    if ":" not in s:  # a number has no colon: ISO times skip the (costly) failed float()
        try:
            v = float(s)  # epoch seconds / ns
            if v > 1e17:  # nanoseconds
                return v / 1e9
            if v > 1e11:  # milliseconds
                return v / 1e3
            return v
        except ValueError:
            pass
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        dt = None
        for f in _POLAR_TS_FORMATS:
            try:
                dt = datetime.strptime(s, f)
                break
            except ValueError:
                continue
        if dt is None:
            raise InputError(f"{path}: line {lineno}: unreadable timestamp {s[:40]!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)  # local wall time, treated as UTC (documented)
    return dt.timestamp()


def read_polar(path: Path, gap_s: float = GAP_S) -> RRTable:
    """Polar Sensor Logger RR file: header ``Phone timestamp;RR-interval [ms]`` then one
    ``timestamp;rr`` per line (semicolon separated). Timestamps are the phone's receive times and
    may repeat within one Bluetooth notification; they must not go backwards."""
    return _table(path, iter_polar(path, gap_s))


def iter_polar(path: Path, gap_s: float = GAP_S, block_bytes: int | None = None) -> Iterator[RRChunk]:
    """:func:`read_polar` in chunks of about ``block_bytes`` of text (memory independent of the file)."""
    clock = _BeatClock(path)
    cols: list[str] | None = None
    lineno = 0
    for block in text_blocks(path, block_bytes):
        rows = block.splitlines()
        if cols is None:
            cols = _polar_columns(rows[0] if rows else "", path)
            i_t, i_rr = cols.index("t"), cols.index("rr")
            rows, lineno = rows[1:], 1
        fast = _polar_fast(rows, len(cols), i_t, i_rr)
        if fast is not None:
            ln = np.arange(lineno + 1, lineno + 1 + len(rows))
            lineno += len(rows)
            _check_rr(fast[1], ln, path)
            yield clock.timed(fast[0], fast[1], ln, gap_s + 2.0)
            continue
        ts, rr, lines = [], [], []
        for line in rows:
            lineno += 1
            if not line.strip():
                continue
            parts = line.split(";")
            if len(parts) != len(cols):
                raise InputError(f"{path}: line {lineno}: expected {len(cols)} ';'-separated fields, "
                                 f"got {len(parts)}")
            ts.append(_parse_ts(parts[i_t], path, lineno))
            rr.append(_number(parts[i_rr], path, lineno, "RR"))
            lines.append(lineno)
        if not rr:
            continue
        r, ln = np.array(rr), np.array(lines)
        _check_rr(r, ln, path)
        yield clock.timed(np.array(ts), r, ln, gap_s + 2.0)  # phone timestamps batch beats: extra slack
    if cols is None:
        _polar_columns("", path)
    if clock.last_t is None:
        raise InputError(f"{path}: no RR rows after the header")


def _polar_fast(rows: list[str], n_cols: int, i_t: int, i_rr: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(times s, RR ms) of a block of Polar rows at C speed, or None (blank rows, another field
    count, a value or time not in the plain form): then the rows are read one by one."""
    if not rows:
        return None
    fields = [row.split(";") for row in rows]
    if set(map(len, fields)) != {n_cols}:
        return None
    rr_ms = finite_floats(list(map(itemgetter(i_rr), fields)))
    if rr_ms is None:
        return None
    t = _fast_times(list(map(itemgetter(i_t), fields)))
    return None if t is None else (t, rr_ms)


def _fast_times(stamps: list[str]) -> np.ndarray | None:
    """:func:`_parse_ts` of a whole column at C speed (plain ISO 8601 or epoch numbers), or None."""
    t = iso_times_utc(stamps)
    if t is None:
        v = finite_floats(stamps)
        if v is None:
            return None
        t = np.where(v > 1e17, v / 1e9, np.where(v > 1e11, v / 1e3, v))  # as _parse_ts: ns, ms or s
    return t


def _polar_columns(header: str, path: Path) -> list[str]:
    """The Polar header's columns as ``t`` (timestamp), ``rr`` and ``""`` (others), or an error."""
    header = header.strip()
    if ";" not in header:
        raise InputError(f"{path}: line 1: expected a ';'-separated Polar header "
                         f"'Phone timestamp;RR-interval [ms]', got {header[:60]!r}")
    cols = [c.strip().lower() for c in header.split(";")]
    try:
        i_t = next(i for i, c in enumerate(cols) if "timestamp" in c)
        i_rr = next(i for i, c in enumerate(cols) if c.startswith("rr"))
    except StopIteration:
        raise InputError(f"{path}: line 1: not a Polar RR file (need 'Phone timestamp' and "
                         f"'RR-interval [ms]' columns, got {header[:60]!r})") from None
    return ["t" if i == i_t else "rr" if i == i_rr else "" for i in range(len(cols))]
