"""Recording profiles of the SYNTHETIC cohort (docs/synthetic_cohort.md, "Recording profiles"): when
a subject records (Apple Watch background readings, Breathe sessions, chest strap, hourly spot checks)
and the RR series of each recording.
"""

from __future__ import annotations

import numpy as np

from edgekit.data.rr import RRTable, segment_bounds
from edgekit.data.synth.rr_model import Cohort, EPOCH0, SEGMENT_S, _inject
from edgekit.data.synth import ambulatory


RECORDINGS = ("spot", "watch", "breathe", "strap")
SPOT, WATCH, BREATHE, STRAP = range(4)

SPOT_S = SEGMENT_S  # spot: one 150 s measurement in every clock hour
WATCH_READING_S = (55.0, 65.0)  # watch background reading length (about one minute)
WATCH_GAP_AWAKE_H = (2.0, 5.0)  # hours between background readings while awake
WATCH_GAP_ASLEEP_H = (1.0, 2.5)  # ... and while asleep (denser at night)
WATCH_EXERCISE_DAY_P = 0.5  # days with an exercise bout (no readings during it)
WATCH_EXERCISE_H = (0.5, 1.5)  # its length
WATCH_OFF_WRIST_P = 0.8  # days with a charging hour off the wrist (no readings)
WATCH_MOTION_SKIP_P = 0.15  # awake readings lost to motion outside exercise
WATCH_ARTIFACT = (0.15, (0.04, 0.12), (0.0, 0.03))  # P(heavy), heavy rate range, normal rate range
BREATHE_DAY_P = 3.0 / 7.0  # Breathe/Reflect sessions: about 3 a week
BREATHE_S = (60.0, 300.0)  # 1-5 min
BREATHE_RESP_HZ = 7.0 / 60.0  # paced breathing at the app's default 7 breaths/min
BREATHE_LN_RMSSD = 0.3  # slow paced breathing raises RSA amplitude
STRAP_SESSION_DAY_P = 5.0 / 7.0  # a 30-60 min chest-strap session on 5 days of 7 (seated, awake)
STRAP_SESSION_MIN = (30.0, 60.0)
STRAP_NIGHT_P = 2.0 / 7.0  # an overnight chest-strap recording on 2 nights of 7
STRAP_ARTIFACT = (0.03, (0.02, 0.06), (0.0, 0.005))
SPOT_ARTIFACT = (0.05, (0.03, 0.10), (0.0, 0.015))
_RECORDING_SEED = 0x5EC0  # separates the recording generators from the cohort's main generator
_AMBULATORY_SEED = 0xA6C  # the day states and recovery of a cohort of recording profiles


def check_recordings(recordings) -> list[str] | None:
    """Validated profile names; None for the default hourly spot cohort (None, [] or only spot)."""
    if recordings is None:
        return None
    if isinstance(recordings, str):
        recordings = [recordings]
    names = [str(r) for r in recordings]
    bad = [r for r in names if r not in RECORDINGS]
    if bad:
        raise ValueError(f"unknown recording profile(s) {bad}; known: {', '.join(RECORDINGS)}")
    if not names or all(r == "spot" for r in names):
        return None
    return names


def assign_recordings(recordings, subjects: int, seed: int) -> np.ndarray:
    """Per subject the index into RECORDINGS of its profile: the listed profiles in turn over a
    seeded permutation of the subjects (balanced: counts differ by at most one), deterministic."""
    names = check_recordings(recordings)
    if names is None:
        return np.zeros(subjects, np.int64)
    order = np.random.default_rng([seed, _RECORDING_SEED]).permutation(subjects)
    out = np.zeros(subjects, np.int64)
    out[order] = [RECORDINGS.index(names[i % len(names)]) for i in range(subjects)]
    return out


def _asleep(p: dict, s: int, hour_abs: int) -> bool:
    hod = hour_abs % 24
    return bool(hod >= p["sleep"][s] or hod < p["wake"][s])


def _plan(rng, p: dict, s: int, kind: int, days: int, stats: dict) -> list[tuple[float, float, int]]:
    """Recordings of one subject: (start s since EPOCH0, duration s, kind), in time order."""
    total = days * 86400.0
    w, sl = int(p["wake"][s]), int(p["sleep"][s])
    out: list[tuple[float, float, int]] = []
    if kind == SPOT:
        starts = rng.uniform(0, 3600 - SPOT_S - 60, days * 24)
        return [(h * 3600.0 + float(starts[h]), SPOT_S, SPOT) for h in range(days * 24)]
    if kind in (WATCH, BREATHE):
        blocked = []  # (start, end) s: exercise and charging (no readings)
        for d in range(days):
            if rng.random() < WATCH_EXERCISE_DAY_P:
                a = (d * 24 + rng.uniform(w + 1, sl - 2)) * 3600.0
                blocked.append((a, a + rng.uniform(*WATCH_EXERCISE_H) * 3600.0, "exercise"))
            if rng.random() < WATCH_OFF_WRIST_P:
                a = (d * 24 + rng.uniform(w, sl - 1)) * 3600.0
                blocked.append((a, a + 3600.0, "off_wrist"))
        t = rng.uniform(0.0, 2.0) * 3600.0
        while True:
            dur = rng.uniform(*WATCH_READING_S)
            if t + dur > total:
                break
            asleep = _asleep(p, s, int(t // 3600))
            why = next((b[2] for b in blocked if b[0] - dur < t < b[1]), None)
            if why is None and not asleep and rng.random() < WATCH_MOTION_SKIP_P:
                why = "motion"
            if why is None:
                out.append((t, dur, WATCH))
            else:
                stats[f"watch_lost_{why}"] = stats.get(f"watch_lost_{why}", 0) + 1
            t += rng.uniform(*(WATCH_GAP_ASLEEP_H if asleep else WATCH_GAP_AWAKE_H)) * 3600.0
        if kind == BREATHE:
            for d in range(days):
                if rng.random() < BREATHE_DAY_P:
                    a = (d * 24 + rng.uniform(w + 0.5, sl - 0.5)) * 3600.0
                    dur = rng.uniform(*BREATHE_S)
                    # a session replaces background readings that would overlap it
                    out = [r for r in out if r[0] + r[1] < a or r[0] > a + dur]
                    out.append((a, dur, BREATHE))
    elif kind == STRAP:
        for d in range(days):
            if rng.random() < STRAP_SESSION_DAY_P:
                a = (d * 24 + rng.uniform(w + 0.5, sl - 1.5)) * 3600.0
                out.append((a, rng.uniform(*STRAP_SESSION_MIN) * 60.0, STRAP))
            if d + 1 < days and rng.random() < STRAP_NIGHT_P:
                a = (d * 24 + sl + 0.25) * 3600.0
                b = ((d + 1) * 24 + w - 0.25) * 3600.0
                out.append((a, b - a, STRAP))
    out.sort()
    return out


def _record(rng, p, s, start, dur, kind, state_of_hour, r_hour, artifacts: bool):
    """Beats of one recording: (rr with artifacts, truth flags, clean rr). Long recordings are
    simulated hour block by hour block, each with its hour's physiology (:mod:`edgekit.data.synth.ambulatory`);
    the recording's nuisance factors (beat-level noise, device timing resolution) are drawn once."""
    nz = ambulatory.recording_nuisance(rng)
    still = kind in (BREATHE, STRAP)  # paced breathing and seated strap sessions: no activity
    pieces = []
    t = start
    end = start + dur
    while t < end - 1e-9:
        h = int(t // 3600)
        b_end = min(end, (h + 1) * 3600.0)
        asleep = _asleep(p, s, h)
        bp = ambulatory.block_params(rng, p, s, asleep, int(state_of_hour[h]), float(r_hour[s, h]),
                                     breathe=(BREATHE_RESP_HZ, BREATHE_LN_RMSSD) if kind == BREATHE else None,
                                     still=still)
        need = (b_end - t) * 1000.0
        length = 1 << int(np.ceil(np.log2(max(64.0, 1.2 * need / 300.0))))
        rr = np.clip(ambulatory.rr_block(rng, bp, nz, length), 320.0, 1900.0)
        nb = int((np.cumsum(rr) <= need).sum())
        pieces.append(rr[:nb])
        t = b_end
    clean_rr = ambulatory.quantize(np.concatenate(pieces), nz["resolution_ms"]) if pieces else np.zeros(0)
    heavy_p, hi, lo = {WATCH: WATCH_ARTIFACT, BREATHE: WATCH_ARTIFACT, STRAP: STRAP_ARTIFACT}.get(kind, SPOT_ARTIFACT)
    rate = rng.uniform(*hi) if rng.random() < heavy_p else rng.uniform(*lo)
    if artifacts and len(clean_rr) > 8:
        out, truth = _inject(rng, clean_rr, rate)
    else:
        out, truth = clean_rr.tolist(), [0] * len(clean_rr)
    return np.asarray(out, float), np.asarray(truth, np.int64), clean_rr


def _iter_recordings(names, p, day_state, r_hour, subjects, days, seed, artifacts, chunk_subjects, subj_ids,
                     score, readiness):
    """iter_cohort for a cohort of recording profiles: plans first (per-segment arrays are the whole
    cohort's), then the beats a chunk of subjects at a time, each subject from its own generator."""
    kinds = assign_recordings(names, subjects, seed)
    hours = days * 24
    stats: dict = {}
    plans, rngs = [], []
    for s in range(subjects):
        rng = np.random.default_rng([seed, _RECORDING_SEED, s])
        plans.append(_plan(rng, p, s, int(kinds[s]), days, stats))
        rngs.append(rng)
    hour_abs = np.arange(hours)
    states = []
    for s in range(subjects):
        day = np.clip(hour_abs // 24 - ((hour_abs % 24) < p["wake"][s]), 0, days - 1)
        states.append(day_state[s, day])
    seg_subject = np.array([s for s in range(subjects) for _ in plans[s]], np.int64)
    seg_start = np.array([r[0] for pl in plans for r in pl], float)
    seg_kind = np.array([r[2] for pl in plans for r in pl], np.int64)
    seg_hour = (seg_start // 3600).astype(np.int64)
    seg_label = np.array([states[s][h] for s, h in zip(seg_subject.tolist(), seg_hour.tolist())], np.int64)
    first = np.concatenate([[0], np.cumsum([len(pl) for pl in plans])])
    for k, name in enumerate(RECORDINGS):
        stats[f"subjects_{name}"] = int((kinds == k).sum())
        stats[f"recordings_{name}"] = int((seg_kind == k).sum())
    for s0 in range(0, subjects, chunk_subjects):
        s1 = min(subjects, s0 + chunk_subjects)
        cols_rr, cols_truth, clean, seg_ids, times = [], [], [], [], []
        for s in range(s0, s1):
            for j, (start, dur, kind) in enumerate(plans[s]):
                out, truth, c = _record(rngs[s], p, s, start, dur, kind, states[s], r_hour, artifacts)
                if len(out) == 0:
                    continue
                cols_rr.append(out)
                cols_truth.append(truth)
                clean.append(c)
                seg_ids.append(np.full(len(out), first[s] + j, np.int64))
                times.append(EPOCH0 + start + np.cumsum(out) / 1000.0)
        all_rr = np.concatenate(cols_rr) if cols_rr else np.zeros(0)
        seg = np.concatenate(seg_ids) if seg_ids else np.zeros(0, np.int64)
        table = RRTable(subj_ids[seg_subject[seg]], seg, np.concatenate(times) if times else np.zeros(0), all_rr,
                        np.zeros(len(all_rr), np.int64),
                        meta={"synthetic": True, "seed": seed, "recordings": list(names)})
        yield Cohort(
            table=table,
            truth=np.concatenate(cols_truth) if cols_truth else np.zeros(0, np.int64),
            clean_rr=clean,
            seg_label=seg_label,
            seg_subject=seg_subject,
            seg_hour=seg_hour,
            score=score,
            subject_ids=subj_ids,
            wake_hour=p["wake"].astype(np.int64),
            readiness=readiness,
            day_state=day_state,
            seg_kind=seg_kind,
            subject_recording=kinds,
            recording_stats=dict(stats),
        )


def reading_sdnn(table: RRTable) -> dict[int, float]:
    """Per segment (reading): SDNN (ms, ddof 1) of its beats as recorded — the value Apple Health
    stores with each background reading (HKQuantityTypeIdentifierHeartRateVariabilitySDNN)."""
    b = segment_bounds(table.segment)
    return {int(table.segment[a]): float(np.std(table.rr_ms[a:e], ddof=1)) if e - a > 1 else float("nan")
            for a, e in zip(b[:-1].tolist(), b[1:].tolist())}
