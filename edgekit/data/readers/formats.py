"""Readers: recordings in various formats -> :class:`edgekit.data.rr.RRTable`.

Formats (``--format``): ppg, ecg, polar, rr-text, csv, apple-health, fit (beat intervals of ``hrv``
messages, :mod:`edgekit.data.readers.fit_rr`). Every reader raises
:class:`edgekit.core.errors.InputError` with one line naming the file and the line/element on bad input
(empty file, wrong delimiter, non-numeric, NaN, negative or absurd RR, timestamps going backwards,
a file that is not what the format says). See docs/data.md for each format's rules.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

import numpy as np

from edgekit.data.rr import Flag, RRTable
from edgekit.data.readers.text_blocks import text_blocks
from edgekit.data.readers.text_numbers import finite_floats, iso_times_utc
from edgekit.core.errors import InputError

FORMATS = ("ppg", "ecg", "polar", "rr-text", "csv", "apple-health", "fit")
STREAMED_FORMATS = ("polar", "rr-text", "csv")  # read in chunks by iter_format (apple-health: stream_export)
GAP_S = 3.0  # a beat whose timestamp advances more than its RR + GAP_S starts a new segment
ABSURD_RR_MS = 60_000.0  # a single value above this (or <= 0) is not an RR interval
UNIT_RULE_MS = 10.0  # unit auto-detection: median value < 10 -> seconds, else milliseconds


def read(paths, fmt: str, *, sample_rate: float | None = None, column: str | None = None,
         time_column: str | None = None, unit: str = "auto", gap_s: float = GAP_S,
         subjects: list[str] | None = None, start: str | None = None, hr_column: str | None = None) -> RRTable:
    """Read one or more files of format ``fmt`` into one table.

    Subject ids: ``subjects`` (one name per input) or else each file's stem. Two inputs that would
    get the same subject id, or the same file given twice, are refused (never merged silently).
    ``start`` (ISO 8601) places recordings without a clock (times from the first beat) on it; a
    recording with its own clock is refused with it. The table's ``meta["warnings"]`` holds the
    readers' warnings (resampled PPG times, a device HR that disagrees, implausible input for the
    format), one line each.
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    check_unit(unit)
    from edgekit.data.clock import has_clock, parse_start

    start_s = parse_start(start) if start is not None else None
    files = [Path(x) for x in ([paths] if isinstance(paths, (str, Path)) else paths)]
    names = subject_names(files, subjects)
    tables, notes, checks = [], [], {}
    for p, name in zip(files, names):
        if fmt == "apple-health":
            from edgekit.data.readers.apple_health import read_export

            t = read_export(p)
        elif fmt in ("ppg", "ecg"):
            t = read_signal(p, fmt, sample_rate=sample_rate, column=column, time_column=time_column,
                            hr_column=hr_column)
        elif fmt == "fit":
            from edgekit.data.readers.fit_rr import read_fit_rr

            t = read_fit_rr(p)
        else:
            t = _table(p, iter_format(p, fmt, column=column, time_column=time_column, unit=unit, gap_s=gap_s))
        if len(t) == 0:
            raise InputError(f"{p}: no RR intervals found")
        if start_s is not None:
            if has_clock(t.time_s):
                raise InputError(f"{p}: has its own clock (beats from {t.time_s.min():.0f} s since 1970); --start is "
                                 f"for recordings without one")
            t.time_s = t.time_s + start_s
        notes += list(t.meta.get("warnings", [])) + plausibility_warnings(t, fmt, p)
        if "hr_check" in t.meta:
            checks[str(p)] = t.meta["hr_check"]
        t.subject = np.full(len(t), name)
        tables.append(t)
    out = RRTable.concat(tables)
    out.meta["warnings"] = notes
    if checks:
        out.meta["hr_check"] = checks
    return out


def iter_format(path: Path, fmt: str, *, column: str | None = None, time_column: str | None = None,
                unit: str = "auto", gap_s: float = GAP_S) -> Iterator[RRChunk]:
    """The RR rows of one ``polar``, ``rr-text`` or ``csv`` file in chunks (:data:`STREAMED_FORMATS`):
    memory independent of the file's size. The rows are those :func:`read` gives; an error in the
    file is found when its chunk is read, so an error in an earlier chunk is reported first."""
    if fmt == "polar":
        return iter_polar(path, gap_s=gap_s)
    if fmt == "rr-text":
        return iter_rr_text(path, unit=unit)
    if fmt == "csv":
        return iter_csv_column(path, column=column, time_column=time_column, unit=unit, gap_s=gap_s)
    raise InputError(f"format {fmt!r} is not read in chunks; streamed formats: {', '.join(STREAMED_FORMATS)}")


SUBJECT_RE = re.compile(r"^[^,\"\n\r]{1,128}$")


def refuse_repeated_files(files: list[Path]) -> None:
    """Refuse a missing or non-regular input, and the same file given twice (by device and inode,
    so a second path or a hard link to it counts)."""
    for p in files:
        if not p.is_file():
            raise InputError(f"{p}: file not found" if not p.exists() else f"{p}: not a regular file")
    seen: dict[tuple[int, int], Path] = {}
    for p in files:
        st = p.stat()
        key = (st.st_dev, st.st_ino)
        if key in seen:
            raise InputError(f"{p}: the same file is given twice (also as {seen[key]})")
        seen[key] = p


def subject_names(files: list[Path], subjects: list[str] | None = None) -> list[str]:
    """One subject id per input file: ``subjects`` when given (one per file), else the file stem.

    Refused with one line: a missing file, the same file twice, two files whose ids collide (two
    people's ``export.xml``), a wrong number of names, or an id with a comma, quote or newline.
    """
    refuse_repeated_files(files)
    if subjects:
        if len(subjects) != len(files):
            raise InputError(f"--subject given {len(subjects)} times for {len(files)} inputs; "
                             f"give one --subject NAME per input, in order")
        names = list(subjects)
    else:
        names = [p.stem for p in files]
    by_name: dict[str, Path] = {}
    for p, name in zip(files, names):
        if not SUBJECT_RE.match(name) or name != name.strip():
            raise InputError(f"{p}: subject id {name!r} must be 1-128 characters without commas, quotes, "
                             f"newlines or surrounding spaces")
        if name in by_name:
            how = "--subject" if subjects else "the file name"
            raise InputError(f"{by_name[name]} and {p} would both be subject {name!r} (from {how}); "
                             f"give each input its own --subject NAME")
        by_name[name] = p
    return names


def refuse_shared_subjects(per_file: list[set], paths: list[Path], hint: str = "rename one with --subject") -> None:
    """Refuse two inputs holding the same subject id (``per_file[i]``: the ids of ``paths[i]``)."""
    for i in range(len(per_file)):
        for j in range(i):
            clash = per_file[i] & per_file[j]
            if clash:
                raise InputError(f"{paths[j]} and {paths[i]} both hold subject {sorted(clash)[0]!r}; {hint}")


def detect_format(path: Path) -> str:
    """The format of ``path`` when it is certain from its content, else a one-line InputError.

    Certain: edgekit's RR table CSV (``table``, by its header), an Apple Health export
    (``apple-health``: XML with a ``HealthData`` root), a Polar Sensor Logger RR file (``polar``, by
    its header). Anything else (a bare column of numbers, other delimited files) must be named with
    ``--format``: a column of numbers may be RR intervals or a sampled PPG/ECG signal, and reading a
    signal as RR gives nonsense. The error says which formats fit.
    """
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")
    try:
        with open(path, "rb") as fh:
            head = fh.read(64 * 1024)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    if not head.strip():
        raise InputError(f"{path}: empty file")
    if head[:4] == b"PK\x03\x04":
        raise InputError(f"{path}: a zip archive; unzip the Apple Health export and give its export.xml "
                         f"with --format apple-health")
    if head[8:12] == b".FIT":
        raise InputError(f"{path}: a FIT file; give --format fit for the beat intervals of its hrv messages")
    if b"\x00" in head[:4096]:
        raise InputError(f"{path}: binary data, not a recording edgekit can recognise; name --format "
                         f"({', '.join(FORMATS)})")
    text = head.decode("utf-8-sig", errors="replace")
    stripped = text.lstrip()
    if stripped.startswith("<"):
        if re.search(r"<(!DOCTYPE\s+)?HealthData\b", text):
            return "apple-health"
        raise InputError(f"{path}: XML but not an Apple Health export (no HealthData element); "
                         f"give --format explicitly")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    content = [ln for ln in lines if not ln.startswith("#")]
    first = content[0] if content else ""
    cols = tuple(c.strip() for c in first.split(","))
    if cols[:5] == ("subject", "segment", "time_s", "rr_ms", "flags"):
        return "table"
    low = first.lower()
    if "phone timestamp" in low and "rr-interval" in low:
        return "polar"
    sample = content[1:200] if len(content) > 1 else content
    if any(d in first for d in ",;\t"):
        raise InputError(f"{path}: delimited columns ({first[:60]!r}); the format is not certain: give "
                         f"--format csv --column NAME for RR intervals, or --format ppg/ecg --column NAME "
                         f"--sample-rate HZ for a sampled signal")
    values = []
    for ln in sample if not re.search(r"[A-Za-z]", first) else content[1:200]:
        try:
            values.append(float(ln))
        except ValueError:
            break
    if values:
        v = np.asarray(values)
        rr_like = bool(np.all((v >= 200) & (v <= 3000)) or np.all((v >= 0.2) & (v <= 3.0)))
        if rr_like:
            hint = ("looks like RR intervals; give --format rr-text if it is, or --format ppg/ecg "
                    "--sample-rate HZ if it is a sampled signal")
        else:
            hint = (f"values {v.min():g} to {v.max():g} are not RR intervals in ms or s: it looks like a "
                    f"sampled signal; give --format ppg or --format ecg with --sample-rate HZ")
        raise InputError(f"{path}: a bare column of numbers; the format is not certain ({hint})")
    raise InputError(f"{path}: unknown recording format; give --format ({', '.join(FORMATS)})")


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# rr-text: one RR per line (Elite HRV, Kubios text export)
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# polar: Polar Sensor Logger RR file
# ---------------------------------------------------------------------------------------------

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
        from datetime import timezone

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


# ---------------------------------------------------------------------------------------------
# csv: any CSV with --column / --time-column
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# ppg / ecg: raw signal through HeartPy (edgekit/data/readers/signals.py)
# ---------------------------------------------------------------------------------------------

from edgekit.data.readers.signals import read_signal  # noqa: E402,F401  (re-exported: readers.read_signal)

SMOOTH_SIGN_CHANGES = 0.2  # RR formats: below this share of sign changes the values look like a sampled signal
SMOOTH_MIN_VALUES = 50


def plausibility_warnings(table: RRTable, fmt: str, path: Path) -> list[str]:
    """Warnings that a file is not what ``fmt`` says (the numbers are read, but mean something else).

    RR formats: successive differences of real RR intervals change sign about half the time (healthy
    adults' one-minute readings: 59 %, docs: DESIGN "Known traps"); the samples of a PPG or ECG
    waveform read as RR change smoothly, direction changing a few times per pulse (HeartPy's data.csv
    read as rr-text: 8 %). Signals: intervals next to peaks HeartPy rejected above half of all (an ECG
    detector on a PPG: 97 % artifacts after cleaning)."""
    out = []
    if fmt in ("rr-text", "csv", "polar") and len(table) >= SMOOTH_MIN_VALUES:
        changes, n = 0, 0
        for seg in np.unique(table.segment):
            d = np.diff(table.rr_ms[table.segment == seg])
            d = d[d != 0]
            changes += int((np.sign(d[1:]) != np.sign(d[:-1])).sum())
            n += max(len(d) - 1, 0)
        if n >= SMOOTH_MIN_VALUES and changes / n < SMOOTH_SIGN_CHANGES:
            out.append(f"{path}: its values change smoothly like a sampled signal ({100 * changes / n:.0f} % of "
                       f"successive differences change sign; RR intervals: about 40-60 %): a PPG or ECG read as RR? "
                       f"use --format ppg or --format ecg with --sample-rate HZ")
    if fmt in ("ppg", "ecg") and len(table):
        rejected = float(((table.flags & int(Flag.DETECTOR_REJECTED)) != 0).mean())
        if rejected > 0.5:
            other = "ppg" if fmt == "ecg" else "ecg"
            article = "an" if fmt == "ecg" else "a"
            out.append(f"{path}: HeartPy rejected the peaks around {100 * rejected:.0f} % of the intervals: the "
                       f"signal is mostly not clean {fmt.upper()} beats (a noisy recording, or not {article} "
                       f"{fmt.upper()}: check --format {other}, --column and --sample-rate)")
    return out
