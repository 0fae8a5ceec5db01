"""Strain classifier on single readings (``strain_reading``): a reading's RR ms in N slots, then
absent markers (0 ms) — ``(1, N, 1)`` → probabilities over healthy / strained / burnout_risk
(model: :mod:`edgekit.models.strain_reading`; encoding: docs/data.md "Reading windows")."""

from __future__ import annotations

from typing import Any

import numpy as np

from edgekit import INPUT_NAME
from edgekit.core.errors import InputError
from edgekit.core.log import plural
from edgekit.models.params import StrainReadingConfig
from edgekit.tasks.metrics import classification_metrics
from edgekit.tasks.strain import FIXTURE_SEED, StrainTask, strain_cases

# Deferred on purpose: torch, scikit-learn, the torch model modules and the data layer's modules are
# imported inside the methods that use them. Config loading imports every task spec; with these at
# module level `import edgekit.config.load` loads 970 modules (scipy among them) instead of 225.

CURVE_BEATS = (16, 24, 32, 40, 45, 55, 64, 80, 96, 128)
CROP_STREAM = 0xC209  # train.crop_fraction: generator default_rng([train.seed, CROP_STREAM, epoch])


class StrainReadingTask(StrainTask):
    type = "strain_reading"
    crops_readings = True
    calibrates = True
    title = "strain classifier (single readings)"
    input_noun = "reading"
    fixture_description = "one reading's RR intervals, then 0 (absent) slots"
    swift_input = "reading"
    presence_unit = "beats"
    swift_input_param = "min_beats"
    coverage_key = "strain_input_reading"

    @staticmethod
    def params_class() -> type:
        return StrainReadingConfig

    def build_model(self, raw):
        from edgekit.models.strain_reading import StrainReadingTransformer

        return StrainReadingTransformer(self.params(raw))

    def examples(self, cfg):
        from edgekit.data.beat_examples import ReadingWindows

        return ReadingWindows(cfg, self.input_length(cfg.model.params), self.params(cfg.model.params).min_beats)

    def augmenter(self, cfg):
        """``train.crop_fraction`` > 0: every epoch that fraction of the training windows is cut to
        a random shorter reading (:func:`edgekit.data.signal.windows.crop_readings`), so the long
        recordings (spot, strap, breathe) also teach watch-length readings."""
        from edgekit.data.signal.windows import crop_readings

        fraction, seed = float(cfg.train.crop_fraction), int(cfg.train.seed)
        if fraction <= 0:
            return None
        mb = self.params(cfg.model.params).min_beats

        def crop(X: np.ndarray, epoch: int) -> np.ndarray:
            return crop_readings(X, mb, np.random.default_rng([seed, CROP_STREAM, epoch]), fraction)

        return crop

    def normalization(self, X: np.ndarray, y=None) -> dict[str, float]:
        present = X > 0
        both = present[:, 1:] & present[:, :-1]
        d = np.diff(X, axis=1)[both]
        return {"rr_mean_ms": float(X[present].mean()), "rr_std_ms": float(X[present].std()),
                "drr_std_ms": float(d.std()) if d.size else 40.0}

    def metadata(self, params, meta):
        out = super().metadata(params, meta)
        n = self.input_length(params)
        mb = self.params(params).min_beats
        out["edgekit.window_unit"] = "beats (one reading, 0 = absent)"
        out["edgekit.min_beats"] = str(mb)
        out["input_description"] = (f"One reading's RR intervals in milliseconds (at least {mb}, the newest {n} "
                                    f"when longer), oldest first, then 0 (absent) up to {n} slots, shape (1, {n}, 1)")
        return out

    def example_input(self, module):
        import torch

        n = module.config.window_beats
        t = torch.arange(n, dtype=torch.float32)
        x = 800.0 + 40.0 * torch.sin(t / 4.0)
        x[max(module.config.min_beats, n // 2):] = 0.0
        return x.reshape(1, n, 1)

    def fixture_cases(self, length: int) -> list[dict]:
        return reading_cases(length)

    def model_inputs(self, cfg, cleaned, where):
        """One input per reading (a heartbeat series; a longer recording cut into consecutive readings
        of N beats ending with its newest: ``reading_windows(every=True)``), oldest first."""
        from edgekit.data.signal.windows import reading_windows

        d = cfg.data
        n = self.input_length(cfg.model.params)
        mb = self.params(cfg.model.params).min_beats
        t = cleaned
        X, _, starts, lens, n_excl = reading_windows(t, n, mb, d.max_artifact_pct, every=True)
        if len(X) == 0:
            longest = int(np.diff(t.segment_bounds()).max()) if len(t) else 0
            raise InputError(f"{where}: no reading with {mb} clean beats: the longest clean segment has {longest}"
                             + (f", {plural(n_excl, 'reading')} had more than {d.max_artifact_pct:g} % artifacts" if n_excl else ""))
        info = [{"subject": str(t.subject[s]), "start_time_s": float(t.time_s[s]),
                 "end_time_s": float(t.time_s[s + k - 1]), "beats": int(k)} for s, k in zip(starts.tolist(), lens.tolist())]
        return X.astype(np.float32), info

    def calibrate(self, cfg, model, predict, val, labels):
        """``train.calibrate_on``: class offsets fitted on the real sets' tune persons
        (:func:`edgekit.tasks.hrv_real.calibrate_classifier`), added to the output layer's bias, so the
        Core ML model and HRVKit carry them with no new input, output or code."""
        if not cfg.train.calibrate_on:
            return None
        import torch

        from edgekit.tasks.hrv_real import calibrate_classifier

        rec = calibrate_classifier(cfg, predict, val.X, val.y)
        with torch.no_grad():
            model.head.bias += torch.tensor(rec["offsets"], dtype=model.head.bias.dtype)
        return rec

    def evaluate_real(self, cfg, predict, real_set):
        """One-minute readings of a real HRV set: calibration on healthy adults, stress ranking, the
        simulator's realism (:mod:`edgekit.tasks.hrv_real`); None for a set without RR recordings."""
        from edgekit.tasks.hrv_real import is_rr_set, strain_evaluation

        return strain_evaluation(cfg, predict, real_set) if is_rr_set(real_set) else None

    # held-out figures per recording profile (train stage, metrics.json)
    def heldout_report(self, predict, arrays, test_ids, labels) -> dict[str, Any]:
        from edgekit.data.synth.coverage import summarize
        from edgekit.data.synth.cohort import RECORDINGS

        m = np.isin(arrays["subject"], test_ids)
        X, y = arrays["X"][m].astype(np.float32), arrays["y"][m]
        kind, nb, day, reading, sub = (arrays[k][m] for k in ("kind", "n_beats", "day", "reading", "subject"))
        p = predict(X)
        per: dict[str, Any] = {}
        for k, name in [(None, "all")] + list(enumerate(RECORDINGS)):
            sel = np.ones(len(y), bool) if k is None else kind == k
            if not sel.any():
                continue
            # one window per reading: the longest (a reading split by cleaning has several)
            idx = np.flatnonzero(sel)
            order = idx[np.lexsort((-nb[idx], reading[idx]))]
            first = order[np.concatenate([[True], reading[order][1:] != reading[order][:-1]])]
            r = classification_metrics(y[first], p[first].argmax(1), labels)
            # per day: mean log-probability over the day's readings
            keys = sub[first] * 10000 + day[first]
            uk, inv = np.unique(keys, return_inverse=True)
            lp = np.zeros((len(uk), p.shape[1]))
            np.add.at(lp, inv, np.log(np.clip(p[first], 1e-8, None)))
            yd = np.zeros(len(uk), np.int64)
            yd[inv] = y[first]
            dm = classification_metrics(yd, lp.argmax(1), labels)
            per[name] = {"readings": int(len(first)), "macro_f1_per_reading": round(r["macro_f1"], 4),
                         "accuracy_per_reading": round(r["accuracy"], 4), "days": int(len(uk)),
                         "macro_f1_per_day": round(dm["macro_f1"], 4), "accuracy_per_day": round(dm["accuracy"], 4),
                         "median_beats": float(np.median(nb[first]))}
        # accuracy vs beats: every held-out window with >= k beats, cut to its first k
        curve = []
        for k in CURVE_BEATS:
            if k > X.shape[1]:
                break
            sel = nb >= k
            if sel.sum() < 20:
                continue
            Xk = X[sel].copy()
            Xk[:, k:] = 0.0
            r = classification_metrics(y[sel], predict(Xk).argmax(1), labels)
            w = sel & (kind == RECORDINGS.index("watch"))
            row = {"beats": k, "windows": int(sel.sum()), "macro_f1": round(r["macro_f1"], 4)}
            if w.sum() >= 20:
                Xw = X[w].copy()
                Xw[:, k:] = 0.0
                row["watch_windows"] = int(w.sum())
                row["watch_macro_f1"] = round(classification_metrics(y[w], predict(Xw).argmax(1), labels)["macro_f1"], 4)
            curve.append(row)
        return {"coverage": summarize(arrays, test_ids), "per_profile": per, "accuracy_vs_beats": curve}


def reading_cases(n: int, seed: int = FIXTURE_SEED) -> list[dict]:
    """≥ 32 reading inputs of ``n`` slots: realistic windows cut to reading lengths (45–n beats)
    followed by 0 (absent) slots, and edge cases (all absent after 45 beats, full window)."""
    rng = np.random.default_rng(seed + 2)
    out = []
    for c in strain_cases(n, seed):
        x = np.asarray(c[INPUT_NAME], float)
        k = int(rng.integers(min(45, n), n + 1)) if c["kind"] == "realistic" else n
        x[k:] = 0.0
        out.append({"name": c["name"] + (f"_{k}beats" if k < n else ""), "kind": c["kind"],
                    INPUT_NAME: np.round(x, 1).tolist()})
    base = np.asarray(strain_cases(n, seed)[0][INPUT_NAME], float)
    for k in sorted({min(45, n), min(64, n), n}):
        x = base.copy()
        x[k:] = 0.0
        out.append({"name": f"rest_exactly_{k}beats", "kind": "edge", INPUT_NAME: np.round(x, 1).tolist()})
    return out
