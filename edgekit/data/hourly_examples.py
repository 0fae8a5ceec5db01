"""The fatigue forecaster's examples (the data stage's :class:`~edgekit.data.pipeline.Examples`): 24 hourly
RMSSD values in a row (:class:`HourlySeries`) or of the last 24 local clock hours (:class:`HourlySlots`),
each with the fatigue score of the next 24 h. docs/pipeline.md, "data/windows.npz".
"""

from __future__ import annotations

import numpy as np

from edgekit.data.pipeline import Examples
from edgekit.data.clock import utc_offset_seconds
from edgekit.data.readers.label_files import SCORE_HOLD_S
from edgekit.data.readers.labelled import hour_last_scores
from edgekit.data.signal.windows import hourly_series, hourly_rmssd, MIN_SLOT_DIFFS, hourly_slots, reading_units
from edgekit.data.synth.cohort import EPOCH0
from edgekit.data.synth.coverage import Coverage, epoch_hour



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
        self.hourly.update(hourly_rmssd(res.table, self.cfg.data.max_artifact_pct))

    def finish(self, labels):
        return _forecaster_from_hourly(self.cfg, self.hourly, labels, self.length)


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


def readiness_days(end_hour_abs: int, wake_hour: int) -> tuple[int, int]:
    """Day indices (since EPOCH0) of the score in force and of the next score for a series ending
    at absolute hour ``end_hour_abs`` (exclusive): the fatigue score is issued at wake-up (hour
    ``wake_hour`` of each day) and holds for the following 24 h. The last hour in the series is
    end-1; the score in force was issued at the last wake-up at or before that hour's start, the
    next one at the first wake-up after it."""
    h = end_hour_abs - int(EPOCH0 // 3600) - 1  # hour index of the last series hour
    d0 = (h - wake_hour) // 24
    return d0, d0 + 1


def _forecaster_from_hourly(cfg, hr, labels, hours: int):
    """``hours``-long series and targets from per-subject hourly RMSSD (windows.hourly_rmssd)."""
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
