"""Labelled files: training and fine-tuning from ``data.source = "files"``.

The labelled form (docs/data.md, "Labelled files") is the RR table CSV that ``edgekit data ingest``
and ``edgekit data synth`` write, ``subject,segment,time_s,rr_ms,flags``, with optional extra columns
(any order after the five, unknown columns ignored, ``#`` comment lines allowed before the header):

- ``label``: strain state of the beat: ``healthy``, ``strained``, ``burnout_risk`` or 0/1/2; empty =
  unlabelled. A classifier window takes the label of its beats when they all carry the same one.
- ``fatigue_score``: the fatigue score (0-100) in force at the beat; empty = none. A forecaster
  series ending at hour e gets ``y_today`` = the score of the last beat in hour e-1 and ``y`` = the
  score of the last beat in hour e+23 (the last hour of the next 24 h).

Scores can also come as a separate file in ``data.inputs`` with the header
``subject,time_s,fatigue_score`` (one row per issued score — per wake-up — Unix seconds): each beat
of that subject gets the last score issued at or before it, for at most ``SCORE_HOLD_S`` (36 h). The
forecaster on hourly slots trains on these wake-ups (:meth:`LabelledData.score_events`).

Labels can also come per reading, as a file with the header ``subject,time_s,label`` (one row per
reading, Unix seconds: any time from the reading's first beat to its last, within
``READING_LABEL_SLACK_S``; ``edgekit predict`` prints each reading's start and end): every beat of that
reading gets the label (a ``label`` column wins where both exist). A reading is a run of segments
joined by gaps of at most 5 s (:func:`edgekit.data.signal.windows.reading_units`): one Apple Watch
heartbeat series, even when dropped beats split it.

Inputs that are not in the table form are read with the configured reader (``data.format``); they
carry no labels. Training needs labels: a missing kind raises a one-line :class:`InputError`. The
scores and labels files are read by :mod:`.label_files`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgekit.data.rr import COLUMNS, RRTable
from edgekit.core.errors import InputError
from edgekit.data.readers.label_files import (READING_LABEL_COLUMNS, SCORE_COLUMNS, _label_index, _score,
                                              _text_lines, label_readings, read_reading_labels, read_scores,
                                              scores_at)
from edgekit.data.readers import formats as readers


@dataclass
class LabelledData:
    """Raw (uncleaned) beats of all inputs with per-beat labels; rows sorted by subject, then time."""

    table: RRTable
    beat_label: np.ndarray  # int64 index into STRAIN_LABELS, -1 = unlabelled
    beat_score: np.ndarray  # float64 fatigue score 0-100 in force, NaN = none
    subject_ids: np.ndarray  # sorted unique subject ids (the subject index of windows.npz)
    inputs: list  # the paths read
    synthetic: bool  # every table file said it is SYNTHETIC (first comment line)
    where: str = ""  # the inputs as errors name them
    how_to_label: dict = field(default_factory=dict)  # target -> how to add it to this source (errors)
    issued: dict = field(default_factory=dict)  # subject -> (issue times s, scores): scores files

    def score_events(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per subject, the wake-ups at which a fatigue score was issued: (times s, scores), in time
        order. From a scores file when the subject has one (exact issue times); else from the
        ``fatigue_score`` of the beats: an issue at the first beat carrying each new score (the
        wake-up itself lies before it, after the previous beat; two wake-ups in a row with the same
        score are one)."""
        out = {}
        for s in self.subject_ids.tolist():
            if s in self.issued:
                out[s] = self.issued[s]
                continue
            m = np.flatnonzero((self.table.subject == s) & np.isfinite(self.beat_score))
            if not len(m):
                continue
            sc = self.beat_score[m]
            new = np.ones(len(m), bool)
            new[1:] = sc[1:] != sc[:-1]
            out[s] = (self.table.time_s[m[new]], sc[new])
        return out

    @property
    def has_labels(self) -> bool:
        return bool((self.beat_label >= 0).any())

    @property
    def has_scores(self) -> bool:
        return bool(np.isfinite(self.beat_score).any())

    def has(self, target: str) -> bool:
        """Whether any beat carries ``target`` (``label`` or ``fatigue_score``)."""
        return {"label": self.has_labels, "fatigue_score": self.has_scores}[target]


FILE_LABEL_HINTS = {
    "label": "from files: add a 'label' column (healthy/strained/burnout_risk) to the RR table CSV, or a "
             "labels file with one row per reading (subject,time_s,label); see docs/data.md 'Labelled files'",
    "fatigue_score": "from files: add a scores file with one row per wake-up (subject,time_s,fatigue_score) "
                     "or a 'fatigue_score' column to the RR table CSV; see docs/data.md 'Labelled files'",
}


def require_target(data: LabelledData, target: str, purpose: str, where: str) -> None:
    """One-line :class:`InputError` when no beat of ``data`` carries ``target``."""
    if not data.has(target):
        raise InputError(f"{where}: labels are required to train the {purpose} {data.how_to_label.get(target, '')}"
                         .rstrip())


def sniff_kind(path: Path) -> str:
    """``table`` (RR table CSV, maybe labelled), ``scores`` (scores file), ``reading_labels`` (labels
    per reading) or ``other``."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            for line in fh:
                if line.lstrip().startswith("#"):
                    continue
                head = tuple(h.strip() for h in line.strip().split(","))
                if head[:5] == COLUMNS:
                    return "table"
                if head == SCORE_COLUMNS:
                    return "scores"
                if head == READING_LABEL_COLUMNS:
                    return "reading_labels"
                return "other"
    except OSError:
        raise InputError(f"{path}: cannot read") from None
    return "other"


def read_table_csv(path: Path) -> tuple[RRTable, np.ndarray, np.ndarray, bool]:
    """Read an RR table CSV with optional ``label`` / ``fatigue_score`` columns."""
    path = Path(path)
    lines, first, comments = _text_lines(path)
    synthetic = bool(comments) and "SYNTHETIC" in comments[0]
    if not lines:
        raise InputError(f"{path}: empty file")
    reader = csv.reader(io.StringIO("\n".join(lines)))
    header = [h.strip() for h in next(reader)]
    if tuple(header[:5]) != COLUMNS:
        raise InputError(f"{path}: line {first}: expected header {','.join(COLUMNS)}[,label][,fatigue_score]")
    i_lab = header.index("label") if "label" in header else None
    i_sc = header.index("fatigue_score") if "fatigue_score" in header else None
    ncol = len(header)
    subj, seg, t, rr, fl, lab, sc = [], [], [], [], [], [], []
    for k, row in enumerate(reader):
        lineno = first + 1 + k
        if not row:
            continue
        if len(row) != ncol:
            raise InputError(f"{path}: line {lineno}: expected {ncol} fields, got {len(row)}")
        try:
            seg.append(int(row[1]))
            t.append(float(row[2]))
            rr.append(float(row[3]))
            fl.append(int(row[4]))
        except ValueError:
            raise InputError(f"{path}: line {lineno}: non-numeric value in {','.join(row[:5])!r}") from None
        if not (np.isfinite(t[-1]) and np.isfinite(rr[-1])):
            raise InputError(f"{path}: line {lineno}: non-finite time_s or rr_ms")
        subj.append(row[0])
        lab.append(_label_index(row[i_lab], path, lineno) if i_lab is not None else -1)
        sc.append(_score(row[i_sc], path, lineno) if i_sc is not None else float("nan"))
    if not rr:
        raise InputError(f"{path}: no RR rows after the header")
    table = RRTable(np.array(subj, dtype=str), np.array(seg), np.array(t), np.array(rr), np.array(fl))
    return table, np.array(lab, np.int64), np.array(sc, np.float64), synthetic


def load_labelled_files(cfg) -> LabelledData:
    """Read ``cfg.data.inputs`` (labelled table CSVs, scores files, other recordings) for training.

    Returns the raw beats with per-beat labels and scores, rows ordered by subject then time (so
    windows come out in time order per subject). Raises :class:`InputError` (one line) when the
    model type's labels are missing: ``label`` for the strain classifier, fatigue scores for the
    forecaster.
    """
    d = cfg.data
    paths = [Path(p) for p in d.inputs]
    if not paths:
        raise InputError(f"{cfg.path}: data.inputs lists no files")
    # the same file twice, or two recordings whose stems would be one subject, are refused up front
    readers.refuse_repeated_files(paths)
    readers.subject_names([p for p in paths if sniff_kind(p) == "other"])  # two people's export.xml
    tables, labs, scs = [], [], []
    score_files: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    reading_labels: list[tuple[Path, dict]] = []
    synthetic = True
    n_tables = 0
    for p in paths:
        if not p.is_file():
            raise InputError(f"{p}: file not found")
        kind = sniff_kind(p)
        if kind == "table":
            t, lab, sc, syn = read_table_csv(p)
            synthetic &= syn
            n_tables += 1
        elif kind == "scores":
            for subj, v in read_scores(p).items():
                if subj in score_files:
                    raise InputError(f"{p}: subject {subj!r} already has scores from another file")
                score_files[subj] = v
            continue
        elif kind == "reading_labels":
            reading_labels.append((p, read_reading_labels(p)))
            continue
        else:
            t = readers.read([p], d.format)
            lab = np.full(len(t), -1, np.int64)
            sc = np.full(len(t), np.nan)
            synthetic = False
        tables.append(t)
        labs.append(lab)
        scs.append(sc)
    if not tables:
        raise InputError(f"{cfg.path}: data.inputs holds only scores or label files; add the RR recordings")
    table = RRTable.concat(tables)  # distinct segment numbers across files
    beat_label = np.concatenate(labs)
    beat_score = np.concatenate(scs)
    # order: subject, then time of the segment's first beat (segments stay contiguous)
    seg_first_t = _segment_first_time(table)
    order = np.lexsort((np.arange(len(table)), seg_first_t, table.subject))
    table = table.take(order)
    beat_label = beat_label[order]
    beat_score = beat_score[order]
    subjects = np.unique(table.subject)
    for s in subjects:
        m = table.subject == s
        ts = table.time_s[m]
        back = np.flatnonzero(np.diff(ts) < 0)
        if len(back):
            raise InputError(f"{', '.join(map(str, paths))}: subject {s!r}: beat times go backwards at "
                             f"time_s {ts[back[0] + 1]:.3f} (overlapping recordings?)")
        if s in score_files:
            given = beat_score[m]
            from_file = scores_at(ts, *score_files[s])
            beat_score[m] = np.where(np.isfinite(given), given, from_file)
    # segment numbers increasing through the table again
    table = RRTable(table.subject, _renumber(table.segment), table.time_s, table.rr_ms, table.flags,
                    meta={"synthetic": synthetic and n_tables > 0})
    for p, by_subject in reading_labels:
        for subj, rows in by_subject.items():
            label_readings(table, beat_label, rows, subj, p)
    data = LabelledData(table, beat_label, beat_score, subjects, [str(p) for p in paths],
                        synthetic and n_tables > 0)
    data.where = ", ".join(str(p) for p in paths)
    data.how_to_label = FILE_LABEL_HINTS
    data.issued = {s: v for s, v in score_files.items() if s in set(subjects.tolist())}
    return data


def _segment_first_time(table: RRTable) -> np.ndarray:
    b = table.segment_bounds()
    return np.repeat(table.time_s[b[:-1]], np.diff(b)) if len(table) else np.zeros(0)


def _renumber(segment: np.ndarray) -> np.ndarray:
    out = np.zeros(len(segment), np.int64)
    if len(segment) > 1:
        out[1:] = np.cumsum(segment[1:] != segment[:-1])
    return out


def labels_after_cleaning(raw: RRTable, beat_values: np.ndarray, cleaned: RRTable) -> np.ndarray:
    """Carry per-beat values of the raw table to the cleaned one by (subject, time).

    Cleaning keeps beat times: a kept or merged beat has its raw time; a beat inserted into a
    missed interval lies before the raw beat that ends that interval and takes its value (the first
    raw beat of the subject at or after its time).
    """
    out = np.empty(len(cleaned), dtype=beat_values.dtype)
    for s in np.unique(cleaned.subject):
        rm = np.flatnonzero(raw.subject == s)
        cm = np.flatnonzero(cleaned.subject == s)
        i = np.searchsorted(raw.time_s[rm], cleaned.time_s[cm], side="left")
        out[cm] = beat_values[rm[np.clip(i, 0, len(rm) - 1)]]
    return out


def hour_last_scores(table: RRTable, beat_score: np.ndarray) -> dict[str, dict[int, float]]:
    """{subject: {clock hour floor(time_s/3600): score of the last beat in that hour with a score}}."""
    out: dict[str, dict[int, float]] = {}
    ok = np.isfinite(beat_score)
    hour = np.floor(table.time_s / 3600.0).astype(np.int64)
    for s in np.unique(table.subject):
        m = np.flatnonzero((table.subject == s) & ok)
        h = hour[m]
        # rows are in time order: the last occurrence of each hour wins
        out[str(s)] = dict(zip(h.tolist(), beat_score[m].tolist()))
    return out
