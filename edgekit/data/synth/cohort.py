"""Labelled SYNTHETIC cohort (no public burnout-labelled RR data set exists).

Everything this module produces is simulated. The model, its parameters and their sources are
described in docs/synthetic_cohort.md; keep the two in step.

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

from dataclasses import dataclass

import numpy as np

from edgekit import STRAIN_LABELS
from edgekit.data.rr import Flag, RRTable

EPOCH0 = 1704067200.0  # 2024-01-01T00:00:00Z: day 0 of every synthetic cohort
SEGMENT_S = 150.0  # length of an hourly spot measurement
L_BEATS = 384  # generation grid (beats) per segment; enough for HR up to 150 bpm

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


@dataclass
class Cohort:
    """A synthetic cohort: beats (with injected artifacts), ground truth and labels."""

    table: RRTable  # segment k = one spot measurement; subject ids "S000", ...
    truth: np.ndarray  # per beat: Flag.ECTOPIC / MISSED / EXTRA of the injected artifact, else 0
    clean_rr: list  # per segment: the RR series before artifact injection (ms)
    seg_label: np.ndarray  # per segment: state index into STRAIN_LABELS
    seg_subject: np.ndarray  # per segment: subject index
    seg_hour: np.ndarray  # per segment: absolute hour index since EPOCH0
    score: np.ndarray  # (subjects, hours): 100 * latent recovery R(t) at each hour
    day_state: np.ndarray  # (subjects, days)
    subject_ids: np.ndarray  # (subjects,) names used in the table, row order of the arrays below
    wake_hour: np.ndarray  # (subjects,): hour of day the subject wakes up
    readiness: np.ndarray  # (subjects, days + 1): 100 * R at each wake-up (day d at d*24 + wake)
    label_names: tuple = STRAIN_LABELS
    # recording profiles (RECORDINGS): per segment the kind of recording (index into RECORDINGS),
    # per subject its profile; None = every segment an hourly spot measurement (the default cohort)
    seg_kind: np.ndarray | None = None
    subject_recording: np.ndarray | None = None
    recording_stats: dict | None = None  # counts of the schedule (readings made, lost to motion, ...)

    def segment_kinds(self) -> np.ndarray:
        """Per segment: index into RECORDINGS (all 0 = spot for the default cohort)."""
        return self.seg_kind if self.seg_kind is not None else np.zeros(len(self.seg_label), np.int64)

    def subject_recordings(self) -> np.ndarray:
        """Per subject: its recording profile, index into RECORDINGS."""
        if self.subject_recording is not None:
            return self.subject_recording
        return np.zeros(len(self.subject_ids), np.int64)

    def physiological_day(self, hour_abs: np.ndarray, subject: np.ndarray) -> np.ndarray:
        """Day index of the physiological day (hours before waking belong to the previous day)."""
        hour_abs = np.asarray(hour_abs)
        day = hour_abs // 24 - ((hour_abs % 24) < self.wake_hour[subject])
        return np.clip(day, 0, self.day_state.shape[1] - 1)

    def beat_fatigue_score(self) -> np.ndarray:
        """Per beat of ``table``: the fatigue score in force (issued at the last wake-up at or
        before the beat's clock hour), NaN before the first wake-up."""
        seg = self.table.segment
        sub = self.seg_subject[seg]
        hour = self.seg_hour[seg]
        day = (hour - self.wake_hour[sub]) // 24
        ok = day >= 0
        out = np.full(len(seg), np.nan)
        out[ok] = self.readiness[sub[ok], day[ok]]
        return out


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


def _spectral_rr(gens, mean_rr_ms, rmssd_ms, lfhf, lf_hz, hf_hz, white_ms, length: int = L_BEATS):
    """McSharry et al. (2003) bimodal-spectrum RR series on a beat grid, one row per segment.

    ``gens``: the generators of the ``coef_re``, ``coef_im`` and ``white`` phases (see _PHASES);
    ``length``: beats of the grid (recording profiles other than spot need longer grids)."""
    L_BEATS = length  # noqa: N806 - the grid length (module default for the hourly spot grid)
    n = len(mean_rr_ms)
    k = np.arange(L_BEATS // 2 + 1)
    fb = k / L_BEATS  # cycles per beat
    mu_s = mean_rr_ms / 1000.0
    f_hz = fb[None, :] / mu_s[:, None]

    def shape(fc, width):
        g = np.exp(-0.5 * ((f_hz - fc[:, None]) / width) ** 2)
        g[:, 0] = 0.0
        return g / g.sum(axis=1, keepdims=True)

    g_lf = shape(lf_hz, 0.012)
    g_hf = shape(hf_hz, 0.02)
    one_minus_cos = 1.0 - np.cos(2 * np.pi * fb)[None, :]
    c_lf = (g_lf * one_minus_cos).sum(axis=1)
    c_hf = (g_hf * one_minus_cos).sum(axis=1)
    # RMSSD^2 = 2 (P_lf c_lf + P_hf c_hf + white^2)
    p_hf = np.maximum(rmssd_ms**2 / 2.0 - white_ms**2, 1.0) / (lfhf * c_lf + c_hf)
    p_lf = lfhf * p_hf
    spec = p_lf[:, None] * g_lf + p_hf[:, None] * g_hf  # variance per frequency bin
    coef = (gens["coef_re"].normal(size=spec.shape) + 1j * gens["coef_im"].normal(size=spec.shape)) \
        * np.sqrt(spec / 2.0)
    x = np.fft.irfft(coef, n=L_BEATS, axis=1) * L_BEATS
    x += gens["white"].normal(0.0, 1.0, x.shape) * white_ms[:, None]
    return mean_rr_ms[:, None] + x


def _inject(rng, rr: np.ndarray, rate: float):
    """Inject artifacts into one segment; returns (rr list, truth flag list)."""
    n = len(rr)
    out = rr.tolist()
    truth = [0] * n
    n_ev = rng.binomial(max(n - 6, 0), rate)
    if n_ev == 0:
        return out, truth
    pos = np.sort(rng.choice(np.arange(2, n - 3), size=min(n_ev, (n - 5) // 4), replace=False))
    # keep events at least 4 beats apart
    keep, last = [], -10
    for q in pos.tolist():
        if q - last >= 4:
            keep.append(q)
            last = q
    for q in reversed(keep):  # from the end, so earlier indices stay valid
        kind = rng.integers(3)
        if kind == 0:  # ectopic: premature beat with compensatory pause
            delta = rng.uniform(0.2, 0.4) * out[q]
            out[q] -= delta
            out[q + 1] += delta
            truth[q] = truth[q + 1] = int(Flag.ECTOPIC)
        elif kind == 1:  # missed: two intervals merged
            out[q] = out[q] + out[q + 1]
            del out[q + 1]
            del truth[q + 1]
            truth[q] = int(Flag.MISSED)
        else:  # extra: one interval split in two
            a = rng.uniform(0.3, 0.7) * out[q]
            out[q:q + 1] = [a, out[q] - a]
            truth[q:q + 1] = [int(Flag.EXTRA), int(Flag.EXTRA)]
    return out, truth


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
        from edgekit.data.synth import ambulatory

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
    from edgekit.data.synth import ambulatory

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
    from edgekit.data.rr import segment_bounds

    b = segment_bounds(table.segment)
    return {int(table.segment[a]): float(np.std(table.rr_ms[a:e], ddof=1)) if e - a > 1 else float("nan")
            for a, e in zip(b[:-1].tolist(), b[1:].tolist())}


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
