"""How far the simulator is from real people: a domain classifier on standard features of one-minute readings.

Each reading (one reading window: RR ms, 0 = absent slot or the separator of a reading split by cleaning)
is described by eight standard features (:data:`FEATURES`); a gradient-boosting classifier
(scikit-learn ``HistGradientBoostingClassifier``) learns to tell real readings from simulated ones,
5-fold cross-validated with folds **grouped by person** (no person in both the fit and the test fold),
and its out-of-fold ROC AUC is the realism measure: 0.5 = indistinguishable, 1.0 = always told apart.
Goal: AUC <= 0.70 (issue 21).

Features are computed here rather than with NeuroKit2 (the field's library, a test dependency that
checks these functions, ``tests/test_realism.py``): the measure runs in every build on thousands of
readings of ~70 beats, where NeuroKit2's per-signal overhead (DataFrames, input checks) costs seconds,
and edgekit keeps it out of its run-time dependencies.

- time domain: mean RR, SDNN (ddof 1), RMSSD, pNN50 (Task Force 1996);
- Poincaré SD1/SD2 (Brennan et al. 2001, IEEE TBME 48:1342);
- alternation: share of consecutive successive-difference pairs with opposite signs (a zero
  difference is no sign change);
- DFA α1: detrended fluctuation analysis over box sizes 4-16 beats, non-overlapping boxes, linear
  detrend (Peng et al. 1995, Chaos 5:82);
- sample entropy, m = 2, r = 0.2 SD (Richman & Moorman 2000, Am J Physiol 278:H2039).

Differences are taken within the reading's parts only (never across a 0 separator).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from edgekit.data.real.hrv import split_readings
from edgekit.data.signal.clean import clean
from edgekit.data.signal.windows import reading_windows
from edgekit.data.synth import cohort as synth

FEATURES = ("mean_rr_ms", "sdnn_ms", "rmssd_ms", "pnn50", "sd1_sd2", "sign_change", "dfa_alpha1", "sampen")
FEATURE_TITLES = {"mean_rr_ms": "mean RR (ms)", "sdnn_ms": "SDNN (ms)", "rmssd_ms": "RMSSD (ms)", "pnn50": "pNN50",
                  "sd1_sd2": "SD1/SD2", "sign_change": "sign changes of successive differences",
                  "dfa_alpha1": "DFA α1", "sampen": "sample entropy"}
DFA_SCALES = np.arange(4, 17)
REALISM_GOAL_AUC = 0.70


def _parts(x: np.ndarray) -> list[np.ndarray]:
    """The runs of present values (> 0) of a reading window."""
    x = np.asarray(x, float)
    present = x > 0
    edges = np.flatnonzero(np.diff(np.concatenate([[0], present.astype(int), [0]])))
    return [x[a:b] for a, b in zip(edges[::2], edges[1::2])]


def dfa_alpha1(parts: list[np.ndarray], scales: np.ndarray = DFA_SCALES) -> float:
    """DFA α1 of the beats (parts of one reading integrated separately; boxes never span parts):
    slope of log F(n) against log n over ``scales``. NaN when fewer than 3 scales have a box."""
    logs_n, logs_f = [], []
    for n in scales.tolist():
        sq, cnt = 0.0, 0
        t = np.arange(n, dtype=float)
        tc = t - t.mean()
        denom = float(tc @ tc)
        for p in parts:
            if len(p) < n:
                continue
            y = np.cumsum(p - p.mean())
            k = len(y) // n
            boxes = y[: k * n].reshape(k, n)
            slope = (boxes - boxes.mean(axis=1, keepdims=True)) @ tc / denom
            resid = boxes - boxes.mean(axis=1, keepdims=True) - slope[:, None] * tc[None, :]
            sq += float((resid**2).sum())
            cnt += k * n
        if cnt:
            f = np.sqrt(sq / cnt)
            if f > 0:
                logs_n.append(np.log(n))
                logs_f.append(np.log(f))
    if len(logs_n) < 3:
        return float("nan")
    return float(np.polyfit(logs_n, logs_f, 1)[0])


def sample_entropy(x: np.ndarray, m: int = 2, r: float | None = None) -> float:
    """Sample entropy of one series: -ln(A/B), B = pairs of m-long templates within Chebyshev distance
    r, A = the same for m+1 (the first N-m templates of each length, self-matches excluded). r = 0.2 SD
    by default. NaN when no pair matches."""
    x = np.asarray(x, float)
    n = len(x)
    if n <= m + 2:
        return float("nan")
    if r is None:
        r = 0.2 * float(np.std(x, ddof=1))
    k = n - m
    emb_m = np.stack([x[i:i + k] for i in range(m)], axis=1)
    emb_m1 = np.stack([x[i:i + k] for i in range(m + 1)], axis=1)
    d_m = np.abs(emb_m[:, None, :] - emb_m[None, :, :]).max(axis=2)
    d_m1 = np.abs(emb_m1[:, None, :] - emb_m1[None, :, :]).max(axis=2)
    iu = np.triu_indices(k, 1)
    b = int((d_m[iu] <= r).sum())
    a = int((d_m1[iu] <= r).sum())
    if a == 0 or b == 0:
        return float("nan")
    return float(-np.log(a / b))


def reading_features(x: np.ndarray) -> dict[str, float]:
    """The eight features of one reading window (RR ms, 0 = absent / separator)."""
    parts = _parts(x)
    beats = np.concatenate(parts) if parts else np.zeros(0)
    d = np.concatenate([np.diff(p) for p in parts]) if parts else np.zeros(0)
    nan = float("nan")
    out = dict.fromkeys(FEATURES, nan)
    if len(beats) < 3 or len(d) < 2:
        return out
    out["mean_rr_ms"] = float(beats.mean())
    out["sdnn_ms"] = float(beats.std(ddof=1))
    out["rmssd_ms"] = float(np.sqrt(np.mean(d * d)))
    out["pnn50"] = float(np.mean(np.abs(d) > 50.0))
    sd1 = np.sqrt(np.var(d, ddof=1) / 2.0)
    sd2 = np.sqrt(max(2.0 * np.var(beats, ddof=1) - sd1 * sd1, 0.0))
    out["sd1_sd2"] = float(sd1 / sd2) if sd2 > 0 else nan
    pairs = np.concatenate([p[:-1] * p[1:] for p in (np.diff(q) for q in parts) if len(p) > 1]) \
        if any(len(q) > 2 for q in parts) else np.zeros(0)
    out["sign_change"] = float(np.mean(pairs < 0)) if len(pairs) else nan
    out["dfa_alpha1"] = dfa_alpha1(parts)
    longest = max(parts, key=len)
    out["sampen"] = sample_entropy(longest)
    return out


def feature_matrix(X: np.ndarray) -> np.ndarray:
    """(K, len(FEATURES)) features of reading windows ``X`` (K, N)."""
    rows = []
    for x in np.asarray(X):
        f = reading_features(x)
        rows.append([f[k] for k in FEATURES])
    return np.array(rows, float).reshape(-1, len(FEATURES))


def domain_auc(F_real: np.ndarray, groups_real: list, F_sim: np.ndarray, groups_sim: list, folds: int = 5,
               seed: int = 0) -> dict[str, Any]:
    """Out-of-fold ROC AUC of a gradient-boosting classifier telling real (1) from simulated (0) readings,
    folds grouped by person (``StratifiedGroupKFold``); also each feature's own AUC (real vs simulated,
    0.5 = same distribution) and the medians. ``groups_*``: the person of each reading."""
    # deferred: scikit-learn takes seconds to import; only this path needs it
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold

    F = np.vstack([F_real, F_sim])
    y = np.concatenate([np.ones(len(F_real), int), np.zeros(len(F_sim), int)])
    groups = np.array([f"real:{g}" for g in groups_real] + [f"sim:{g}" for g in groups_sim])
    n_groups = min(len(set(groups_real)), len(set(groups_sim)))
    k = min(folds, n_groups)
    if k < 2:
        raise ValueError("the realism measure needs at least 2 persons on each side")
    oof = np.zeros(len(y))
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    # one OpenMP thread: a few thousand rows gain nothing from more, and spinning threads next to other
    # CPU-bound work cost seconds per fit (DESIGN.md, known traps)
    with threadpool_limits(limits=1):
        for tr, te in cv.split(F, y, groups):
            clf = HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, max_leaf_nodes=15, random_state=seed)
            clf.fit(F[tr], y[tr])
            oof[te] = clf.predict_proba(F[te])[:, 1]
    per = {}
    for i, name in enumerate(FEATURES if F.shape[1] == len(FEATURES) else []):
        a, b = F_real[:, i], F_sim[:, i]
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        auc_f = float(roc_auc_score(np.r_[np.ones(len(a)), np.zeros(len(b))], np.r_[a, b])) if len(a) and len(b) else float("nan")
        per[name] = {"auc": round(max(auc_f, 1 - auc_f), 4), "real_median": float(np.median(a)) if len(a) else None,
                     "sim_median": float(np.median(b)) if len(b) else None}
    return {"auc": round(float(roc_auc_score(y, oof)), 4), "folds": k, "real_readings": int(len(F_real)),
            "sim_readings": int(len(F_sim)), "real_persons": len(set(groups_real)), "sim_persons": len(set(groups_sim)),
            "features": per}


def simulated_readings(profiles: list[str] | tuple[str, ...], subjects: int, days: int, seed: int, n_slots: int,
                       min_beats: int, max_artifact_pct: float, clean_method: str = "kubios", min_rr_ms: float = 300.0,
                       max_rr_ms: float = 2000.0) -> dict[str, Any]:
    """Reading windows of a SYNTHETIC cohort of recording ``profiles`` (assigned to subjects in turn, as the
    data stage does), made as the real ones are (:func:`edgekit.data.real.hrv.split_readings` into
    one-minute readings, cleaning, reading windows). Returns ``X`` (K, n_slots), per reading its
    ``subject``, state ``label`` index and recording ``profile`` name."""
    cohort = synth.generate(subjects, days, seed, recordings=list(profiles))
    raw = cohort.table
    table = split_readings(raw)
    res = clean(table, clean_method, min_rr_ms, max_rr_ms)
    X, _, starts, _, _ = reading_windows(res.table, n_slots, min_beats, max_artifact_pct)
    # reading -> the cohort segment of its first beat -> subject, state and kind of recording
    first_row: dict[int, int] = {}
    for i, s in enumerate(table.segment.tolist()):
        first_row.setdefault(s, i)
    seg = raw.segment[[first_row[int(res.segment_origin[res.table.segment[s]])] for s in starts.tolist()]] \
        if len(starts) else np.zeros(0, np.int64)
    kinds = cohort.segment_kinds()[seg]
    return {"X": X, "subject": [str(cohort.subject_ids[cohort.seg_subject[g]]) for g in seg.tolist()],
            "label": cohort.seg_label[seg], "profile": [synth.RECORDINGS[k] for k in kinds.tolist()]}
