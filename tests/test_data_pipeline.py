"""The data stage on a small synthetic cohort."""

import json

import numpy as np

from edgekit.pipeline.build import run_data_stage
from edgekit.config.load import load_config
from helpers import CONFIG_OF, SMALL_COHORT, bundled_config


def _cfg(tmp_path, kind):
    return load_config(bundled_config(tmp_path, CONFIG_OF[kind], SMALL_COHORT, stem=kind))


def test_classifier_windows_deterministic(tmp_path):
    cfg = _cfg(tmp_path, "strain")
    s1 = run_data_stage(cfg, tmp_path / "b1")
    s2 = run_data_stage(cfg, tmp_path / "b2")
    assert s1["fingerprint"] == s2["fingerprint"]
    d = np.load(tmp_path / "b1" / cfg.name / "data" / "windows.npz")
    assert d["X"].dtype == np.float32 and d["X"].shape[1] == 128
    assert d["y"].dtype == np.int64 and set(d["y"].tolist()) <= {0, 1, 2}
    assert list(d["label_names"]) == ["healthy", "strained", "burnout_risk"]
    summ = json.loads((tmp_path / "b1" / cfg.name / "data" / "summary.json").read_text())
    assert summ["n_windows"] == len(d["y"]) and "n_excluded_artifact" in summ and summ["synthetic"]
    assert sum(summ["class_counts"].values()) == summ["n_windows"]


def test_forecaster_series(tmp_path):
    cfg = _cfg(tmp_path, "lstm")
    s = run_data_stage(cfg, tmp_path / "b")
    d = np.load(tmp_path / "b" / cfg.name / "data" / "windows.npz")
    assert d["X"].shape[1] == 24 and len(d["y"]) == len(d["y_today"]) == s["n_windows"] > 0
    assert np.all((d["y"] >= 0) & (d["y"] <= 100))
