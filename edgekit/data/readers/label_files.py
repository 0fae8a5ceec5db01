"""The label files of one person's recordings (docs/data.md, "Labelled files"): a scores file per wake-up
(``subject,time_s,fatigue_score``, :func:`read_scores`) and a labels file per reading
(``subject,time_s,label``, :func:`read_reading_labels`), how their rows reach the beats, and the text
checks (a label, a score, the lines of a file) the labelled RR table shares.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from edgekit import STRAIN_LABELS
from edgekit.data.rr import RRTable, read_text_file
from edgekit.core.errors import InputError
from edgekit.data.signal.windows import reading_units


SCORE_COLUMNS = ("subject", "time_s", "fatigue_score")
READING_LABEL_COLUMNS = ("subject", "time_s", "label")
SCORE_HOLD_S = 36 * 3600.0  # a score from a scores file holds until the next one, at most this long
READING_LABEL_SLACK_S = 5.0  # a reading label's time may lie this far outside the reading's beats


def _text_lines(path: Path) -> tuple[list[str], int, list[str]]:
    """Lines of a text file after leading ``#`` comments.

    Returns (lines, line number of the first, the comment lines); the file is read once.
    """
    text = read_text_file(path)
    lines = text.splitlines()
    i = 0
    while i < len(lines) and lines[i].lstrip().startswith("#"):
        i += 1
    return lines[i:], i + 1, lines[:i]


def _label_index(value: str, path: Path, lineno: int) -> int:
    v = value.strip()
    if not v:
        return -1
    if v in STRAIN_LABELS:
        return STRAIN_LABELS.index(v)
    if v.isdigit() and int(v) < len(STRAIN_LABELS):
        return int(v)
    raise InputError(f"{path}: line {lineno}: label {v[:40]!r} is not one of {', '.join(STRAIN_LABELS)} "
                     f"(or 0-{len(STRAIN_LABELS) - 1})")


def _score(value: str, path: Path, lineno: int) -> float:
    v = value.strip()
    if not v:
        return float("nan")
    try:
        x = float(v)
    except ValueError:
        raise InputError(f"{path}: line {lineno}: non-numeric fatigue_score {v[:40]!r}") from None
    if not 0.0 <= x <= 100.0:
        raise InputError(f"{path}: line {lineno}: fatigue_score {v} outside 0-100")
    return x


def _timed_rows(path: Path, value: str, parse) -> dict[str, list[tuple[float, object, int]]]:
    """Rows ``subject,time_s,<value>`` after the header -> {subject: [(time_s, parse(text, path, line),
    line number)]} in file order; one line on a wrong field count, a bad or non-finite time, or no row."""
    path = Path(path)
    lines, first, _ = _text_lines(path)
    reader = csv.reader(io.StringIO("\n".join(lines)))
    next(reader)
    out: dict[str, list] = {}
    for k, row in enumerate(reader):
        lineno = first + 1 + k
        if not row:
            continue
        if len(row) != 3:
            raise InputError(f"{path}: line {lineno}: expected 3 fields (subject,time_s,{value})")
        try:
            ts = float(row[1])
        except ValueError:
            raise InputError(f"{path}: line {lineno}: non-numeric time_s {row[1][:40]!r}") from None
        if not np.isfinite(ts):
            raise InputError(f"{path}: line {lineno}: time_s must be a finite number")
        out.setdefault(row[0].strip(), []).append((ts, parse(row[2], path, lineno), lineno))
    if not out:
        raise InputError(f"{path}: no {value} rows after the header")
    return out


def _finite_score(text: str, path: Path, lineno: int) -> float:
    s = _score(text, path, lineno)
    if not np.isfinite(s):
        raise InputError(f"{path}: line {lineno}: fatigue_score must be a number (one row per issued score)")
    return s


def _reading_label(text: str, path: Path, lineno: int) -> int:
    lab = _label_index(text, path, lineno)
    if lab < 0:
        raise InputError(f"{path}: line {lineno}: empty label")
    return lab


def read_scores(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Scores file -> {subject: (issue times sorted, scores)}."""
    out = {}
    for subj, v in _timed_rows(path, "fatigue_score", _finite_score).items():
        a = np.array(sorted((t, sc) for t, sc, _ in v))
        out[subj] = (a[:, 0], a[:, 1])
    return out


def read_reading_labels(path: Path) -> dict[str, list[tuple[float, int, int]]]:
    """Reading labels file -> {subject: [(time_s, label index, line number)]} (file order)."""
    return _timed_rows(path, "label", _reading_label)  # type: ignore[return-value]


def label_readings(table: RRTable, beat_label: np.ndarray, rows: list[tuple[float, int, int]], subject: str,
                   path: Path) -> None:
    """Give every beat of the reading each row names its label (in place; a beat's own label wins).
    A row that names no reading, or two rows giving one reading different labels, is refused."""
    m = np.flatnonzero(table.subject == subject)
    if not len(m):
        raise InputError(f"{path}: line {rows[0][2]}: subject {subject!r} has no recording in data.inputs")
    sub = table.take(m)
    units = reading_units(sub)
    first = np.array([u[0][0] for u in units])
    last = np.array([u[-1][1] - 1 for u in units])
    start_t = sub.time_s[first] - sub.rr_ms[first] / 1000.0
    end_t = sub.time_s[last]
    given: dict[int, tuple[int, int]] = {}
    for ts, lab, lineno in rows:
        i = int(np.searchsorted(start_t - READING_LABEL_SLACK_S, ts, side="right")) - 1
        if i < 0 or ts > end_t[i] + READING_LABEL_SLACK_S:
            raise InputError(f"{path}: line {lineno}: no reading of subject {subject!r} at time_s {ts:.3f} "
                             f"(a row names a time from a reading's first beat to its last; give Unix seconds, "
                             f"as 'edgekit predict --json' prints start_time_s)")
        if i in given and given[i][0] != lab:
            raise InputError(f"{path}: line {lineno}: the reading at time_s {ts:.3f} already has the label "
                             f"{STRAIN_LABELS[given[i][0]]!r} (line {given[i][1]})")
        given[i] = (lab, lineno)
        rows_i = m[first[i]:last[i] + 1]
        beat_label[rows_i] = np.where(beat_label[rows_i] >= 0, beat_label[rows_i], lab)


def scores_at(times: np.ndarray, issued: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The score in force at each time: last issued at or before it, within SCORE_HOLD_S."""
    i = np.searchsorted(issued, times, side="right") - 1
    ok = i >= 0
    out = np.full(len(times), np.nan)
    ic = np.clip(i, 0, None)
    ok &= (times - issued[ic]) <= SCORE_HOLD_S
    out[ok] = scores[ic[ok]]
    return out
