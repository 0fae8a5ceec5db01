"""The ``data`` stage: config ``[data]`` -> ``build/<model>/data/windows.npz`` + ``summary.json``.

See docs/pipeline.md for the file contract and docs/data.md for the definitions.
"""

from __future__ import annotations

import hashlib
import io
import time
import zipfile
from pathlib import Path

import numpy as np

from edgekit import STRAIN_LABELS
from edgekit.core.errors import EdgekitError
from edgekit.core.fileio import atomic_path, write_json

def write_npz_deterministic(path: str | Path, arrays: dict[str, np.ndarray]) -> str:
    """Write an .npz (readable by np.load) whose bytes depend only on the arrays; returns sha256.

    np.savez stamps the current time into the zip entries; here every entry has a fixed date, a
    fixed order (as given) and no compression. Each array goes from memory to the (atomic) file
    directly, without a copy of the archive in memory.
    """
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh, zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as zf:
            for name, arr in arrays.items():
                arr = np.ascontiguousarray(arr)
                head = io.BytesIO()
                np.lib.format.write_array_header_1_0(head, np.lib.format.header_data_from_array_1_0(arr))
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                info.file_size = len(head.getvalue()) + arr.nbytes  # as ZipFile.writestr sets it
                with zf.open(info, mode="w") as dest:
                    dest.write(head.getvalue())
                    dest.write(memoryview(arr.reshape(-1).view(np.uint8)))
        h = hashlib.sha256()
        with open(tmp, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 24), b""):
                h.update(block)
    return h.hexdigest()


def _load_source(cfg, examples: "Examples"):
    """Return (clean result, labels) for the configured data source.

    ``labels`` is the synthetic :class:`~edgekit.data.synth.cohort.Cohort` or, for ``data.source =
    "files"`` / ``"influxdb"``, the :class:`~edgekit.data.readers.labelled.LabelledData` of the inputs.
    """
    from edgekit.data.synth import cohort as synth
    from edgekit.data.signal.clean import clean
    from edgekit.data.readers.labelled import load_labelled_files

    d = cfg.data
    if d.source == "synthetic":
        cohort = synth.generate(d.subjects, d.days, d.seed, **_recordings_kw(d))
        res = clean(cohort.table, d.clean, d.min_rr_ms, d.max_rr_ms)
        return res, cohort
    if d.source == "influxdb":
        from edgekit.data.influx.tables import load_influx

        data = load_influx(cfg)
    else:
        data = load_labelled_files(cfg)
    examples.require_target(data, data.where)
    res = clean(data.table, d.clean, d.min_rr_ms, d.max_rr_ms)
    return res, data


class Examples:
    """How a model's training examples are made from cleaned RR tables (a task spec picks one).

    The data stage feeds it one cleaned chunk at a time (:meth:`add`), then :meth:`finish` joins the
    chunks into the arrays of ``windows.npz`` and the summary's counts. ``target`` names the label
    a labelled file must carry (``label`` or ``fatigue_score``); ``purpose`` says, for errors,
    what the examples train.
    """

    target: str = ""
    purpose: str = ""

    def __init__(self, cfg) -> None:
        self.cfg = cfg

    def add(self, res, labels) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def finish(self, labels) -> tuple[dict[str, np.ndarray], dict]:  # pragma: no cover - interface
        raise NotImplementedError

    def make(self) -> tuple[dict, dict[str, np.ndarray], dict]:
        """(summary head, arrays, summary counts) of the configured RR source: the synthetic cohort
        chunk by chunk (memory does not grow with the cohort), files or InfluxDB."""
        cfg = self.cfg
        d = cfg.data
        if d.source == "synthetic":
            clean_stats, arrays, s = _synthetic_chunked(cfg, self)
        else:
            res, labels = _load_source(cfg, self)
            clean_stats = _clean_stats([res])
            baseline = _baseline_summary(res.table)
            self.add(res, labels)
            arrays, s = self.finish(labels)
        summary: dict = {
            "source": d.source,
            "synthetic": d.source == "synthetic",
            "model_type": cfg.model.type,
            "clean": d.clean,
            **clean_stats,
            "max_artifact_pct": d.max_artifact_pct,
        }
        if d.source == "synthetic":
            summary["note"] = ("SYNTHETIC cohort (simulated RR, no real subjects); see "
                               "docs/synthetic_cohort.md")
            summary.update({"subjects": d.subjects, "days": d.days, "seed": d.seed})
            if _recordings_kw(d):
                summary["profiles"] = list(d.profiles)
                summary["recording_stats"] = getattr(self, "recording_stats", None)
        else:
            summary["inputs"] = [Path(p).name for p in labels.inputs]
            summary["synthetic"] = labels.synthetic
            summary["baseline"] = baseline
            if labels.synthetic:
                summary["note"] = ("SYNTHETIC data (files written by 'edgekit data synth'; simulated RR, "
                                   "no real subjects); see docs/synthetic_cohort.md")
        return summary, arrays, s

    def require_target(self, data, where: str) -> None:
        """One-line :class:`InputError` when labelled ``data`` lacks this target."""
        from edgekit.data.readers.labelled import require_target

        require_target(data, self.target, self.purpose, where)


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


class HourlySeries(Examples):
    """Series of ``sequence_hours`` hourly RMSSD values (stride ``data.series_stride_hours``) with
    the fatigue score in force (``y_today``) and the next one (``y``)."""

    target = "fatigue_score"
    purpose = "fatigue forecaster"

    def __init__(self, cfg, length: int) -> None:
        super().__init__(cfg)
        self.length = length
        self.hourly: dict = {}

    def add(self, res, labels) -> None:
        from edgekit.data.signal.windows import hourly_rmssd

        self.hourly.update(hourly_rmssd(res.table, self.cfg.data.max_artifact_pct))

    def finish(self, labels):
        return _forecaster_from_hourly(self.cfg, self.hourly, labels, self.length)


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
        from edgekit.data.synth.coverage import Coverage

        super().__init__(cfg)
        self.length, self.min_beats = length, min_beats
        self.cols: dict[str, list] = {k: [] for k in ("X", "y", "subject", "kind", "n_beats", "day", "reading")}
        self.n_excl = self.n_excl_label = self.n_readings = 0
        self.cov = Coverage(n_slots=length, min_beats=min_beats, max_artifact_pct=cfg.data.max_artifact_pct,
                            today_max_artifact_pct=5.0)

    def add(self, res, labels) -> None:
        from edgekit.data.signal.windows import reading_windows

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
        from edgekit.data.readers.labelled import labels_after_cleaning
        from edgekit.data.signal.windows import reading_units, reading_windows

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
    from edgekit.data.synth.cohort import RECORDINGS

    if len(kind) and (kind < 0).all():
        return {"recorded": int(len(kind))}
    return {name: int((kind == k).sum()) for k, name in enumerate(RECORDINGS)}


class HourlySlots(Examples):
    """Hourly slots (forecaster on irregular readings, docs/data.md "Hourly slots"): at every wake-up
    the RMSSD of the last ``length`` local clock hours, absent hours 0, with the score in force
    (``y_today``) and the one issued at that wake-up (``y``). Subjects recorded densely (more than
    12 present hours) also give ``AUGMENT_COPIES`` copies thinned to a watch-like ~30 % of hours
    (``aug`` = 1), so training sees realistic absence. From files or InfluxDB the wake-ups are the
    issue times of the subject's scores (:meth:`~edgekit.data.readers.labelled.LabelledData.score_events`) and the
    hours are local clock hours at ``data.utc_offset``."""

    target = "fatigue_score"
    purpose = "fatigue forecaster (irregular readings)"
    AUGMENT_COPIES = 3
    AUGMENT_KEEP = 0.3

    def __init__(self, cfg, length: int, min_present: int) -> None:
        from edgekit.data.synth.coverage import Coverage

        super().__init__(cfg)
        self.length, self.min_present = length, min_present
        self.cols: dict[str, list] = {k: [] for k in ("X", "y", "y_today", "subject", "kind", "aug",
                                                      "readings_24h", "present")}
        self.n_too_few = self.n_no_previous = 0
        self.cov = Coverage(hours=length, min_present=min_present, max_artifact_pct=cfg.data.max_artifact_pct,
                            today_max_artifact_pct=5.0)

    def _example(self, x, y, y_today, si, kind, n_read, rng) -> None:
        """One wake-up's input and, for densely recorded hours, its thinned copies."""
        copies = [(x, 0)]
        if (x > 0).sum() > 12:
            for _ in range(self.AUGMENT_COPIES):
                keep = rng.random(self.length) < self.AUGMENT_KEEP
                copies.append((np.where(keep, x, 0.0), 1))
        for xc, aug in copies:
            present = int((xc > 0).sum())
            if present < self.min_present:
                self.n_too_few += int(aug == 0)
                continue
            for k, v in (("X", xc), ("y", y), ("y_today", y_today), ("subject", si), ("kind", kind), ("aug", aug),
                         ("readings_24h", n_read), ("present", present)):
                self.cols[k].append(v)

    def add(self, res, labels) -> None:
        from edgekit.data.synth.coverage import epoch_hour
        from edgekit.data.signal.windows import MIN_SLOT_DIFFS, hourly_rmssd, hourly_slots

        if self.cfg.data.source != "synthetic":
            self._add_recorded(res, labels)
            return
        d = self.cfg.data
        t = res.table
        hr = hourly_rmssd(t, d.max_artifact_pct, MIN_SLOT_DIFFS)
        names = labels.subject_ids.tolist()
        index = {s: i for i, s in enumerate(names)}
        e0 = epoch_hour()
        sub_kind = labels.subject_recordings()
        origin_beats = np.bincount(res.segment_origin[t.segment], minlength=len(labels.seg_label)) if len(t) \
            else np.zeros(len(labels.seg_label), np.int64)
        for name in sorted(set(t.subject.tolist()), key=index.get):
            si = index[name]
            wake = int(labels.wake_hour[si])
            seg_h = labels.seg_hour[(labels.seg_subject == si) & (origin_beats > 0)]
            rng = np.random.default_rng([d.seed, 0xA6, si])
            for day in range(1, labels.readiness.shape[1]):
                e = day * 24 + wake
                if e > labels.score.shape[1]:
                    break
                x = hourly_slots(hr, name, e0 + e, self.length)
                n_read = int(((seg_h >= e - self.length) & (seg_h < e)).sum())
                self._example(x, labels.readiness[si, day], labels.readiness[si, day - 1], si, int(sub_kind[si]),
                              n_read, rng)
        # the coverage's slot RMSSD is this one: its Coverage was made with d.max_artifact_pct above
        self.cov.add(res, labels, hr_slot=hr)

    def _add_recorded(self, res, labels) -> None:
        """Examples of recorded data: at each issued score k >= 1 of a subject (a wake-up at time tau_k),
        the slots of the local hours [e-24, e), e = floor((tau_k + offset) / 3600) (the hours before
        the wake-up hour, as the synthetic score is issued at its start), y = score k and y_today =
        score k-1 when it was issued at most 36 h earlier (still in force); others are counted."""
        from edgekit.data.clock import utc_offset_seconds
        from edgekit.data.readers.labelled import SCORE_HOLD_S
        from edgekit.data.signal.windows import MIN_SLOT_DIFFS, hourly_rmssd, hourly_slots, reading_units

        d = self.cfg.data
        t = res.table
        names = labels.subject_ids.tolist()
        index = {s: i for i, s in enumerate(names)}
        newest = float(t.time_s.max()) if len(t) else 0.0
        off = utc_offset_seconds(d.utc_offset, newest, "data.utc_offset")
        hr = hourly_rmssd(t, d.max_artifact_pct, MIN_SLOT_DIFFS, utc_offset_s=off)
        units = reading_units(t)
        first = np.array([u[0][0] for u in units], np.int64)
        unit_hour = np.floor((t.time_s[first] + off) / 3600.0).astype(np.int64) if len(first) else first
        unit_subject = t.subject[first] if len(first) else np.zeros(0, str)
        wakeups = []
        for name, (times, scores) in sorted(labels.score_events().items(), key=lambda kv: index[kv[0]]):
            si = index[name]
            rng = np.random.default_rng([d.seed, 0xA6, si])
            for k in range(1, len(times)):
                if times[k] - times[k - 1] > SCORE_HOLD_S:
                    self.n_no_previous += 1
                    continue
                e = int(np.floor((times[k] + off) / 3600.0))
                x = hourly_slots(hr, name, e, self.length)
                n_read = int(((unit_subject == name) & (unit_hour >= e - self.length) & (unit_hour < e)).sum())
                self._example(x, float(scores[k]), float(scores[k - 1]), si, -1, n_read, rng)
                wakeups.append((name, e))
        self.cov.add_recorded(t, index, wakeups, utc_offset_s=off, hr_slot=hr)

    def finish(self, labels):
        c = self.cols
        arrays = {
            "X": np.array(c["X"], np.float32).reshape(-1, self.length),
            "y": np.array(c["y"], np.float32),
            "y_today": np.array(c["y_today"], np.float32),
            "subject": np.array(c["subject"], np.int64),
            "kind": np.array(c["kind"], np.int64),
            "aug": np.array(c["aug"], np.int64),
            "readings_24h": np.array(c["readings_24h"], np.int64),
            "present_hours": np.array(c["present"], np.int64),
        }
        arrays.update(self.cov.arrays())
        y, yt, real = arrays["y"], arrays["y_today"], arrays["aug"] == 0
        s = {
            "n_windows": int(len(y)),
            "n_series": int(real.sum()),
            "n_augmented": int((~real).sum()),
            "n_excluded_artifact": 0,
            "n_too_few_present_hours": self.n_too_few,
            "series_hours": self.length,
            "n_subjects": int(len(np.unique(arrays["subject"]))),
            "class_counts": {"green": int((y >= 70).sum()), "yellow": int(((y >= 40) & (y < 70)).sum()),
                             "red": int((y < 40).sum())},
            "y_mean": float(y.mean()) if len(y) else float("nan"),
            "y_std": float(y.std()) if len(y) else float("nan"),
            "persistence_mae": float(np.mean(np.abs(y[real] - yt[real]))) if real.any() else float("nan"),
        }
        if self.cfg.data.source != "synthetic":
            s["n_without_previous_score"] = self.n_no_previous
            s["utc_offset"] = self.cfg.data.utc_offset
        return arrays, s


def _baseline_summary(cleaned) -> dict:
    """Per subject of a build's files: the wearer's own baseline (edgekit.data.signal.baseline; days and
    night hours in UTC), its latest day and the days per trend word, for the report."""
    from edgekit.data.signal.baseline import personal_baseline

    return {s: b.to_json(days=False) for s, b in personal_baseline(cleaned).items()}


def run(cfg, build_dir: Path, examples: Examples) -> dict:
    """Build the model's training examples with ``examples`` (the model's task spec chooses it).
    Returns the summary (also written to summary.json)."""
    t0 = time.perf_counter()
    out_dir = Path(build_dir) / cfg.name / "data"
    summary, arrays, s = examples.make()
    summary.update(s)
    if summary["n_windows"] == 0:
        raise EdgekitError(f"data stage: no usable windows for {cfg.name} (all excluded or too short: "
                           f"{_exclusions(summary)})")
    out_dir.mkdir(parents=True, exist_ok=True)  # only now: a refusal leaves no empty directory
    summary["fingerprint"] = write_npz_deterministic(out_dir / "windows.npz", arrays)
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    write_json(out_dir / "summary.json", summary)
    return summary


def _exclusions(summary: dict) -> str:
    """The counts that say why examples were excluded, for the 'no usable windows' line."""
    keys = ("n_beats_clean", "n_excluded_artifact", "n_excluded_label", "n_too_few_present_hours",
            "n_without_next_24h", "n_without_previous_score")
    return ", ".join(f"{k} {summary[k]}" for k in keys if summary.get(k) is not None) or "no counts"


def _classifier_parts(cfg, res, labels, n: int):
    """Windows of one cleaned table: (X float32 (W, N), y (W,), subject name per window, n_excluded
    artifact, n_excluded label)."""
    from edgekit.data.signal.windows import beat_windows

    table = res.table
    X, seg_of, starts, n_excl = beat_windows(table, n, cfg.data.window_stride, cfg.data.max_artifact_pct)
    n_excl_label = 0
    if cfg.data.source == "synthetic":
        # window -> input segment (cleaning may split segments) -> label
        seg_ids = res.segment_origin[table.segment[starts]] if len(starts) else np.zeros(0, np.int64)
        y = labels.seg_label[seg_ids] if len(seg_ids) else np.zeros(0, np.int64)
    else:
        from edgekit.data.readers.labelled import labels_after_cleaning

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


def _clean_stats(results) -> dict:
    """Summary counts of one or more :class:`~edgekit.data.signal.clean.CleanResult` (or of their
    :func:`_clean_stats` dicts), summed."""
    counts: dict = {}
    out = {"n_beats_in": 0, "n_beats_clean": 0, "n_out_of_bounds": 0, "n_corrected": 0}
    for r in results:
        if not isinstance(r, dict):
            r = {"n_beats_in": r.n_in, "n_beats_clean": len(r.table), "n_out_of_bounds": r.n_out_of_bounds,
                 "n_corrected": r.n_corrected, "corrections": r.counts}
        for k in out:
            out[k] += int(r[k])
        for k, v in r["corrections"].items():
            counts[k] = counts.get(k, 0) + v
    return {**out, "corrections": counts}


def _synthetic_chunked(cfg, examples: "Examples"):
    """The synthetic source, a chunk of subjects at a time (synth.iter_cohort): generate, clean and
    make the examples of each chunk, keep only those. Cleaning and windows never cross a segment,
    and segments never cross subjects, so the result is the one of the whole cohort at once (tests
    compare the bytes). Returns (clean stats, arrays, summary part)."""
    from edgekit.data.synth import cohort as synth
    from edgekit.data.signal.clean import clean

    d = cfg.data
    stats = []
    labels = None
    for chunk in synth.iter_cohort(d.subjects, d.days, d.seed, **_recordings_kw(d)):
        labels = chunk
        res = clean(chunk.table, d.clean, d.min_rr_ms, d.max_rr_ms)
        del chunk.table, chunk.truth, chunk.clean_rr  # the chunk's beats: only the cleaned ones stay
        stats.append(_clean_stats([res]))
        examples.add(res, chunk)
        del res
    if labels is not None and labels.recording_stats is not None:
        examples.recording_stats = labels.recording_stats
    arrays, s = examples.finish(labels)
    return _clean_stats(stats), arrays, s


def _recordings_kw(d) -> dict:
    """``recordings=`` for synth when the config mixes recording profiles (none for the default spot
    cohort, whose calls stay exactly as they were)."""
    profiles = list(getattr(d, "profiles", ["spot"]))
    return {} if profiles == ["spot"] else {"recordings": profiles}


def readiness_days(end_hour_abs: int, wake_hour: int) -> tuple[int, int]:
    """Day indices (since EPOCH0) of the score in force and of the next score for a series ending
    at absolute hour ``end_hour_abs`` (exclusive): the fatigue score is issued at wake-up (hour
    ``wake_hour`` of each day) and holds for the following 24 h. The last hour in the series is
    end-1; the score in force was issued at the last wake-up at or before that hour's start, the
    next one at the first wake-up after it."""
    from edgekit.data.synth.cohort import EPOCH0

    h = end_hour_abs - int(EPOCH0 // 3600) - 1  # hour index of the last series hour
    d0 = (h - wake_hour) // 24
    return d0, d0 + 1


def _forecaster_from_hourly(cfg, hr, labels, hours: int):
    """``hours``-long series and targets from per-subject hourly RMSSD (windows.hourly_rmssd)."""
    from edgekit.data.signal.windows import hourly_series

    stride = int(getattr(cfg.data, "series_stride_hours", 4))
    X, subj, ends, n_incomplete = hourly_series(hr, hours, stride)
    subj_index = {s: i for i, s in enumerate(labels.subject_ids.tolist())}
    keep, y, y_today, sidx = [], [], [], []
    n_no_future = 0
    if cfg.data.source == "synthetic":
        def scores(si, s, e):
            d0, d1 = readiness_days(e, int(labels.wake_hour[si]))
            if d0 < 0 or d1 >= labels.readiness.shape[1]:
                return None
            return labels.readiness[si, d0], labels.readiness[si, d1]
    else:
        from edgekit.data.readers.labelled import hour_last_scores

        # files: the score of the last beat in hour e-1 (today) and in hour e+23 (next 24 h)
        by_hour = hour_last_scores(labels.table, labels.beat_score)

        def scores(si, s, e):
            h = by_hour.get(s, {})
            if e - 1 not in h or e + 23 not in h:
                return None
            return h[e - 1], h[e + 23]
    for i, (s, e) in enumerate(zip(subj, ends.tolist())):
        si = subj_index[s]
        sc = scores(si, s, e)
        if sc is None:
            n_no_future += 1
            continue
        keep.append(i)
        y_today.append(sc[0])
        y.append(sc[1])
        sidx.append(si)
    X = X[keep]
    y = np.array(y, np.float32)
    y_today = np.array(y_today, np.float32)
    arrays = {
        "X": X.astype(np.float32),
        "y": y,
        "y_today": y_today,
        "subject": np.array(sidx, np.int64),
    }
    s = {
        "n_windows": int(len(y)),
        "n_series": int(len(y)),
        "n_excluded_artifact": int(n_incomplete),
        "n_without_next_24h": n_no_future,
        "series_hours": hours,
        "series_stride_hours": stride,
        "n_hours_missing": int(sum(np.isnan(r).sum() for _, r in hr.values())),
        "n_subjects": int(len(set(sidx))),
        "class_counts": {
            "green": int((y >= 70).sum()),
            "yellow": int(((y >= 40) & (y < 70)).sum()),
            "red": int((y < 40).sum()),
        },
        "y_mean": float(y.mean()) if len(y) else float("nan"),
        "y_std": float(y.std()) if len(y) else float("nan"),
        "persistence_mae": float(np.mean(np.abs(y - y_today))) if len(y) else float("nan"),
    }
    return arrays, s
