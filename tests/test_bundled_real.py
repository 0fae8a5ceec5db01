"""The bundled HRV models of a real build on the real HRV set (issue 21): their calibration goals are met.

Reads the build that ``make test`` makes first (fixture ``bundled_build``: ``EDGEKIT_TEST_BUILD``): the evaluate
stage ran each model on ``realdata/hrv`` and wrote ``build/<model>/evaluate/real.json``. Without a build
these tests skip and say why. The bundled Core ML variant is also run on a sample of the real readings and
must give the fp32 model's label on them, so the calibration holds for what ships.
"""

from pathlib import Path

import numpy as np
import pytest

from edgekit.tasks.real import load_real

REPO = Path(__file__).resolve().parent.parent
MODELS = ("hrv_reading", "hrv_slots")


def _build_or_skip(build: Path, model: str) -> Path:
    path = build / model / "evaluate" / "real.json"
    if not path.is_file():
        pytest.skip(f"{path} is absent: the build has no real-data evaluation of {model}")
    return build / model


@pytest.mark.parametrize("model", MODELS)
def test_bundled_model_meets_its_real_calibration_goals(model, bundled_build):
    evals = load_real(_build_or_skip(bundled_build, model))
    hrv = [e for e in evals if e.set == "hrv"]
    assert hrv, f"{model}: no evaluation on the real HRV set"
    calibration = [g for g in hrv[0].goals if "realism" not in g.name]  # the simulator's goal is measured, not asserted
    assert calibration
    assert {g.split for g in calibration} >= {"holdout", "tune"}
    missed = [f"{g.split}: {g.name}: {g.value} (goal {g.target})" for g in calibration if not g.met]
    assert not missed, "real-data calibration goals missed:\n" + "\n".join(missed)


def test_bundled_classifier_variant_keeps_the_calibrated_labels(bundled_build):
    model_dir = _build_or_skip(bundled_build, "hrv_reading")
    from edgekit.config.load import load_config
    from edgekit.data.real.hrv import load_readings
    from edgekit.data.real.manifest import load_set
    from edgekit.verify.selection import select_variant
    from edgekit.run.predict import load_runner

    import tomllib

    cfg = load_config(REPO / "configs" / "hrv_reading.toml")
    budget = next(m["max_kb"] for m in tomllib.loads((REPO / "edgekit.toml").read_text())["package"]["models"]
                  if m["config"].endswith("hrv_reading.toml"))
    variant = select_variant(cfg.name, model_dir, budget).variant
    r = load_readings(load_set(REPO / "realdata" / "hrv"), 128, int(cfg.model.params["min_beats"]),
                      cfg.data.max_artifact_pct, cfg.data.clean, cfg.data.min_rr_ms, cfg.data.max_rr_ms)
    idx = np.random.default_rng(0).choice(len(r), 120, replace=False)
    X = r.X[np.sort(idx)]
    ref = load_runner(cfg, bundled_build).run(X).argmax(axis=1)
    got = load_runner(cfg, bundled_build, variant).run(X).argmax(axis=1)
    assert np.mean(ref == got) >= 0.97, f"bundled variant {variant} changes the label of {np.mean(ref != got):.1%} of real readings"
