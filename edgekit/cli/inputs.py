"""What the verbs that read recordings share: the reader options (``--format``, ``--column``, ...), reading
the inputs through the data layer's readers (``_read``), and the personal baseline's options and days.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from edgekit.core.errors import InputError
from edgekit.data import rr
from edgekit.data.clock import utc_offset_seconds
from edgekit.data.readers import formats as readers
from edgekit.data.readers.formats import FORMATS
from edgekit.data.readers.labelled import read_table_csv, sniff_kind
from edgekit.data.signal.baseline import MAX_ARTIFACT_PCT, personal_baseline, DEFAULT_WINDOW, WINDOWS


_FMT_HELP = ("input format: ppg, ecg, polar, rr-text, csv, apple-health, fit (beat intervals of a FIT file's hrv "
             "messages); default: detected when certain (edgekit's RR table, Apple export, Polar RR file). The "
             "activity model (predict) reads workouts: GPX, TCX, FIT by extension, or apple-health")


def _add_reader_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", "-f", dest="fmt", choices=FORMATS, default=None, help=_FMT_HELP)
    p.add_argument("--sample-rate", type=float, default=None,
                   help="ppg/ecg: samples per second (default: derived from --time-column)")
    p.add_argument("--column", default=None,
                   help="csv/ppg/ecg: name of the column holding the values (default: csv rr_ms, rr, ibi, nni, ...; "
                        "ppg/ecg ppg, ecg, signal, value)")
    p.add_argument("--time-column", default=None,
                   help="csv: beat timestamps (epoch s/ms/ns or ISO 8601); ppg/ecg: sample times (ms timer, epoch "
                        "s/ms or ISO datetimes; repeated or jittered times are resampled to an even grid). "
                        "Default: none")
    p.add_argument("--hr-column", default=None, metavar="NAME",
                   help="ppg/ecg: the device's own heart rate (bpm) in the same file, to check the derived HR "
                        "against (default: a column named hr, heart_rate or bpm when there is one)")
    p.add_argument("--unit", choices=("auto", "ms", "s"), default="auto",
                   help="rr-text/csv: RR unit (default auto = seconds when the median value is below 10)")
    p.add_argument("--gap-s", type=float, default=3.0,
                   help="a timestamp jump longer than the beat's RR plus this many seconds ends a segment "
                        "(default 3; polar adds 2 s for its batched phone timestamps)")
    p.add_argument("--start", default=None, metavar="TIME",
                   help="date and time the recording started, for a recording without a clock (rr-text, csv "
                        "without --time-column, ppg/ecg with --sample-rate): ISO 8601, e.g. "
                        "2024-05-01T07:30:00+02:00 (no offset = UTC). Default: none (times count from the "
                        "first beat, shown as 1970-01-01)")
    p.add_argument("--subject", action="append", default=None, metavar="NAME",
                   help="subject id of an input (repeat once per input, in order); default: the file "
                        "name without extension. Inputs that would share an id are refused")


def _subjects(args, n_inputs: int) -> list[str] | None:
    subjects = getattr(args, "subject", None)
    if subjects and len(subjects) != n_inputs:
        raise InputError(f"--subject given {len(subjects)} times for {n_inputs} inputs; give one "
                         f"--subject NAME per input, in order")
    return subjects


def _read(args, paths):
    subjects = _subjects(args, len(paths))
    fmt = args.fmt
    if fmt is None:
        kinds = {p: readers.detect_format(p) for p in paths}
        if len(set(kinds.values())) > 1:
            raise InputError("inputs of different formats (" + ", ".join(f"{p}: {k}" for p, k in kinds.items())
                             + "); read them separately or give --format")
        fmt = kinds[paths[0]]
    if fmt == "csv" and args.column is None and args.time_column is None and all(
            p.is_file() and sniff_kind(p) == "table" for p in paths):
        fmt = "table"  # edgekit's own RR table: its subjects, segments and times, not one column of numbers
    if fmt == "table":
        if getattr(args, "start", None) is not None:
            raise InputError(f"{paths[0]}: an edgekit RR table has its own times; --start is for recordings without "
                             f"a clock")

        readers.refuse_repeated_files(paths)
        tables = [read_table_csv(p)[0] for p in paths]
        if subjects:
            for p, t, name in zip(paths, tables, subjects):
                if len(set(t.subject.tolist())) > 1:
                    raise InputError(f"{p}: holds several subjects; --subject can rename only a one-subject table")
                t.subject = np.full(len(t), name)
        readers.refuse_shared_subjects([set(t.subject.tolist()) for t in tables], paths)
        return rr.RRTable.concat(tables)
    return readers.read(paths, fmt, sample_rate=args.sample_rate, column=args.column,
                        time_column=args.time_column, unit=args.unit, gap_s=args.gap_s, subjects=subjects,
                        start=getattr(args, "start", None), hr_column=getattr(args, "hr_column", None))


def _check_inputs_differ_from_output(inputs, out: Path) -> None:
    """--force must never replace one of the inputs being read."""
    if not out.exists():
        return
    for p in inputs:
        try:
            if Path(p).exists() and os.path.samefile(p, out):
                raise InputError(f"{out}: is also an input; write the output to another path")
        except OSError:
            continue


def baseline_of(cleaned, utc_offset: str | None, window: str, max_artifact_pct: float | None = None) -> dict:
    """The personal baseline (edgekit.data.signal.baseline) of every subject of a cleaned table, its days
    placed with the wearer's ``--utc-offset`` (a zone's offset at the last beat)."""
    last = float(np.nanmax(cleaned.time_s)) if len(cleaned) else 0.0
    return personal_baseline(cleaned, utc_offset_seconds(utc_offset, last), window,
                             MAX_ARTIFACT_PCT if max_artifact_pct is None else max_artifact_pct)


def add_baseline_options(p: argparse.ArgumentParser, utc_offset: bool = True) -> None:
    """``--baseline-window`` (and ``--utc-offset``) of the verbs that show the personal baseline."""
    if utc_offset:
        p.add_argument("--utc-offset", default=None, metavar="TZ",
                       help="the wearer's time zone, which places the baseline's days and night hours: "
                            "+05:30, -7, UTC (default) or a zone name such as Europe/Berlin")
    p.add_argument("--baseline-window", choices=tuple(WINDOWS), default=DEFAULT_WINDOW,
                   help="readings that make the personal baseline's daily value: night (00:00-06:00 local, "
                        "default), morning (06:00-10:00) or all")
