"""What the SYNTHETIC cohorts share (the hourly spot cohort of :mod:`.cohort` and the recording profiles of
:mod:`.recordings`): the clock (``EPOCH0``), the :class:`Cohort` record they yield, the RR series of one
measurement from the two-peak spectral model of McSharry et al. (2003) (:func:`_spectral_rr`) and
injected artifacts with ground-truth flags (:func:`_inject`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgekit import STRAIN_LABELS
from edgekit.data.rr import Flag, RRTable


EPOCH0 = 1704067200.0  # 2024-01-01T00:00:00Z: day 0 of every synthetic cohort
SEGMENT_S = 150.0  # length of an hourly spot measurement
L_BEATS = 384  # generation grid (beats) per segment; enough for HR up to 150 bpm


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
