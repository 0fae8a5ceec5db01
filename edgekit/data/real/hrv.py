"""One-minute readings of a real HRV set (``realdata/hrv``), made the way a watch makes them.

Each recording of the set is read with its edgekit reader (``format`` + ``read`` options of the
manifest) and cut into **readings**: a reading ends at a gap (a new segment of the reader) or when it
has lasted ``READING_S`` seconds. The readings are cleaned with the model config's cleaning and bounds
and turned into the strain classifier's reading windows (:func:`edgekit.data.signal.windows.reading_windows`,
the newest beats of each reading, then 0) exactly as ``edgekit predict`` makes them; readings with fewer
clean beats than the model needs, or too many artifacts, are counted, not used.

:func:`watch_days` makes the fatigue forecaster's inputs from a 24 h recording: a watch-like schedule
of readings (gaps of 1, 2 or 3 recording hours: every 90-150 min on average) and the RMSSD of each
chosen hour's reading in its slot (0 = no reading), the ``hourly_slots`` encoding.

No torch here: the task specs run the models (:mod:`edgekit.tasks.hrv_real`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgekit.data.real.manifest import RealSet, Recording
from edgekit.data.rr import ARTIFACT_MASK, RRTable
from edgekit.data.readers import formats as readers
from edgekit.data.signal.clean import clean
from edgekit.data.signal.windows import reading_windows

READING_S = 60.0  # a watch background reading lasts about one minute
READING_SLACK_S = 2.0  # ... a reading may run this much longer (its last beat), as watch readings of 55-65 s do
REST_HOURS = 6  # Holter "rest": the 6 consecutive recording hours with the lowest median heart rate
DAY_GAPS_H = (1, 2, 3)  # watch-like schedule: hours between readings, drawn with DAY_GAP_P
DAY_GAP_P = (0.25, 0.5, 0.25)
DAY_SCHEDULES = 4  # schedules (days) drawn per 24 h recording
DAY_SEED = 0x5EAD


@dataclass
class Readings:
    """Readings of a real set: per reading its model input row and what is known of it."""

    X: np.ndarray  # (K, n_slots) float32 RR ms, then 0 (reading windows)
    n_beats: np.ndarray  # (K,) clean beats in the window
    recording: list[str]  # (K,) recording id
    person: list[str]
    source: list[str]
    profile: list[str]
    split: list[str]
    start_s: np.ndarray  # (K,) time of the reading's first beat (s, as the reader gives it)
    hour: np.ndarray  # (K,) recording hour of the reading (floor((start - first beat) / 3600))
    state: list[str]  # the recording's known state ("rest", "driving ...", "ambulatory, 24 h")
    stress: np.ndarray  # (K,) 1 = a labelled stress period, 0 = labelled rest, -1 = not labelled
    rest: np.ndarray  # (K,) bool: seated rest, or a Holter reading in the person's lowest-HR 6 h
    adult: np.ndarray  # (K,) bool: the source says the person is an adult
    mean_hr: np.ndarray  # (K,) bpm of the window's beats
    counts: dict[str, int] = field(default_factory=dict)  # readings made / too short / too many artifacts

    def __len__(self) -> int:
        return len(self.n_beats)

    def select(self, mask: np.ndarray) -> "Readings":
        idx = np.flatnonzero(mask)
        pick = lambda v: [v[i] for i in idx]  # noqa: E731
        return Readings(self.X[idx], self.n_beats[idx], pick(self.recording), pick(self.person), pick(self.source),
                        pick(self.profile), pick(self.split), self.start_s[idx], self.hour[idx], pick(self.state),
                        self.stress[idx], self.rest[idx], self.adult[idx], self.mean_hr[idx], dict(self.counts))

    def where(self, **eq: Any) -> np.ndarray:
        """Mask of readings whose list fields equal the given values (``profile="drive"``)."""
        m = np.ones(len(self), bool)
        for k, v in eq.items():
            m &= np.array([x == v for x in getattr(self, k)], bool)
        return m


def read_recording(rec: Recording) -> RRTable:
    """The recording's beats, read by its edgekit reader with the manifest's options."""
    opts = dict(rec.read)
    return readers.read([rec.path], rec.format, subjects=[rec.id], **opts)


def split_readings(table: RRTable, reading_s: float = READING_S) -> RRTable:
    """The same beats with ``segment`` renumbered so that each reading is one segment: a new reading
    starts at every segment change of the reader (a gap) and when the current one has lasted
    ``reading_s`` (+ ``READING_SLACK_S``) seconds from its first beat's start (``time - rr``). The subject of
    reading k of recording ``r`` becomes ``r#k`` (windows join the parts of one reading only)."""
    n = len(table)
    seg = np.zeros(n, np.int64)
    k = 0
    start = None
    for i in range(n):
        t0 = table.time_s[i] - table.rr_ms[i] / 1000.0
        if i and (table.segment[i] != table.segment[i - 1] or table.subject[i] != table.subject[i - 1]
                  or table.time_s[i] - start > reading_s + READING_SLACK_S):
            k += 1
            start = None
        if start is None:
            start = t0
        seg[i] = k
    # each reading its own subject id, so that reading windows never join two readings
    subject = np.array([f"{s}#{j}" for s, j in zip(table.subject.tolist(), seg.tolist())], dtype=object)
    return RRTable(subject, seg, table.time_s.copy(), table.rr_ms.copy(), table.flags.copy(), meta=dict(table.meta))


def load_readings(real_set: RealSet, n_slots: int, min_beats: int, max_artifact_pct: float,
                  clean_method: str = "kubios", min_rr_ms: float = 300.0, max_rr_ms: float = 2000.0) -> Readings:
    """Every recording of ``real_set`` cut into one-minute readings and made into reading windows."""
    cols: dict[str, list] = {k: [] for k in ("X", "n_beats", "recording", "person", "source", "profile", "split",
                                             "start_s", "hour", "state", "stress", "adult", "mean_hr")}
    counts = {"readings": 0, "too_short_or_artifacts": 0}
    for rec in real_set.recordings:
        raw = split_readings(read_recording(rec))
        counts["readings"] += int(raw.segment.max()) + 1 if len(raw) else 0
        res = clean(raw, clean_method, min_rr_ms, max_rr_ms)
        t = res.table
        X, _, starts, lens, _ = reading_windows(t, n_slots, min_beats, max_artifact_pct)
        t_first = float(raw.time_s[0] - raw.rr_ms[0] / 1000.0) if len(raw) else 0.0
        known = dict(rec.known)
        stress = known.get("stress")
        for x, s, k in zip(X, starts.tolist(), lens.tolist()):
            beats = x[x > 0]
            cols["X"].append(x.astype(np.float32))
            cols["n_beats"].append(k)
            cols["recording"].append(rec.id)
            cols["person"].append(rec.person)
            cols["source"].append(rec.source.id)
            cols["profile"].append(rec.profile)
            cols["split"].append(rec.split)
            cols["start_s"].append(float(t.time_s[s]))
            cols["hour"].append(int((t.time_s[s] - t_first) // 3600))
            cols["state"].append(str(known.get("state", "")))
            cols["stress"].append(-1 if stress is None else int(bool(stress)))
            cols["adult"].append(bool(known.get("adult", False)))
            cols["mean_hr"].append(float(60000.0 / beats.mean()))
        counts["too_short_or_artifacts"] += (int(raw.segment.max()) + 1 if len(raw) else 0) - len(X)
    n = len(cols["n_beats"])
    X = np.array(cols["X"], np.float32).reshape(n, n_slots)
    out = Readings(X, np.array(cols["n_beats"], np.int64), cols["recording"], cols["person"], cols["source"],
                   cols["profile"], cols["split"], np.array(cols["start_s"]), np.array(cols["hour"], np.int64),
                   cols["state"], np.array(cols["stress"], np.int64), np.zeros(n, bool),
                   np.array(cols["adult"], bool), np.array(cols["mean_hr"]), counts)
    out.rest = rest_mask(out)
    return out


def rest_mask(r: Readings) -> np.ndarray:
    """Readings at rest: a labelled rest period (``known.state = "rest"``), or, in a recording of
    24 h, a reading in the ``REST_HOURS`` consecutive recording hours with the lowest median heart rate
    (the night's sleep: lying, the day's most rested hours; the sources give no clock time)."""
    rest = np.array([s == "rest" for s in r.state], bool)
    for rec in dict.fromkeys(r.recording):
        m = np.array([x == rec for x in r.recording], bool)
        hours = r.hour[m]
        if hours.max() - hours.min() < 12:  # not a day-long recording
            continue
        med = np.full(hours.max() + 1, np.nan)
        for h in np.unique(hours):
            med[h] = np.median(r.mean_hr[m][hours == h])
        best, best_v = None, np.inf
        for h0 in range(0, len(med) - REST_HOURS + 1):
            w = med[h0:h0 + REST_HOURS]
            if np.isfinite(w).sum() >= REST_HOURS - 1 and np.nanmean(w) < best_v:
                best, best_v = h0, float(np.nanmean(w))
        if best is not None:
            idx = np.flatnonzero(m)
            rest[idx[(hours >= best) & (hours < best + REST_HOURS)]] = True
    return rest


def reading_rmssd(x: np.ndarray) -> float:
    """RMSSD (ms) of one reading window (0 = absent slot or segment separator: no difference across)."""
    d = np.diff(x)
    ok = (x[1:] > 0) & (x[:-1] > 0)
    return float(np.sqrt(np.mean(d[ok] ** 2))) if ok.any() else float("nan")


def watch_days(r: Readings, hours: int = 24, schedules: int = DAY_SCHEDULES, min_diffs: int = 20
               ) -> tuple[np.ndarray, list[dict]]:
    """Fatigue-forecaster inputs from the day-long recordings: per recording and schedule, the
    ``hours`` slots of recording hours 0 .. hours-1, each the RMSSD of that hour's reading when the
    schedule reads that hour (gaps of 1, 2 or 3 h from a first reading in hour 0 or 1; generator
    ``default_rng([DAY_SEED, recording index, schedule])``), else 0. A reading with fewer than
    ``min_diffs`` successive differences leaves its slot 0 (as ``hourly_rmssd`` does).
    Returns (X (D, hours) float32, one dict per day: recording, person, source, split, readings)."""
    xs, info = [], []
    recs = list(dict.fromkeys(rec for rec, p in zip(r.recording, r.profile) if p == "holter_day"))
    for i, rec in enumerate(recs):
        m = np.flatnonzero(np.array([x == rec for x in r.recording], bool))
        by_hour: dict[int, float] = {}
        for j in m.tolist():
            x = r.X[j]
            if ((x[1:] > 0) & (x[:-1] > 0)).sum() >= min_diffs and 0 <= r.hour[j] < hours:
                by_hour.setdefault(int(r.hour[j]), reading_rmssd(x))
        for s in range(schedules):
            rng = np.random.default_rng([DAY_SEED, i, s])
            h = int(rng.integers(0, 2))
            slots = np.zeros(hours, np.float32)
            n = 0
            while h < hours:
                if h in by_hour:
                    slots[h] = by_hour[h]
                    n += 1
                h += int(rng.choice(DAY_GAPS_H, p=DAY_GAP_P))
            if n == 0:
                continue
            xs.append(slots)
            j0 = m[0]
            info.append({"recording": rec, "person": r.person[j0], "source": r.source[j0], "split": r.split[j0],
                         "adult": bool(r.adult[j0]), "schedule": s, "readings": n})
    return np.array(xs, np.float32).reshape(-1, hours), info


def artifact_share(table: RRTable) -> float:
    """Share of beats flagged as artifacts (0-1)."""
    return float(np.mean((table.flags & ARTIFACT_MASK) != 0)) if len(table) else float("nan")
