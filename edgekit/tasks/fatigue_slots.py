"""Fatigue forecaster on irregular readings (``fatigue_slots``): RMSSD of the last T local clock
hours, absent hours 0 — ``(1, T, 1)`` → ``fatigue_score`` 0–100 for the next 24 h (model:
:mod:`edgekit.models.fatigue_slots`; encoding: docs/data.md "Hourly slots")."""

from __future__ import annotations

from typing import Any

import numpy as np

from edgekit import INPUT_NAME
from edgekit.core.errors import InputError
from edgekit.models.params import FatigueSlotsConfig
from edgekit.tasks.fatigue import FatigueTask, forecaster_cases
from edgekit.tasks.metrics import forecast_metrics

# Deferred on purpose: torch, scikit-learn, the torch model modules and the data layer's modules are
# imported inside the methods that use them. Config loading imports every task spec; with these at
# module level `import edgekit.config.load` loads 970 modules (scipy among them) instead of 225.


class FatigueSlotsTask(FatigueTask):
    type = "fatigue_slots"
    clock_hours = True
    title = "fatigue forecaster (irregular readings)"
    fixture_description = "hourly RMSSD slots (local clock hours), oldest first, 0 = no reading that hour"
    swift_input = "hourly_slots"
    presence_unit = "hours"
    swift_input_param = "min_present_hours"
    coverage_key = "forecast_input_slots"
    coverage_key_given_3_readings = "forecast_input_slots_given_3_readings"

    @staticmethod
    def params_class() -> type:
        return FatigueSlotsConfig

    def build_model(self, raw):
        from edgekit.models.fatigue_slots import FatigueSlotsLSTM

        return FatigueSlotsLSTM(self.params(raw))

    def examples(self, cfg):
        from edgekit.data.hourly_examples import HourlySlots

        return HourlySlots(cfg, self.input_length(cfg.model.params), self.params(cfg.model.params).min_present_hours)

    def normalization(self, X, y=None):
        v = np.log(X[X > 0])
        return {"log_rmssd_mean": float(v.mean()), "log_rmssd_std": float(v.std())}

    def metadata(self, params, meta):
        out = super().metadata(params, meta)
        hours = self.input_length(params)
        out["edgekit.window_unit"] = "hours (local clock, 0 = absent)"
        out["edgekit.min_present_hours"] = str(self.params(params).min_present_hours)
        out["input_description"] = (f"RMSSD (ms) of each of the last {hours} local clock hours, oldest first, 0 for "
                                    f"an hour without a reading, shape (1, {hours}, 1)")
        return out

    def example_input(self, module):
        x = super().example_input(module)
        x[0, ::3, 0] = 0.0
        return x

    def fixture_cases(self, length: int) -> list[dict]:
        cases = forecaster_cases(length)
        rng = np.random.default_rng(7)
        for c in list(cases)[:16]:
            x = np.asarray(c[INPUT_NAME], float)
            keep = rng.random(length) < 0.3
            keep[-1] = True
            cases.append({"name": c["name"] + "_sparse", "kind": c["kind"], INPUT_NAME: np.where(keep, x, 0.0).tolist()})
        return cases

    def model_inputs(self, cfg, cleaned, where, utc_offset_s: float = 0.0):
        """One input per subject: the ``hours`` local clock hours up to the hour of its last beat
        (``utc_offset_s``: the wearer's offset from UTC; start/end times are UTC epoch seconds)."""
        from edgekit.data.signal.windows import MIN_SLOT_DIFFS, hourly_rmssd, hourly_slots

        hours = self.input_length(cfg.model.params)
        need = self.params(cfg.model.params).min_present_hours
        hr = hourly_rmssd(cleaned, cfg.data.max_artifact_pct, MIN_SLOT_DIFFS, utc_offset_s=utc_offset_s)
        xs, info = [], []
        for s, (h0, r) in hr.items():  # one forecast per subject: the hours up to its last beat
            e = h0 + len(r)
            x = hourly_slots(hr, s, e, hours)
            if (x > 0).sum() >= need:
                xs.append(x)
                info.append({"subject": str(s), "start_time_s": float((e - hours) * 3600 - utc_offset_s),
                             "end_time_s": float(e * 3600 - utc_offset_s), "utc_offset_s": float(utc_offset_s),
                             "present_hours": int((x > 0).sum())})
        if not xs:
            raise InputError(f"{where}: no hour of the last {hours} holds an RMSSD ({need} needed)")
        return np.array(xs, np.float32), info

    def evaluate_real(self, cfg, predict, real_set):
        """Watch-like days of the 24 h recordings of a real HRV set: share of healthy adults' days in the
        red zone (:mod:`edgekit.tasks.hrv_real`); None for a set without RR recordings."""
        from edgekit.tasks.hrv_real import forecaster_evaluation, is_rr_set

        return forecaster_evaluation(cfg, predict, real_set) if is_rr_set(real_set) else None

    def heldout_report(self, predict, arrays, test_ids, labels) -> dict[str, Any]:
        from edgekit.data.synth.coverage import summarize
        from edgekit.data.synth.cohort import RECORDINGS

        m = np.isin(arrays["subject"], test_ids) & (arrays["aug"] == 0)
        X, y, yt = arrays["X"][m].astype(np.float32), arrays["y"][m], arrays["y_today"][m]
        kind, n24 = arrays["kind"][m], arrays["readings_24h"][m]
        pred = predict(X)[:, 0]
        per: dict[str, Any] = {}
        for k, name in [(None, "all")] + list(enumerate(RECORDINGS)):
            for tag, extra in (("", np.ones(len(y), bool)), ("_with_3_readings_24h", n24 >= 3)):
                sel = extra & (np.ones(len(y), bool) if k is None else kind == k)
                if sel.sum() == 0:
                    continue
                f = forecast_metrics(y[sel], pred[sel], yt[sel])
                per[name + tag] = {"wakeups": int(sel.sum()), "mae": round(f["mae"], 3),
                                   "persistence_mae": round(f["baseline_mae"], 3),
                                   "mae_vs_persistence": round(f["mae_vs_baseline"], 4) if f["mae_vs_baseline"] else None,
                                   "zone_accuracy": round(f["zone_accuracy"], 4)}
        return {"coverage": summarize(arrays, test_ids), "per_profile": per}


