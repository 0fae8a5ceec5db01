"""The strain classifier's examples (the data stage's :class:`~edgekit.data.pipeline.Examples`): windows of
consecutive beats (:class:`BeatWindows`) and single readings (:class:`ReadingWindows`), labelled by the
synthetic cohort's states or a labelled file's labels. docs/pipeline.md, "data/windows.npz".
"""

from __future__ import annotations

import numpy as np

from edgekit import STRAIN_LABELS
from edgekit.data.pipeline import Examples
from edgekit.data.readers.labelled import labels_after_cleaning
from edgekit.data.signal.windows import beat_windows, reading_windows, reading_units
from edgekit.data.synth.cohort import RECORDINGS
from edgekit.data.synth.coverage import Coverage


class BeatWindows(Examples):
    """Windows of ``window_beats`` consecutive clean beats (stride ``data.window_stride``), one
    class label each: X (W, N) float32 ms, y (W,) int64, subject (W,) int64."""

    target = "label"
    purpose = "strain classifier"

    def __init__(self, cfg, length: int) -> None:
        super().__init__(cfg)
        self.length = length
        self.parts: list = []
        self.subjects: set = set()

    def add(self, res, labels) -> None:
        self.parts.append(_classifier_parts(self.cfg, res, labels, self.length))
        self.subjects.update(res.table.subject.tolist())

    def finish(self, labels):
        return _classifier_arrays(self.cfg, self.parts, self.subjects, self.length)


class ReadingWindows(Examples):
    """Reading windows (strain classifier on single readings, docs/data.md "Reading windows"): a
    reading's beats (parts split by cleaning joined by one 0) in ``length`` slots then absent markers
    (0 ms); long recordings cut into pieces of reading length. X (W, N) float32 ms, y, subject, and
    per window its recording kind (-1 for recorded data), beats, day and reading, plus coverage
    arrays (``cov_*``). From files or InfluxDB a window's label is the one all its beats carry (a
    per-reading labels file gives every beat of a reading its label); others are excluded, counted."""

    target = "label"
    purpose = "strain classifier (single readings)"

    def __init__(self, cfg, length: int, min_beats: int) -> None:
        super().__init__(cfg)
        self.length, self.min_beats = length, min_beats
        self.cols: dict[str, list] = {k: [] for k in ("X", "y", "subject", "kind", "n_beats", "day", "reading")}
        self.n_excl = self.n_excl_label = self.n_readings = 0
        self.cov = Coverage(n_slots=length, min_beats=min_beats, max_artifact_pct=cfg.data.max_artifact_pct,
                            today_max_artifact_pct=5.0)

    def add(self, res, labels) -> None:
        if self.cfg.data.source != "synthetic":
            self._add_recorded(res, labels)
            return
        d = self.cfg.data
        t = res.table
        X, _, starts, lens, n_excl = reading_windows(t, self.length, self.min_beats, d.max_artifact_pct,
                                                     pieces=True, seed=d.seed)
        self.n_excl += n_excl
        origin = res.segment_origin[t.segment[starts]] if len(starts) else np.zeros(0, np.int64)
        sub = labels.seg_subject[origin]
        self.cols["X"].append(X.astype(np.float32))
        self.cols["y"].append(labels.seg_label[origin].astype(np.int64))
        self.cols["subject"].append(sub.astype(np.int64))
        self.cols["kind"].append(labels.segment_kinds()[origin].astype(np.int64))
        self.cols["n_beats"].append(lens.astype(np.int64))
        self.cols["day"].append(labels.physiological_day(labels.seg_hour[origin], sub).astype(np.int64))
        self.cols["reading"].append(origin.astype(np.int64))
        self.cov.add(res, labels)

    def _add_recorded(self, res, labels) -> None:
        """Windows of recorded data (:class:`~edgekit.data.readers.labelled.LabelledData`): a window's beats are
        consecutive rows, so its label is the one its rows carry after cleaning."""
        d = self.cfg.data
        t = res.table
        X, _, starts, lens, n_excl = reading_windows(t, self.length, self.min_beats, d.max_artifact_pct,
                                                     pieces=True, seed=d.seed)
        self.n_excl += n_excl
        lab = labels_after_cleaning(labels.table, labels.beat_label, t)
        ok = np.array([bool(k) and lab[s] >= 0 and bool((lab[s:s + k] == lab[s]).all())
                       for s, k in zip(starts.tolist(), lens.tolist())], bool)
        self.n_excl_label += int((~ok).sum())
        unit_of = np.full(len(t), -1, np.int64)
        units = reading_units(t)
        for u, parts in enumerate(units):
            for a, e in parts:
                unit_of[a:e] = u + self.n_readings
        self.n_readings += len(units)
        index = {s: i for i, s in enumerate(labels.subject_ids.tolist())}
        st = starts[ok]
        self.cols["X"].append(X[ok].astype(np.float32))
        self.cols["y"].append(lab[st].astype(np.int64))
        self.cols["subject"].append(np.array([index[s] for s in t.subject[st].tolist()], np.int64))
        self.cols["kind"].append(np.full(len(st), -1, np.int64))
        self.cols["n_beats"].append(lens[ok].astype(np.int64))
        self.cols["day"].append(np.floor(t.time_s[st] / 86400.0).astype(np.int64))
        self.cols["reading"].append(unit_of[st])
        self.cov.add_recorded(t, index)

    def finish(self, labels):
        arrays = {k: (np.concatenate(v) if v else np.zeros((0, self.length) if k == "X" else 0))
                  for k, v in self.cols.items()}
        arrays["label_names"] = np.array(STRAIN_LABELS)
        arrays.update(self.cov.arrays())
        y = arrays["y"]
        s = {
            "n_windows": int(len(y)),
            "n_excluded_artifact": int(self.n_excl),
            "n_excluded_label": int(self.n_excl_label),
            "window_beats": self.length,
            "min_beats": self.min_beats,
            "class_counts": {name: int((y == i).sum()) for i, name in enumerate(STRAIN_LABELS)},
            "windows_per_profile": _per_profile(arrays["kind"]),
            "n_subjects": int(len(np.unique(arrays["subject"]))),
        }
        return arrays, s


def _per_profile(kind: np.ndarray) -> dict[str, int]:
    """Examples per recording profile: the simulator's kinds, or ``recorded`` (kind -1: files, InfluxDB)."""
    if len(kind) and (kind < 0).all():
        return {"recorded": int(len(kind))}
    return {name: int((kind == k).sum()) for k, name in enumerate(RECORDINGS)}


def _classifier_parts(cfg, res, labels, n: int):
    """Windows of one cleaned table: (X float32 (W, N), y (W,), subject name per window, n_excluded
    artifact, n_excluded label)."""
    table = res.table
    X, seg_of, starts, n_excl = beat_windows(table, n, cfg.data.window_stride, cfg.data.max_artifact_pct)
    n_excl_label = 0
    if cfg.data.source == "synthetic":
        # window -> input segment (cleaning may split segments) -> label
        seg_ids = res.segment_origin[table.segment[starts]] if len(starts) else np.zeros(0, np.int64)
        y = labels.seg_label[seg_ids] if len(seg_ids) else np.zeros(0, np.int64)
    else:
        # per-beat labels follow the beats through cleaning; a window needs one label on all beats
        lab = labels_after_cleaning(labels.table, labels.beat_label, table)
        wl = lab[starts[:, None] + np.arange(n)[None, :]] if len(starts) else np.zeros((0, n), np.int64)
        ok = (wl >= 0).all(axis=1) & (wl == wl[:, :1]).all(axis=1)
        n_excl_label = int((~ok).sum())
        X, starts = X[ok], starts[ok]
        y = wl[ok, 0] if len(starts) else np.zeros(0, np.int64)
    subj_names = table.subject[starts] if len(starts) else np.zeros(0, str)
    return X.astype(np.float32), y.astype(np.int64), subj_names, n_excl, n_excl_label


def _classifier_arrays(cfg, parts, subjects, n: int):
    """Join :func:`_classifier_parts` results; ``subjects``: every subject name of the cleaned
    table(s) (the subject index is the position in their sorted order)."""
    X = np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, n), np.float32)
    y = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    subj_index = {s: i for i, s in enumerate(sorted(subjects))}
    subject = np.array([subj_index[s] for p in parts for s in p[2].tolist()], np.int64)
    arrays = {
        "X": X,
        "y": y,
        "subject": subject,
        "label_names": np.array(STRAIN_LABELS),
    }
    counts = {name: int((y == i).sum()) for i, name in enumerate(STRAIN_LABELS)}
    s = {
        "n_windows": int(len(y)),
        "n_excluded_artifact": int(sum(p[3] for p in parts)),
        "n_excluded_label": int(sum(p[4] for p in parts)),
        "window_beats": n,
        "window_stride": cfg.data.window_stride,
        "class_counts": counts,
        "n_subjects": int(len(np.unique(subject))),
    }
    return arrays, s
