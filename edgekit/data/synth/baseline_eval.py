"""How the personal baseline agrees with the simulated state, per recording profile (SYNTHETIC).

The simulator (edgekit.data.synth.cohort) knows, for every reading, the subject's state that day
(healthy / strained / burnout_risk) and its latent recovery R (0-1). :func:`measure` simulates a
cohort, reads it as a user's device would (cleaning, :func:`edgekit.data.signal.baseline.reading_values`,
the night-window daily value, :func:`edgekit.data.signal.baseline.baseline_days`) and compares per
subject-day:

- the baseline's words with the same words computed from the latent recovery of the same readings
  (the "true" trend: R's 7-day mean and day value against R's own normal range), and its day value
  with R (within-subject Spearman);
- the baseline's ``below`` with the simulated state (not healthy = strained or burnout_risk), next
  to the population model's labels of the same readings aggregated per day (summed log-probability
  of at most ``max_model_readings`` readings per day, evenly spread), when ``predict`` is given.

``predict(X)`` takes reading inputs ``(K, n_slots)`` (one reading's RR ms, then 0, as
:func:`edgekit.data.signal.windows.reading_windows` makes them) and returns class probabilities over
``STRAIN_LABELS``; ``scripts/baseline_agreement.py`` passes the bundled ``hrv_reading`` model.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from edgekit import STRAIN_LABELS
from edgekit.data.signal import baseline as bl
from edgekit.data.signal.clean import clean
from edgekit.data.synth import cohort as synth
from edgekit.data.synth.cohort import EPOCH0, RECORDINGS

HEALTHY = STRAIN_LABELS.index("healthy")
BURNOUT = STRAIN_LABELS.index("burnout_risk")


def reading_inputs(table, readings: bl.Readings, n_slots: int) -> np.ndarray:
    """The strain classifier's input of each reading: its RR values (one 0 between segments), the
    newest ``n_slots``, then 0 — as ``reading_windows`` makes them at inference."""
    X = np.zeros((len(readings), n_slots), np.float32)
    for i, (a, e) in enumerate(zip(readings.first_row.tolist(), readings.end_row.tolist())):
        seg = table.segment[a:e]
        rr = table.rr_ms[a:e]
        seq = []
        for j in range(e - a):
            if j and seg[j] != seg[j - 1]:
                seq.append(0.0)
            seq.append(float(rr[j]))
        seq = seq[-n_slots:]
        if seq and seq[0] == 0.0:
            seq = seq[1:]
        X[i, :len(seq)] = seq
    return X


def cohen_kappa(a, b) -> float | None:
    """Cohen's kappa of two label sequences (None when empty or when chance agreement is 1)."""
    a, b = np.asarray(a), np.asarray(b)
    if len(a) == 0:
        return None
    cats = sorted(set(a.tolist()) | set(b.tolist()))
    po = float(np.mean(a == b))
    pe = sum(float(np.mean(a == c)) * float(np.mean(b == c)) for c in cats)
    return None if pe >= 1.0 else round((po - pe) / (1.0 - pe), 4)


def spearman(x, y) -> float | None:
    # deferred: scipy.stats takes a second to import; only this path needs it
    from scipy.stats import spearmanr

    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 5 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return None
    return float(spearmanr(x[ok], y[ok]).statistic)


def _detection(flag: np.ndarray, truth: np.ndarray) -> dict:
    """Sensitivity / specificity / balanced accuracy of ``flag`` for ``truth`` (booleans)."""
    tp, fn = int((flag & truth).sum()), int((~flag & truth).sum())
    tn, fp = int((~flag & ~truth).sum()), int((flag & ~truth).sum())
    sens = tp / (tp + fn) if tp + fn else None
    spec = tn / (tn + fp) if tn + fp else None
    bal = (sens + spec) / 2 if sens is not None and spec is not None else None
    return {"sensitivity": _r(sens), "specificity": _r(spec), "balanced_accuracy": _r(bal),
            "flagged_share": _r(float(flag.mean()) if len(flag) else None)}


def _r(v, digits: int = 4):
    return None if v is None or not math.isfinite(v) else round(float(v), digits)


def subject_days(cohort, res, window: str = bl.DEFAULT_WINDOW, max_artifact_pct: float = bl.MAX_ARTIFACT_PCT,
                 predict: Callable | None = None, n_slots: int = 128, max_model_readings: int = 12) -> dict:
    """Per subject-day arrays (only days with a baseline day value): subject index, profile kind,
    baseline figures, truth (mean R of the day's readings, their majority state) and the model's
    day label and P(healthy) - P(burnout_risk)."""
    t = res.table
    readings = bl.reading_values(t, max_artifact_pct)
    origin = res.segment_origin[t.segment[readings.first_row]] if len(readings) else np.zeros(0, np.int64)
    sub = cohort.seg_subject[origin]
    # the reading's own hour (a chest-strap night spans many): its latent recovery and the state in force
    hour_abs = np.clip(np.floor((readings.start_time_s - synth_epoch()) / 3600.0).astype(np.int64), 0,
                       cohort.score.shape[1] - 1)
    r_true = cohort.score[sub, hour_abs] / 100.0
    state = cohort.day_state[sub, cohort.physiological_day(hour_abs, sub)]
    kinds = cohort.subject_recordings()
    cols: dict[str, list] = {k: [] for k in ("subject", "kind", "ln", "trend", "today", "r", "true_trend",
                                             "true_today", "state", "model_label", "model_score")}
    lo, hi = bl.WINDOWS[window]
    local = readings.start_time_s
    day_all = np.floor(local / bl.DAY_S).astype(np.int64)
    hour = (local - day_all * bl.DAY_S) / 3600.0
    in_win = (hour >= lo) & (hour < hi) & np.isfinite(readings.ln_rmssd)
    probs = None
    if predict is not None and len(readings):
        pick = _model_pick(sub, day_all, in_win, max_model_readings)
        probs = np.full((len(readings), len(STRAIN_LABELS)), np.nan)
        if pick.any():
            probs[pick] = predict(reading_inputs(t, _subset(readings, pick), n_slots))
    for si in np.unique(sub).tolist():
        m = (sub == si) & in_win
        if not m.any():
            continue
        daily = bl.daily_ln_rmssd(readings.start_time_s[m], readings.ln_rmssd[m], 0.0, window)
        days = bl.baseline_days(daily)
        d_idx = day_all[m] - daily.first_day
        n = len(daily.ln_rmssd)
        r_day = np.full(n, np.nan)
        st_day = np.full(n, -1)
        for k in np.unique(d_idx).tolist():
            r_day[k] = float(np.mean(r_true[m][d_idx == k]))
            st_day[k] = int(np.bincount(state[m][d_idx == k], minlength=3).argmax())
        truth = bl.baseline_days(bl.DailyValues(daily.first_day, r_day, daily.readings))
        for k, (b, tr) in enumerate(zip(days, truth)):
            if b.ln_rmssd is None:
                continue
            label, score = -1, np.nan
            if probs is not None:
                p = probs[m][d_idx == k]
                p = p[np.isfinite(p).all(axis=1)]
                if len(p):
                    label = int(np.log(np.clip(p, 1e-8, None)).sum(axis=0).argmax())
                    score = float(np.mean(p[:, HEALTHY] - p[:, BURNOUT]))
            for key, v in (("subject", si), ("kind", int(kinds[si])), ("ln", b.ln_rmssd), ("trend", b.trend),
                           ("today", b.today), ("r", r_day[k]), ("true_trend", tr.trend), ("true_today", tr.today),
                           ("state", st_day[k]), ("model_label", label), ("model_score", score)):
                cols[key].append(v)
    return {k: np.asarray(v, dtype=object if k in ("trend", "today", "true_trend", "true_today") else None)
            for k, v in cols.items()}


def synth_epoch() -> float:
    return EPOCH0


def _subset(readings: bl.Readings, mask: np.ndarray) -> bl.Readings:
    return bl.Readings(*(getattr(readings, k)[mask] for k in readings.__dataclass_fields__))


def _model_pick(sub, day, in_win, k: int) -> np.ndarray:
    """At most ``k`` readings per subject-day of the window, evenly spread (the model's daily input)."""
    pick = np.zeros(len(sub), bool)
    keys = sub.astype(np.int64) * 1_000_000 + day
    for key in np.unique(keys[in_win]).tolist():
        idx = np.flatnonzero(in_win & (keys == key))
        sel = idx if len(idx) <= k else idx[np.linspace(0, len(idx) - 1, k).round().astype(int)]
        pick[sel] = True
    return pick


def summarize(days: dict, profiles=None) -> dict:
    """Agreement figures per recording profile (and ``all``) of :func:`subject_days` arrays."""
    out = {}
    for k, name in [(None, "all")] + list(enumerate(RECORDINGS)):
        sel = np.ones(len(days["kind"]), bool) if k is None else days["kind"] == k
        if not sel.any():
            continue
        has_today = sel & np.array([w is not None for w in days["today"]], bool)
        has_trend = sel & np.array([w is not None for w in days["trend"]], bool)
        r = days["r"]
        per_word = {w: _r(100.0 * float(np.mean(r[has_trend & (days["trend"] == w)]))
                          if (has_trend & (days["trend"] == w)).any() else None, 2) for w in bl.WORDS}
        rho = [spearman(days["ln"][sel & (days["subject"] == s)], r[sel & (days["subject"] == s)])
               for s in np.unique(days["subject"][sel]).tolist()]
        rho = [x for x in rho if x is not None]
        not_healthy = days["state"] != HEALTHY
        row = {
            "subject_days": int(sel.sum()), "days_with_today": int(has_today.sum()),
            "days_with_trend": int(has_trend.sum()),
            "trend_share": {w: _r(float(np.mean(days["trend"][has_trend] == w)) if has_trend.any() else None)
                            for w in bl.WORDS},
            "recovery_x100_per_trend": per_word,
            "trend_vs_true_trend": {"accuracy": _r(float(np.mean(days["trend"][has_trend] == days["true_trend"][has_trend]))
                                                   if has_trend.any() else None),
                                    "kappa": cohen_kappa(days["trend"][has_trend].astype(str),
                                                         days["true_trend"][has_trend].astype(str))},
            "today_vs_true_today": {"accuracy": _r(float(np.mean(days["today"][has_today] == days["true_today"][has_today]))
                                                   if has_today.any() else None),
                                    "kappa": cohen_kappa(days["today"][has_today].astype(str),
                                                         days["true_today"][has_today].astype(str))},
            "spearman_day_value_vs_recovery": _r(float(np.median(rho)) if rho else None),
            "not_healthy_days_share": _r(float(np.mean(not_healthy[has_today])) if has_today.any() else None),
            "today_below_vs_not_healthy": _detection((days["today"][has_today] == "below").astype(bool),
                                                     not_healthy[has_today]),
            "trend_below_vs_not_healthy": _detection((days["trend"][has_trend] == "below").astype(bool),
                                                     not_healthy[has_trend]),
        }
        ml = days["model_label"]
        if (ml[has_today] >= 0).any():
            mm = has_today & (ml >= 0)
            rho_m = [spearman(days["model_score"][mm & (days["subject"] == s)], r[mm & (days["subject"] == s)])
                     for s in np.unique(days["subject"][mm]).tolist()]
            rho_m = [x for x in rho_m if x is not None]
            row["model"] = {
                "days": int(mm.sum()),
                "day_label_accuracy_vs_state": _r(float(np.mean(ml[mm] == days["state"][mm]))),
                "not_healthy_label_vs_not_healthy": _detection(ml[mm] != HEALTHY, not_healthy[mm]),
                "spearman_day_score_vs_recovery": _r(float(np.median(rho_m)) if rho_m else None),
            }
        out[name] = row
    return out


def measure(subjects: int = 24, days: int = 42, seed: int = 11, profiles=("watch", "spot", "strap", "breathe"),
            window: str = bl.DEFAULT_WINDOW, predict: Callable | None = None, clean_method: str = "kubios",
            max_artifact_pct: float = bl.MAX_ARTIFACT_PCT, n_slots: int = 128, max_model_readings: int = 12) -> dict:
    """Simulate a SYNTHETIC cohort with ``profiles``, read it as a device would and summarize the
    baseline's agreement with the simulated state per profile (:func:`summarize`)."""
    kw = {"recordings": list(profiles)} if synth.check_recordings(list(profiles)) else {}
    days_cols: dict[str, list] = {}
    for chunk in synth.iter_cohort(subjects, days, seed, chunk_subjects=8, **kw):
        res = clean(chunk.table, clean_method)
        part = subject_days(chunk, res, window, max_artifact_pct, predict, n_slots, max_model_readings)
        for k, v in part.items():
            days_cols.setdefault(k, []).append(v)
    cols = {k: np.concatenate(v) for k, v in days_cols.items()}
    return {"synthetic": True, "subjects": subjects, "days": days, "seed": seed, "profiles": list(profiles),
            "window": window, "model": predict is not None, "per_profile": summarize(cols)}
