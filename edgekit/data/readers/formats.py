"""Readers: recordings in various formats -> :class:`edgekit.data.rr.RRTable`.

Formats (``--format``): ppg, ecg, polar, rr-text, csv, apple-health, fit (beat intervals of ``hrv``
messages, :mod:`edgekit.data.readers.fit_rr`). Every reader raises
:class:`edgekit.core.errors.InputError` with one line naming the file and the line/element on bad input
(empty file, wrong delimiter, non-numeric, NaN, negative or absurd RR, timestamps going backwards,
a file that is not what the format says). See docs/data.md for each format's rules.

This module picks the reader (``read``, ``iter_format``, ``detect_format``) and names the subjects; the
readers are :mod:`.rr_text` (rr-text, polar), :mod:`.csv_column` (csv), :mod:`.signals` (ppg, ecg),
:mod:`.apple_health` and :mod:`.fit_rr`, over the shared checks and chunks of :mod:`.rr_chunks`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from edgekit.data.rr import Flag, RRTable
from edgekit.core.errors import InputError
from edgekit.data.readers.rr_chunks import GAP_S, RRChunk, _table, check_unit
from edgekit.data.readers.rr_text import iter_polar, iter_rr_text
from edgekit.data.readers.csv_column import iter_csv_column
from edgekit.data.readers.signals import read_signal
from edgekit.data.clock import has_clock, parse_start
from edgekit.data.readers.apple_health import read_export
from edgekit.data.readers.fit_rr import read_fit_rr

FORMATS = ("ppg", "ecg", "polar", "rr-text", "csv", "apple-health", "fit")
STREAMED_FORMATS = ("polar", "rr-text", "csv")  # read in chunks by iter_format (apple-health: stream_export)


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

    start_s = parse_start(start) if start is not None else None
    files = [Path(x) for x in ([paths] if isinstance(paths, (str, Path)) else paths)]
    names = subject_names(files, subjects)
    tables, notes, checks = [], [], {}
    for p, name in zip(files, names):
        if fmt == "apple-health":
            t = read_export(p)
        elif fmt in ("ppg", "ecg"):
            t = read_signal(p, fmt, sample_rate=sample_rate, column=column, time_column=time_column,
                            hr_column=hr_column)
        elif fmt == "fit":
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
