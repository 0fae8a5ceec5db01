"""All-day ambulatory physiology of the SYNTHETIC recording-profile cohort (``data.profiles``).

Everything here is simulated; docs/synthetic_cohort.md ("Ambulatory physiology") gives every number
with its source and says which were tuned on the ``tune`` persons of ``realdata/hrv`` (never the
holdout). :mod:`edgekit.data.synth.cohort` uses it for a cohort of recording profiles; the default hourly
spot cohort (``profiles = ["spot"]``, the window-shaped alternative models) keeps its original
two-peak physiology.

What a reading depends on:

- **the person** (drawn once): age 20-75 and sex, which set the all-day norms of heart rate and RMSSD
  (24 h Holter norms: Umetani et al. 1998, JACC 31:593; Geovanini et al. 2020, Global Heart 15:71;
  5-min norms by age decade: Voss et al. 2015, PLoS ONE 10:e0118308), a person's own offset from them
  (between-person s.d. of ln RMSSD 0.36, measured on the tune persons), LF/HF balance, breathing and
  Mayer-wave frequencies, and a proneness type whose mix sets the labels' population shares;
- **nuisance factors drawn independently of the label**: time of day (asleep: heart rate lower,
  RMSSD higher), physical activity and posture per hour, beat-to-beat noise, device timing
  resolution, ectopic beats and artifacts per recording;
- **the day's state and the latent recovery R**, as shifts *relative to the person's own level*
  (strained: HR +8 bpm, ln RMSSD -0.40, ln LF/HF +1.0, breathing +0.05 Hz; burnout_risk: HR +8 bpm,
  ln RMSSD -0.55, ln LF/HF +0.5, breathing +0.02 Hz, a larger 1/f share): about the spread between
  people, so a single reading overlaps across classes as it does in life.

The RR series of an hour block (:func:`rr_block`) has three parts: a 1/f component (fractal scaling:
DFA α1 > 1 in waking readings, as real ones have), the two spectral peaks of McSharry et al. (2003)
at the Mayer-wave and breathing frequencies, and a beat-level component (white noise with Laplace
tails plus alternating noise: real successive differences are heavy-tailed and change sign more
often than a smooth spectrum gives). Their powers meet the block's RMSSD and SDNN/RMSSD ratio.
"""

from __future__ import annotations

import numpy as np

# --- the person ------------------------------------------------------------------------------------
AGE_RANGE = (20.0, 75.0)
TYPE_P = (0.80, 0.15, 0.05)  # resilient / variable / prone: day labels ~ 63 % healthy, 26 % strained, 11 % burnout_risk
HR_AWAKE_AT_45 = 79.0  # bpm, waking all-day mean at age 45 (tune persons: 79, day readings)
HR_AGE_SLOPE = -0.10  # bpm per year (24 h HR falls slightly with age: Umetani 1998)
HR_FEMALE = 3.0  # women's heart rate is higher (Umetani 1998; Voss 2015)
HR_PERSON_SD = 6.0
LN_RMSSD_AWAKE_AT_45 = np.log(21.0)  # ms, waking one-minute readings at age 45 (tune persons: 20 ms at a median age ~60)
LN_RMSSD_AGE_SLOPE = -0.016  # per year: RMSSD roughly halves from the 20s to the 60s (Umetani 1998; Voss 2015)
LN_RMSSD_PERSON_SD = 0.30  # the person's own offset (with age, the tune persons' between-person s.d. is 0.36)
LN_LFHF_MEAN, LN_LFHF_SD = np.log(2.0), 0.35
FIT_HR, FIT_LN_RMSSD = -4.0, 0.15  # fitness (a standard normal per person): HR -4 bpm, ln RMSSD +0.15 per s.d.
# vagal coupling: a reading whose RMSSD is above the population's has relatively more respiratory (HF)
# variation (tune persons: corr(ln RMSSD, SD1/SD2) +0.31, corr(ln RMSSD, sign changes) +0.25)
VAGAL_LN_LFHF, VAGAL_VLF = -0.8, -0.25  # per unit of ln RMSSD above LN_RMSSD_AWAKE_AT_45
BLOCK_VLF_SD = 0.2  # hour-to-hour spread of the 1/f share (SDNN is not tied to RMSSD within a minute)

# --- time of day, activity (nuisance: independent of the label) -------------------------------------
ASLEEP_HR = -17.0  # bpm (tune persons: night - day = -18 bpm)
ASLEEP_LN_RMSSD = 0.33  # (tune persons: night - day = +0.33)
ASLEEP_LN_LFHF = -0.6
ASLEEP_RESP_HZ = -0.03
ACTIVITY_P_ACTIVE = 0.55  # awake hours with some activity or standing
ACTIVITY_SCALE = 0.5  # activity level ~ Gamma(1.5, scale): HR +13 a, ln RMSSD -0.45 a, ln LF/HF +0.5 a
ACTIVITY_HR, ACTIVITY_LN_RMSSD, ACTIVITY_LN_LFHF = 13.0, -0.45, 0.5
HOUR_HR_SD, HOUR_LN_RMSSD_SD, HOUR_LN_LFHF_SD = 3.0, 0.18, 0.2

# --- the day's state and recovery, relative to the person (index = STRAIN_LABELS) -------------------
STATE_HR = np.array([0.0, 8.0, 8.0])
STATE_LN_RMSSD = np.array([0.0, -0.40, -0.55])
STATE_LN_LFHF = np.array([0.0, 1.0, 0.5])  # strained: sympathetic dominance (Castaldo et al. 2015; Kim et al. 2018)
STATE_RESP_HZ = np.array([0.0, 0.05, 0.02])
STATE_VLF = np.array([0.0, 0.1, 0.2])  # a larger share of slow (1/f) variance: less beat-to-beat complexity
R_LN_RMSSD = 0.8  # ln RMSSD per unit of latent recovery R (about its mean 0.7)
R_HR = -6.0  # bpm per unit of R

# --- the recording (nuisance) -----------------------------------------------------------------------
WHITE_MS = (0.5, 3.0)  # beat-level measurement noise s.d. (ms), uniform per recording
BEAT_FRAC = (0.15, 0.4)  # physiological beat-level variation, as a fraction of the block's RMSSD (per recording)
ALT_SHARE = (0.5, 1.0)  # share of the beat-level variance that alternates beat to beat
RESOLUTIONS_MS = (1.0, 1000.0 / 256.0, 1000.0 / 128.0)  # device timing resolution, one per recording
VLF_BETA = 2.0  # 1/f^beta
VLF_MIN_CPB = 1.0 / 96.0  # the 1/f part starts at 96-beat periods (slower variance is the hour-to-hour drift)
VLF_SHARE = (0.6, 0.95)  # share of the non-peak slow variance per person (sets DFA α1)


def subject_params(seed: int, n: int) -> dict:
    """Per-subject draws (one generator per subject: ``default_rng([seed, 0xA6B, s])``); the keys of
    :func:`edgekit.data.synth.cohort._subject_params` (a profile's overrides apply to them alike) and more."""
    p: dict = {k: [] for k in ("type", "age", "female", "hr0", "ln_rmssd0", "ln_lfhf0", "resp_hz", "lf_hz", "wake",
                                "sleep", "r_offset", "vlf_share")}
    names = ("resilient", "variable", "prone")
    for s in range(n):
        g = np.random.default_rng([seed, 0xA6B, s])
        age = g.uniform(*AGE_RANGE)
        female = bool(g.random() < 0.5)
        fit = g.normal()  # fitness: a lower heart rate goes with a higher RMSSD between people
        p["type"].append(names[int(g.choice(3, p=TYPE_P))])
        p["age"].append(age)
        p["female"].append(female)
        p["hr0"].append(float(np.clip(HR_AWAKE_AT_45 + HR_AGE_SLOPE * (age - 45) + HR_FEMALE * female
                                      + FIT_HR * fit + g.normal(0, HR_PERSON_SD), 55, 100)))
        p["ln_rmssd0"].append(LN_RMSSD_AWAKE_AT_45 + LN_RMSSD_AGE_SLOPE * (age - 45) + FIT_LN_RMSSD * fit
                              + g.normal(0, LN_RMSSD_PERSON_SD))
        p["ln_lfhf0"].append(g.normal(LN_LFHF_MEAN, LN_LFHF_SD))
        p["resp_hz"].append(g.uniform(0.20, 0.30))
        p["lf_hz"].append(g.uniform(0.08, 0.12))
        p["wake"].append(int(g.integers(6, 9)))
        p["sleep"].append(int(g.integers(22, 24)))
        p["r_offset"].append(g.normal(0.0, 0.03))
        p["vlf_share"].append(g.uniform(*VLF_SHARE))
    return {k: np.array(v) for k, v in p.items()}


def recording_nuisance(rng: np.random.Generator) -> dict:
    """Per recording, independent of the label: beat-level noise, alternation, timing resolution."""
    return {"white_ms": float(rng.uniform(*WHITE_MS)), "beat_frac": float(rng.uniform(*BEAT_FRAC)),
            "alt_share": float(rng.uniform(*ALT_SHARE)),
            "resolution_ms": float(RESOLUTIONS_MS[int(rng.integers(len(RESOLUTIONS_MS)))])}


def block_params(rng: np.random.Generator, p: dict, s: int, asleep: bool, state: int, r: float,
                 breathe: tuple[float, float] | None = None, still: bool = False) -> dict:
    """Physiology of one hour block of one subject: mean RR, RMSSD, SDNN/RMSSD, LF/HF, frequencies, 1/f share.
    ``breathe``: (breathing Hz, ln RMSSD added) of a paced-breathing session, else None; ``still``: a
    seated session (no activity). The activity draw is taken whatever happens, so the draws of later
    blocks do not depend on it."""
    u, a_draw = rng.random(), float(rng.gamma(1.5, ACTIVITY_SCALE))
    a = a_draw if (not asleep and not still and u < ACTIVITY_P_ACTIVE) else 0.0
    hr = (p["hr0"][s] + (ASLEEP_HR if asleep else 0.0) + ACTIVITY_HR * a + STATE_HR[state] + R_HR * (r - 0.7)
          + rng.normal(0, HOUR_HR_SD))
    ln_rmssd = (p["ln_rmssd0"][s] + (ASLEEP_LN_RMSSD if asleep else 0.0) + ACTIVITY_LN_RMSSD * a + STATE_LN_RMSSD[state]
                + R_LN_RMSSD * (r - 0.7) + rng.normal(0, HOUR_LN_RMSSD_SD))
    vagal = ln_rmssd - LN_RMSSD_AWAKE_AT_45
    ln_lfhf = (p["ln_lfhf0"][s] + (ASLEEP_LN_LFHF if asleep else 0.0) + ACTIVITY_LN_LFHF * a + STATE_LN_LFHF[state]
               + VAGAL_LN_LFHF * vagal + rng.normal(0, HOUR_LN_LFHF_SD))
    vlf = p["vlf_share"][s] + STATE_VLF[state] + VAGAL_VLF * vagal + rng.normal(0, BLOCK_VLF_SD)
    resp = p["resp_hz"][s] + (ASLEEP_RESP_HZ if asleep else 0.0) + STATE_RESP_HZ[state] + 0.02 * min(a, 2.0)
    if breathe is not None:
        resp, ln_rmssd = breathe[0], ln_rmssd + breathe[1]
    return {"mean_rr": 60000.0 / float(np.clip(hr, 40, 160)), "rmssd": float(np.exp(ln_rmssd)),
            "lfhf": float(np.exp(ln_lfhf)), "lf_hz": float(p["lf_hz"][s]),
            "hf_hz": float(np.clip(resp, 0.1, 0.45)), "vlf_share": float(np.clip(vlf, 0.05, 0.95))}


def _unit(g: np.ndarray) -> np.ndarray:
    g = np.array(g, float)
    g[0] = 0.0
    return g / g.sum()


def rr_block(rng: np.random.Generator, bp: dict, nz: dict, length: int) -> np.ndarray:
    """RR (ms) of one block on a beat grid of ``length`` beats (see the module docstring).

    Powers: the peaks (LF/HF ratio ``lfhf``) and the 1/f part (1/f^VLF_BETA from VLF_MIN_CPB cycles per
    beat) share the slow variance by ``vlf_share``; the beat-level part has variance white_ms²; the slow
    part's scale is set so that the expected RMSSD² = 4 Σ P(f)(1 - cos 2πf) + the beat-level term equals
    ``rmssd``² (P = E|c_k|² of the inverse FFT's coefficients; the series' variance is 2 Σ P + the beat-level variance)."""
    k = np.arange(length // 2 + 1)
    fb = k / length  # cycles per beat
    f_hz = fb / (bp["mean_rr"] / 1000.0)
    g_lf = _unit(np.exp(-0.5 * ((f_hz - bp["lf_hz"]) / 0.012) ** 2))
    g_hf = _unit(np.exp(-0.5 * ((f_hz - bp["hf_hz"]) / 0.02) ** 2))
    g_pk = _unit(bp["lfhf"] * g_lf + g_hf)
    with np.errstate(divide="ignore"):
        g_vlf = _unit(np.where(fb >= VLF_MIN_CPB, 1.0 / np.maximum(fb, 1e-12) ** VLF_BETA, 0.0))
    omc = 1.0 - np.cos(2 * np.pi * fb)
    c_pk, c_vlf = float((g_pk * omc).sum()), float((g_vlf * omc).sum())
    w = float(np.hypot(nz["white_ms"], nz["beat_frac"] * bp["rmssd"]))
    alt = nz["alt_share"]
    # beat-level part: (1 - alt) white (successive-difference variance 2 w²) + alt differenced white noise
    # (e_j - e_{j-1}) / sqrt 2: lag-1 correlation -1/2, successive-difference variance 3 w²
    beat_diff2 = w * w * (2.0 * (1 - alt) + 3.0 * alt)
    # the slow variance: peaks a, 1/f part b = a s / (1 - s) (s = the 1/f share), scaled so that the expected
    # successive-difference variance 4 (a c_pk + b c_vlf) + beat_diff2 is RMSSD² (E|c_k|² units: variance 2(a + b))
    share = bp["vlf_share"]
    tot = max(bp["rmssd"] ** 2 - beat_diff2, 1.0) / (4 * ((1 - share) * c_pk + share * c_vlf))
    a, b = (1 - share) * tot, share * tot
    spec = a * g_pk + b * g_vlf
    coef = (rng.normal(size=spec.shape) + 1j * rng.normal(size=spec.shape)) * np.sqrt(spec / 2.0)
    x = np.fft.irfft(coef, n=length) * length
    e = rng.laplace(0.0, 1.0 / np.sqrt(2.0), length + 1)  # unit variance, heavy tails
    x += w * (np.sqrt(1 - alt) * e[1:] + np.sqrt(alt / 2.0) * (e[1:] - e[:-1]))
    return bp["mean_rr"] + x


def quantize(rr: np.ndarray, resolution_ms: float) -> np.ndarray:
    """RR intervals as a device with beat times on a ``resolution_ms`` grid records them."""
    if resolution_ms <= 0 or len(rr) == 0:
        return rr
    t = np.round(np.cumsum(rr) / resolution_ms) * resolution_ms
    return np.diff(np.concatenate([[0.0], t]))
