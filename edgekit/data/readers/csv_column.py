"""csv: RR intervals in one column of any CSV (--column / --time-column), read whole or in chunks.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from edgekit.data.rr import RRTable
from edgekit.data.readers.text_blocks import text_blocks
from edgekit.data.readers.text_numbers import finite_floats
from edgekit.core.errors import InputError
from edgekit.data.readers.rr_chunks import (GAP_S, RRChunk, _BeatClock, _check_rr, _detect_unit_streamed, _number,
                                            _sniff_delimiter, _table)
from edgekit.data.readers.rr_text import _fast_times, _parse_ts


_RR_NAMES = ("rr_ms", "rr", "rr-interval [ms]", "rr interval", "ibi", "ibi_ms", "nni", "rri")
ROWS_PER_CHUNK = 65_536  # CSV rows parsed into one chunk


def _csv_records(path: Path, block_bytes: int | None = None) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header (stripped names) and an iterator of (line number, fields) of the data rows: blank
    rows skipped, the delimiter sniffed from the first line among , ; tab, every row as wide as the
    header. The file is read a block at a time."""
    blocks = text_blocks(path, block_bytes, split_at_cr=False)

    def lines() -> Iterator[str]:
        for block in blocks:
            yield from io.StringIO(block)

    source = lines()
    head, n_comments = "", 0
    for head in source:  # '#' comment lines before the header (edgekit's own tables start with one)
        if not head.lstrip().startswith("#"):
            break
        n_comments += 1
        head = ""
    delim = _sniff_delimiter(head.splitlines()[0] if head else "", path)
    reader = csv.reader(itertools.chain([head] if head else [], source), delimiter=delim)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InputError(f"{path}: line {1 + n_comments}: no header line") from None
    except csv.Error as exc:
        raise InputError(f"{path}: line {1 + n_comments}: {_csv_error(exc)}") from None

    def rows() -> Iterator[tuple[int, list[str]]]:
        lineno = 1 + n_comments
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise InputError(f"{path}: line {lineno + 1}: {_csv_error(exc)}") from None
            lineno += 1
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != len(header):
                raise InputError(f"{path}: line {lineno}: expected {len(header)} fields "
                                 f"(delimiter {delim!r}), got {len(row)}")
            yield lineno, row

    return header, rows()


def _csv_error(exc: Exception) -> str:
    """The csv module's complaint in the user's terms."""
    text = str(exc)
    if "new-line character" in text:
        return ("a carriage return (\\r) that is not part of a \\r\\n line end; save the file with \\n or "
                "\\r\\n line ends")
    return f"not readable as CSV ({text})"


def _read_table(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    header, records = _csv_records(path)
    nums, rows = [], []
    for lineno, row in records:
        nums.append(lineno)
        rows.append(row)
    return header, rows, nums


def _find_column(header: list[str], name: str | None, path: Path, candidates=()) -> int:
    low = [h.lower() for h in header]
    if name is not None:
        if name in header:
            return header.index(name)
        if name.lower() in low:
            return low.index(name.lower())
        raise InputError(f"{path}: line 1: no column {name!r}; columns are {', '.join(header)}")
    for c in candidates:
        if c in low:
            return low.index(c)
    raise InputError(f"{path}: line 1: cannot tell which column holds RR intervals; pass --column "
                     f"(columns: {', '.join(header)})")


def read_csv_column(path: Path, column: str | None = None, time_column: str | None = None,
                    unit: str = "auto", gap_s: float = GAP_S) -> RRTable:
    """RR intervals from one CSV column (delimiter sniffed among , ; tab). With ``time_column``
    (epoch seconds/ms/ns or ISO 8601) gaps split segments; without it the file is one segment and
    beat times are cumulative."""
    return _table(path, iter_csv_column(path, column, time_column, unit, gap_s))


def iter_csv_column(path: Path, column: str | None = None, time_column: str | None = None,
                    unit: str = "auto", gap_s: float = GAP_S, rows_per_chunk: int | None = None,
                    block_bytes: int | None = None) -> Iterator[RRChunk]:
    """:func:`read_csv_column` in chunks of ``rows_per_chunk`` rows (memory independent of the file;
    ``auto`` reads the file twice, once to find the unit)."""
    rows_per_chunk = rows_per_chunk or ROWS_PER_CHUNK

    def chunks() -> Iterator[tuple[np.ndarray, np.ndarray, list[list[str]]]]:
        header, records = _csv_records(path, block_bytes)
        ic = _find_column(header, column, path, _RR_NAMES)
        it = None if time_column is None else _find_column(header, time_column, path)
        batch: list[tuple[int, list[str]]] = []
        seen = False
        for record in records:
            batch.append(record)
            if len(batch) == rows_per_chunk:
                seen = True
                yield _csv_values(batch, ic, header, path), batch, it
                batch = []
        if batch:
            yield _csv_values(batch, ic, header, path), batch, it
        elif not seen:
            raise InputError(f"{path}: no data rows after the header")

    scale = _detect_unit_streamed((v for (v, _), _, _ in chunks()), unit)
    clock = _BeatClock(path)
    for (vals, lines), batch, it in chunks():
        rr = vals * scale
        _check_rr(rr, lines, path)
        if it is None:
            yield clock.cumulative(rr)
        else:
            t = _fast_times([row[it] for _, row in batch])
            if t is None:  # one by one: names the line of a time it cannot read
                t = np.array([_parse_ts(row[it], path, n) for n, row in batch])
            yield clock.timed(t, rr, lines, gap_s)


def _csv_values(batch: list[tuple[int, list[str]]], ic: int, header: list[str], path: Path):
    """(values of column ``ic``, line numbers) of a batch of CSV rows."""
    vals = finite_floats([row[ic] for _, row in batch])
    if vals is None:  # one by one: names the line of the bad value
        vals = np.array([_number(row[ic], path, n, f"'{header[ic]}'") for n, row in batch])
    return vals, np.array([n for n, _ in batch])
