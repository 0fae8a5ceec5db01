"""Labelled SYNTHETIC cohort (no public burnout-labelled RR data set exists).

Everything this module produces is simulated. The model, its parameters and their sources are
described in docs/synthetic_cohort.md; keep the two in step.

Recording profiles: :mod:`.recordings`; the spectral RR model, the clock and the :class:`Cohort`
record: :mod:`.rr_model`.

Outline
-------
- Each subject has its own baselines (heart rate, RMSSD scale, LF/HF balance, breathing rate, sleep
  schedule) and a proneness type that sets its daily state transition matrix.
- Each day the subject is in one autonomic state: healthy, strained or burnout_risk (a Markov chain).
- A latent recovery state R(t) in [0, 1] (hourly) follows the states with inertia: it drains over
  the waking day (more under strain) and recharges overnight towards the state's target level.
  The fatigue score of a 24 h period is 100 * mean R over it (the forecaster's target).
- Every hour a 150 s spot measurement is recorded (one segment). Its RR series is generated with the
  spectral model of McSharry et al. (2003): a bimodal power spectrum (Mayer-wave LF peak at ~0.1 Hz,
  respiratory HF peak at the breathing rate) with random phases and amplitudes, scaled to the
  segment's mean RR, RMSSD and LF/HF, which depend on subject, state, R(t) and time of day.
- Artifacts are injected (ectopic pairs, missed beats, extra beats) with ground-truth flags.
"""

from __future__ import annotations


import numpy as np

from edgekit.data.rr import RRTable
from edgekit.data.synth.rr_model import Cohort, EPOCH0, L_BEATS, SEGMENT_S, _inject, _spectral_rr
from edgekit.data.synth.recordings import RECORDINGS  # noqa: F401 - re-exported: the profiles iter_cohort accepts
from edgekit.data.synth.recordings import _AMBULATORY_SEED, _iter_recordings, check_recordings
from edgekit.data.synth import ambulatory


# State parameters (index = STRAIN_LABELS): see docs/synthetic_cohort.md for sources.
R_TARGET = np.array([0.92, 0.72, 0.56])  # latent recovery the overnight recharge pulls towards
LOAD_MEAN = np.array([0.10, 0.20, 0.14])  # mean recovery lost over a waking day (allostatic load)
LOAD_SD = 0.30
LOAD_RHO = 0.0  # day-to-day persistence of load (busy periods)
KAPPA = 0.5  # fraction of the gap to the target closed overnight
BETA_R = 2.4  # ln RMSSD per unit of recovery R
HR_DELTA = np.array([0.0, 9.0, 11.0])  # bpm added to the subject's baseline
LN_LFHF_STATE = np.array([0.0, 1.9, 0.4])  # sympathovagal balance shift
RESP_DELTA_HZ = np.array([0.0, 0.06, 0.02])  # faster breathing under strain
WHITE_STATE_MS = np.array([2.0, 2.0, 7.0])  # irregular beat-to-beat component (loss of complexity)
LN_RMSSD_STATE = np.array([0.0, 0.0, -0.15])  # extra state effect beyond R
TRANSITIONS = {  # per proneness type: rows = today, cols = tomorrow
    "resilient": np.array([[0.88, 0.11, 0.01], [0.35, 0.58, 0.07], [0.10, 0.35, 0.55]]),
    "variable": np.array([[0.72, 0.24, 0.04], [0.22, 0.60, 0.18], [0.05, 0.25, 0.70]]),
    "prone": np.array([[0.60, 0.30, 0.10], [0.12, 0.60, 0.28], [0.02, 0.13, 0.85]]),
}
TYPE_START = {"resilient": [0.8, 0.2, 0.0], "variable": [0.4, 0.4, 0.2], "prone": [0.2, 0.4, 0.4]}

# Subject profiles (``edgekit data synth --profile``): overrides of every subject's baselines.
# "population" draws them from the population distributions below; "atypical" is a person far off
# the population (resting HR 80 bpm vs 64 +- 6, RMSSD scale 17 ms vs ln N(ln 34, 0.12), i.e. about
# -5.8 s.d.) whose states follow the "variable" transition matrix (all three states occur), for
# demonstrating personal fine-tuning. Explicit --hr0 / --rmssd0 / --proneness override a profile.
PROFILES = {
    "population": {},
    "atypical": {"hr0": 80.0, "rmssd0": 17.0, "type": "variable"},
}


def _subject_params(rng: np.random.Generator, n: int) -> dict:
    types = rng.choice(["resilient", "variable", "prone"], size=n, p=[0.34, 0.33, 0.33])
    return {
        "type": types,
        "hr0": np.clip(rng.normal(64.0, 6.0, n), 50, 82),
        "ln_rmssd0": rng.normal(np.log(34.0), 0.12, n),
        "ln_lfhf0": rng.normal(np.log(1.2), 0.25, n),
        "resp_hz": rng.uniform(0.20, 0.30, n),
        "lf_hz": rng.uniform(0.09, 0.11, n),
        "wake": rng.integers(6, 9, n),  # hour of waking
        "sleep": rng.integers(22, 24, n),  # hour of falling asleep
        "r_offset": rng.normal(0.0, 0.03, n),
    }


def _trajectories(rng, p: dict, n_sub: int, days: int):
    """Daily states, loads and hourly latent recovery R(t) for each subject.

    Morning recovery R_d drains linearly over the waking day by the day's load L_d and recharges
    overnight: R_{d+1} = (1 - KAPPA) (R_d - L_d) + KAPPA T(state_d) + e, e ~ N(0, 0.03).
    """
    hours = days * 24
    day_state = np.zeros((n_sub, days), np.int64)
    r_hour = np.zeros((n_sub, hours))
    morning = np.zeros((n_sub, days + 1))
    for s in range(n_sub):
        tm = TRANSITIONS[p["type"][s]]
        st = rng.choice(3, p=TYPE_START[p["type"][s]])
        r = R_TARGET[st] + p["r_offset"][s] + rng.normal(0, 0.05)
        w, sl = int(p["wake"][s]), int(p["sleep"][s])
        knots_t, knots_r = [], []
        dev = rng.normal(0.0, LOAD_SD)
        for d in range(days + 1):
            if d:
                st = rng.choice(3, p=tm[st])
                dev = LOAD_RHO * dev + rng.normal(0.0, LOAD_SD * np.sqrt(1 - LOAD_RHO**2))
            if d < days:
                day_state[s, d] = st
            load = float(np.clip(LOAD_MEAN[st] + dev, 0.0, 0.6))
            r = float(np.clip(r, 0.02, 0.98))
            evening = max(r - load, 0.0)
            knots_t += [d * 24 + w, d * 24 + sl]
            knots_r += [r, evening]
            morning[s, d] = r
            target = R_TARGET[st] + p["r_offset"][s]
            r = (1 - KAPPA) * evening + KAPPA * target + rng.normal(0.0, 0.03)
        r_hour[s] = np.interp(np.arange(hours) + 0.5, knots_t, knots_r)
    return day_state, np.clip(r_hour, 0.0, 1.0), np.clip(morning, 0.0, 1.0)


def _apply_profile(p: dict, profile: dict | str | None) -> dict:
    if profile is None:
        return p
    if isinstance(profile, str):
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
        profile = PROFILES[profile]
    n = len(p["hr0"])
    unknown = set(profile) - {"hr0", "rmssd0", "type", "lfhf0"}
    if unknown:
        raise ValueError(f"unknown profile keys {sorted(unknown)}")
    if "hr0" in profile:
        p["hr0"] = np.full(n, float(profile["hr0"]))
    if "rmssd0" in profile:
        p["ln_rmssd0"] = np.full(n, np.log(float(profile["rmssd0"])))
    if "lfhf0" in profile:
        p["ln_lfhf0"] = np.full(n, np.log(float(profile["lfhf0"])))
    if "type" in profile:
        if profile["type"] not in TRANSITIONS:
            raise ValueError(f"unknown proneness {profile['type']!r}; known: {', '.join(TRANSITIONS)}")
        p["type"] = np.full(n, profile["type"])
    return p


CHUNK_SEGMENTS = 1344  # segments (~260 k beats) simulated at a time by iter_cohort: bounds memory,
# the output does not depend on it

# The random draws of generate(), in the order they are taken from the cohort's one generator after
# the subject parameters and trajectories: each is one value (or one row of ``width`` values) per
# segment, segments in subject-major order. iter_cohort positions one generator at the start of
# every phase, so a chunk of subjects takes exactly the values the whole-cohort draw gave it.
_PHASES = (
    ("hr", 1, lambda g, m: g.normal(0, 2.5, m)),
    ("ln_rmssd", 1, lambda g, m: g.normal(0, 0.07, m)),
    ("lfhf", 1, lambda g, m: g.normal(0, 0.15, m)),
    ("coef_re", L_BEATS // 2 + 1, lambda g, m: g.normal(size=(m, L_BEATS // 2 + 1))),
    ("coef_im", L_BEATS // 2 + 1, lambda g, m: g.normal(size=(m, L_BEATS // 2 + 1))),
    ("white", L_BEATS, lambda g, m: g.normal(0.0, 1.0, (m, L_BEATS))),
    ("start", 1, lambda g, m: g.uniform(0, 3600 - SEGMENT_S - 60, m)),
    ("heavy", 1, lambda g, m: g.random(m)),
    ("rate_hi", 1, lambda g, m: g.uniform(0.03, 0.10, m)),
    ("rate_lo", 1, lambda g, m: g.uniform(0.0, 0.015, m)),
)
_SKIP_VALUES = 1 << 20  # values drawn (and dropped) per call while positioning the phase generators


def _phase_generators(rng: np.random.Generator, n: int) -> dict[str, np.random.Generator]:
    """One generator per phase, each a copy of ``rng`` at the start of that phase; ``rng`` is left
    after the last phase (where the artifact injection continues). Memory: O(_SKIP_VALUES)."""
    gens = {}
    for name, width, draw in _PHASES:
        g = np.random.Generator(type(rng.bit_generator)())
        g.bit_generator.state = rng.bit_generator.state
        gens[name] = g
        rows = max(1, _SKIP_VALUES // width)
        for a in range(0, n, rows):
            draw(rng, min(rows, n - a))  # values are consumed in the same order as one big draw
    return gens


def iter_cohort(subjects: int = 48, days: int = 14, seed: int = 7, artifacts: bool = True,
                profile: dict | str | None = None, chunk_subjects: int | None = None,
                recordings: list | tuple | None = None):
    """Yield the cohort of :func:`generate` in chunks of ``chunk_subjects`` subjects, in order.

    Each chunk is a :class:`Cohort` whose ``table``, ``truth`` and ``clean_rr`` hold only the beats
    of its subjects (segment numbers are the cohort's: segment k = cohort segment k), while the
    per-segment and per-subject arrays (``seg_label``, ``score``, ``readiness``, ...) are the whole
    cohort's (a few numbers per segment). Concatenating the chunks' beats gives exactly
    ``generate(...)``'s table, bit for bit, for any ``chunk_subjects``. Memory grows with
    ``chunk_subjects`` x ``days``, not with ``subjects``. Default: CHUNK_SEGMENTS // (24 days).

    ``recordings``: recording profiles (names from :data:`RECORDINGS`) assigned to subjects by
    :func:`assign_recordings`; None or only ``"spot"`` is the hourly spot cohort (bit for bit the
    cohort without the argument). Otherwise every subject is recorded as its profile says, from a
    generator of its own (seed, subject), so chunks never change the output either.
    """
    rec = check_recordings(recordings)
    if chunk_subjects is None:
        chunk_subjects = max(1, CHUNK_SEGMENTS // (24 * days))
    if chunk_subjects < 1:
        raise ValueError("chunk_subjects must be >= 1")
    rng = np.random.default_rng(seed)
    if rec is None:
        p = _apply_profile(_subject_params(rng, subjects), profile)
        day_state, r_hour, morning = _trajectories(rng, p, subjects, days)
    else:  # recording profiles: the all-day ambulatory physiology, from generators of its own
        p = _apply_profile(ambulatory.subject_params(seed, subjects), profile)
        day_state, r_hour, morning = _trajectories(np.random.default_rng([seed, _AMBULATORY_SEED]), p, subjects, days)
    hours = days * 24
    n = subjects * hours
    gens = _phase_generators(rng, n)
    sub = np.repeat(np.arange(subjects), hours)
    hour = np.tile(np.arange(hours), subjects)
    hod = hour % 24
    # state of the physiological day: hours before waking belong to the previous day
    day = hour // 24 - (hod < p["wake"][sub])
    day = np.clip(day, 0, days - 1)
    state = day_state[sub, day]
    subj_ids = np.array([f"S{i:03d}" for i in range(subjects)])
    score = 100.0 * r_hour
    readiness = 100.0 * morning
    if rec is not None:
        yield from _iter_recordings(rec, p, day_state, r_hour, subjects, days, seed, artifacts, chunk_subjects,
                                    subj_ids, score, readiness)
        return
    carry = 0.0  # running sum of every RR before the chunk (the timestamps of generate() use it)
    for s0 in range(0, subjects, chunk_subjects):
        s1 = min(subjects, s0 + chunk_subjects)
        a, b = s0 * hours, s1 * hours
        m = b - a
        d = {name: gens[name] for name, _, _ in _PHASES}
        sub_c, hour_c, hod_c, st = sub[a:b], hour[a:b], hod[a:b], state[a:b]
        r = r_hour[sub_c, hour_c]
        asleep = (hod_c >= p["sleep"][sub_c]) | (hod_c < p["wake"][sub_c])
        # circadian: daytime HR bump peaking mid-afternoon
        day_phase = np.cos(2 * np.pi * (hod_c - 15) / 24.0)
        hr = (p["hr0"][sub_c] + HR_DELTA[st] - 10.0 * (r - 0.6) + np.where(asleep, -7.0, 2.0 * day_phase)
              + d["hr"].normal(0, 2.5, m))
        mean_rr = 60000.0 / np.clip(hr, 40, 150)
        ln_rmssd = (p["ln_rmssd0"][sub_c] + BETA_R * (r - 0.65) + LN_RMSSD_STATE[st]
                    + np.where(asleep, 0.25, 0.0) + d["ln_rmssd"].normal(0, 0.07, m))
        rmssd = np.exp(ln_rmssd)
        lfhf = np.exp(p["ln_lfhf0"][sub_c] + LN_LFHF_STATE[st] + np.where(asleep, -0.5, 0.0)
                      + d["lfhf"].normal(0, 0.15, m))
        resp = p["resp_hz"][sub_c] + RESP_DELTA_HZ[st] + np.where(asleep, -0.03, 0.0)
        rr = _spectral_rr(d, mean_rr, rmssd, lfhf, p["lf_hz"][sub_c], resp, WHITE_STATE_MS[st])
        rr = np.clip(rr, 320.0, 1900.0)
        start = EPOCH0 + hour_c * 3600.0 + d["start"].uniform(0, 3600 - SEGMENT_S - 60, m)
        heavy = d["heavy"].random(m) < 0.05
        rates = np.where(heavy, d["rate_hi"].uniform(0.03, 0.10, m), d["rate_lo"].uniform(0.0, 0.015, m))
        cols_rr, cols_truth, clean_rr = [], [], []
        cum = np.cumsum(rr, axis=1)
        nb = np.minimum((cum <= SEGMENT_S * 1000.0).sum(axis=1), L_BEATS)
        for i in range(m):
            seg_rr = rr[i, : nb[i]]
            clean_rr.append(seg_rr.copy())
            if artifacts:
                out, truth = _inject(rng, seg_rr, rates[i])
            else:
                out, truth = seg_rr.tolist(), [0] * len(seg_rr)
            cols_rr.append(np.asarray(out))
            cols_truth.append(np.asarray(truth, np.int64))
        del rr, cum
        lens = np.array([len(c) for c in cols_rr])
        all_rr = np.concatenate(cols_rr)
        seg_id = np.repeat(np.arange(a, b), lens)
        # timestamps: cumulative within segment, from the running sum over the whole cohort
        csum = np.cumsum(np.concatenate([[carry], all_rr]))[1:]
        carry = float(csum[-1])
        seg_first = np.concatenate([[0], np.cumsum(lens)[:-1]])
        base = np.repeat(csum[seg_first] - all_rr[seg_first], lens)
        t = np.repeat(start, lens) + (csum - base) / 1000.0
        table = RRTable(subj_ids[np.repeat(sub_c, lens)], seg_id, t, all_rr,
                        np.zeros(len(all_rr), np.int64), meta={"synthetic": True, "seed": seed})
        yield Cohort(
            table=table,
            truth=np.concatenate(cols_truth),
            clean_rr=clean_rr,
            seg_label=state.astype(np.int64),
            seg_subject=sub.astype(np.int64),
            seg_hour=hour.astype(np.int64),
            score=score,
            subject_ids=subj_ids,
            wake_hour=p["wake"].astype(np.int64),
            readiness=readiness,
            day_state=day_state,
        )


# ---------------------------------------------------------------------------------------------
# Recording profiles: how each subject's heart is recorded (docs/synthetic_cohort.md "Recording
# profiles"). The physiology (baselines, states, recovery, per-hour HR/RMSSD/LF-HF model) is the
# same for every profile; only when and how long beats are recorded, and the artifact rates, differ.


def generate(subjects: int = 48, days: int = 14, seed: int = 7, artifacts: bool = True,
             profile: dict | str | None = None, recordings: list | None = None) -> Cohort:
    """Simulate ``subjects`` x ``days`` of hourly 150 s RR spot measurements. Deterministic in seed.

    ``profile``: a name from :data:`PROFILES` or a dict with any of ``hr0`` (bpm), ``rmssd0`` (ms),
    ``lfhf0``, ``type`` (proneness) that replaces the drawn baselines of every subject. The random
    draws are the same with or without a profile (only the overridden values change).

    The whole cohort in memory: the chunks of :func:`iter_cohort` joined (use that for large cohorts).
    """
    kw = {"recordings": recordings} if check_recordings(recordings) is not None else {}
    parts = list(iter_cohort(subjects, days, seed, artifacts, profile, **kw))
    first = parts[0]
    t = [c.table for c in parts]
    table = RRTable(np.concatenate([x.subject for x in t]), np.concatenate([x.segment for x in t]),
                    np.concatenate([x.time_s for x in t]), np.concatenate([x.rr_ms for x in t]),
                    np.concatenate([x.flags for x in t]), meta=dict(first.table.meta))
    first.table = table
    first.truth = np.concatenate([c.truth for c in parts])
    first.clean_rr = [r for c in parts for r in c.clean_rr]
    return first
