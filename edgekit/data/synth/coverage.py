"""Coverage per recording profile: for which readings (strain classifier) and wake-ups (fatigue
forecaster) a model's input can be made, under today's contracts and under the watch contracts.

- Readings: every recorded segment of the synthetic cohort (a watch background reading, a Breathe
  session, a spot measurement, a chest-strap recording). ``today``: a 128-beat window of consecutive
  clean beats with artifacts <= max_artifact_pct (windows.beat_windows). ``reading``: a reading
  window (windows.reading_windows: >= MIN_READING_BEATS clean beats, newest up to N).
- Wake-ups: day d >= 1 of each subject at its wake hour e = 24 d + wake (the fatigue score is issued
  then). ``today``: 24 hourly RMSSD values [e-24, e) with at most 2 missing, not the last
  (windows.complete_series). ``slots``: 24 hourly slots with >= ``min_present`` present hours
  (MIN_SLOT_DIFFS differences). ``readings_24h``: recordings that started in [e-24, e).

Synthetic cohorts carry the recording kind of each segment (from the simulation); recorded data
(files, InfluxDB: :meth:`Coverage.add_recorded`) has kind -1 and counts under "all" only.
"""

from __future__ import annotations

import numpy as np

from edgekit.data.signal.windows import (MIN_READING_BEATS, MIN_SLOT_DIFFS, beat_windows, complete_series,
                                         hourly_rmssd, hourly_slots, reading_windows, reading_units)
from edgekit.data.signal.clean import clean
from edgekit.data.splits import split_by_subject
from edgekit.data.synth import cohort as synth
from edgekit.data.synth.cohort import EPOCH0, RECORDINGS


def epoch_hour() -> int:
    return int(EPOCH0 // 3600)


class Coverage:
    """Accumulates per-reading and per-wake-up coverage flags over cleaned cohort chunks."""

    def __init__(self, n_beats: int = 128, stride: int = 64, n_slots: int = 128,
                 min_beats: int = MIN_READING_BEATS, max_artifact_pct: float = 5.0, hours: int = 24,
                 min_present: int = 1, today_max_artifact_pct: float | None = None) -> None:
        self.n_beats, self.stride, self.n_slots, self.min_beats = n_beats, stride, n_slots, min_beats
        self.max_artifact_pct, self.hours, self.min_present = max_artifact_pct, hours, min_present
        # today's contracts keep the default configs' artifact limit unless told otherwise
        self.today_pct = max_artifact_pct if today_max_artifact_pct is None else today_max_artifact_pct
        self.r: dict[str, list] = {k: [] for k in ("subject", "kind", "today", "reading", "beats")}
        self.w: dict[str, list] = {k: [] for k in ("subject", "kind", "day", "readings_24h", "today", "slots",
                                                   "present")}

    def add(self, res, labels, hr_slot: dict | None = None) -> None:
        """Flags of one cleaned chunk. ``hr_slot``: ``hourly_rmssd(res.table, max_artifact_pct,
        MIN_SLOT_DIFFS)`` when the caller has already computed it (read only, not recomputed)."""
        t = res.table
        names = labels.subject_ids.tolist()
        index = {s: i for i, s in enumerate(names)}
        sidx = sorted({index[s] for s in np.unique(t.subject).tolist()})
        kinds = labels.segment_kinds()
        sub_kind = labels.subject_recordings()
        segs = np.flatnonzero(np.isin(labels.seg_subject, sidx))
        origin = res.segment_origin[t.segment] if len(t) else np.zeros(0, np.int64)
        _, _, st, _ = beat_windows(t, self.n_beats, self.stride, self.today_pct)
        ok_today = set(origin[st].tolist())
        _, _, st2, _, _ = reading_windows(t, self.n_slots, self.min_beats, self.max_artifact_pct)
        ok_read = set(origin[st2].tolist())
        beats = np.bincount(origin, minlength=len(kinds)) if len(t) else np.zeros(len(kinds), np.int64)
        self.r["subject"].append(labels.seg_subject[segs])
        self.r["kind"].append(kinds[segs])
        self.r["today"].append(np.isin(segs, list(ok_today)))
        self.r["reading"].append(np.isin(segs, list(ok_read)))
        self.r["beats"].append(beats[segs])
        hr_today = hourly_rmssd(t, self.today_pct)
        if hr_slot is None:
            hr_slot = hourly_rmssd(t, self.max_artifact_pct, MIN_SLOT_DIFFS)
        e0 = epoch_hour()
        n_hours = labels.score.shape[1]
        has_beats = beats > 0
        for si in sidx:
            name, wake = names[si], int(labels.wake_hour[si])
            mine = labels.seg_subject == si
            seg_h = labels.seg_hour[mine & has_beats]
            for d in range(1, labels.readiness.shape[1]):
                e = d * 24 + wake
                if e > n_hours:
                    break
                x = hourly_slots(hr_today, name, e0 + e, self.hours)
                x[x == 0] = np.nan
                slots = hourly_slots(hr_slot, name, e0 + e, self.hours)
                present = int((slots > 0).sum())
                self.w["subject"].append(si)
                self.w["kind"].append(int(sub_kind[si]))
                self.w["day"].append(d)
                self.w["readings_24h"].append(int(((seg_h >= e - self.hours) & (seg_h < e)).sum()))
                self.w["today"].append(complete_series(x) is not None)
                self.w["slots"].append(present >= self.min_present)
                self.w["present"].append(present)

    def add_recorded(self, table, subject_index: dict, wakeups: list | None = None, utc_offset_s: float = 0.0,
                     hr_slot: dict | None = None) -> None:
        """Flags of a cleaned table of recorded data (files, InfluxDB), recording kind -1 ("recorded":
        the kind of a real reading is not known). Readings are :func:`~edgekit.data.signal.windows.reading_units`;
        ``wakeups``: (subject, local end hour e) of each forecast the data stage made an example at."""
        t = table
        units = reading_units(t)
        unit_of = np.full(len(t), -1, np.int64)
        for u, parts in enumerate(units):
            for a, e in parts:
                unit_of[a:e] = u
        _, _, st, _ = beat_windows(t, self.n_beats, self.stride, self.today_pct)
        _, _, st2, _, _ = reading_windows(t, self.n_slots, self.min_beats, self.max_artifact_pct)
        first = np.array([u[0][0] for u in units], np.int64)
        beats = np.array([sum(e - a for a, e in u) for u in units], np.int64)
        self.r["subject"].append(np.array([subject_index[s] for s in t.subject[first].tolist()], np.int64))
        self.r["kind"].append(np.full(len(units), -1, np.int64))
        self.r["today"].append(np.isin(np.arange(len(units)), unit_of[st]))
        self.r["reading"].append(np.isin(np.arange(len(units)), unit_of[st2]))
        self.r["beats"].append(beats)
        if not wakeups:
            return
        hr_today = hourly_rmssd(t, self.today_pct, utc_offset_s=utc_offset_s)
        if hr_slot is None:
            hr_slot = hourly_rmssd(t, self.max_artifact_pct, MIN_SLOT_DIFFS, utc_offset_s=utc_offset_s)
        unit_hour = np.floor((t.time_s[first] + utc_offset_s) / 3600.0).astype(np.int64) if len(first) else first
        unit_subject = t.subject[first]
        for name, e in wakeups:
            x = hourly_slots(hr_today, name, e, self.hours)
            x[x == 0] = np.nan
            slots = hourly_slots(hr_slot, name, e, self.hours)
            present = int((slots > 0).sum())
            self.w["subject"].append(subject_index[name])
            self.w["kind"].append(-1)
            self.w["day"].append(int(e // 24))
            self.w["readings_24h"].append(int(((unit_subject == name) & (unit_hour >= e - self.hours)
                                               & (unit_hour < e)).sum()))
            self.w["today"].append(complete_series(x) is not None)
            self.w["slots"].append(present >= self.min_present)
            self.w["present"].append(present)

    def arrays(self) -> dict[str, np.ndarray]:
        """Flat arrays (``cov_r_*`` per reading, ``cov_w_*`` per wake-up) for windows.npz."""
        out = {}
        for k, v in self.r.items():
            out[f"cov_r_{k}"] = np.concatenate(v).astype(np.int64) if v else np.zeros(0, np.int64)
        for k, v in self.w.items():
            out[f"cov_w_{k}"] = np.asarray(v, np.int64)
        return out


def summarize(arrays: dict, subjects=None) -> dict:
    """Per profile (and "all"): counts and coverage fractions, for ``subjects`` (indices) or all."""
    r_sub, w_sub = arrays["cov_r_subject"], arrays["cov_w_subject"]
    r_in = np.ones(len(r_sub), bool) if subjects is None else np.isin(r_sub, subjects)
    w_in = np.ones(len(w_sub), bool) if subjects is None else np.isin(w_sub, subjects)

    def frac(mask, ok):
        n = int(mask.sum())
        return round(float(ok[mask].mean()), 4) if n else None

    out = {}
    for k, name in [(None, "all")] + list(enumerate(RECORDINGS)):
        rm = r_in & (arrays["cov_r_kind"] == k if k is not None else True)
        wm = w_in & (arrays["cov_w_kind"] == k if k is not None else True)
        if not rm.any() and not wm.any():
            continue
        w3 = wm & (arrays["cov_w_readings_24h"] >= 3)
        out[name] = {
            "readings": int(rm.sum()),
            "strain_input_today": frac(rm, arrays["cov_r_today"].astype(bool)),
            "strain_input_reading": frac(rm, arrays["cov_r_reading"].astype(bool)),
            "median_beats_per_reading": float(np.median(arrays["cov_r_beats"][rm])) if rm.any() else None,
            "wakeups": int(wm.sum()),
            "wakeups_with_3_readings_24h": int(w3.sum()),
            "forecast_input_today": frac(wm, arrays["cov_w_today"].astype(bool)),
            "forecast_input_slots": frac(wm, arrays["cov_w_slots"].astype(bool)),
            "forecast_input_slots_given_3_readings": frac(w3, arrays["cov_w_slots"].astype(bool)),
        }
    return out


def measure(subjects: int, days: int, seed: int, profiles, clean_method: str = "kubios",
            max_artifact_pct: float = 5.0, heldout: tuple[float, float, int] | None = (0.2, 0.2, 0),
            min_beats: int = MIN_READING_BEATS, reading_max_artifact_pct: float | None = None) -> dict:
    """Simulate a cohort with ``profiles``, clean it chunk by chunk and summarize coverage, for the
    held-out (test) subjects of the train stage's subject split (``heldout`` = val fraction, test
    fraction, train seed) and for all subjects."""
    cov = Coverage(min_beats=min_beats, today_max_artifact_pct=max_artifact_pct,
                   max_artifact_pct=max_artifact_pct if reading_max_artifact_pct is None else reading_max_artifact_pct)
    kw = {"recordings": profiles} if synth.check_recordings(profiles) else {}
    for chunk in synth.iter_cohort(subjects, days, seed, **kw):
        res = clean(chunk.table, clean_method)
        cov.add(res, chunk)
    arrays = cov.arrays()
    out = {"subjects": subjects, "days": days, "seed": seed, "profiles": list(profiles), "min_beats": min_beats,
           "max_artifact_pct_today": max_artifact_pct, "max_artifact_pct_reading": cov.max_artifact_pct,
           "all_subjects": summarize(arrays)}
    if heldout is not None:
        test = split_by_subject(np.arange(subjects), heldout[0], heldout[1], heldout[2])["test"]
        out["heldout_subjects"] = summarize(arrays, test)
        out["n_heldout"] = int(len(test))
    return out
