"""Task specs: one per model type, registered in one place; stages ask the spec, never a type string."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import edgekit.models
from edgekit.pipeline.build import run_data_stage, run_stage
from edgekit.config.load import ConfigError, load_config
from edgekit.tasks import TASKS, task_for
from edgekit.tasks.roles import CLASSIFIER, FORECASTER, REGRESSOR, ROLES, role_named, swift_encoding

PKG = Path(__file__).resolve().parent.parent / "edgekit"

SHORT_LSTM = """
[model]
name = "lstm12"
type = "fatigue_lstm"
[model.params]
sequence_hours = 12
hidden_size = 8
n_layers = 1
[data]
subjects = 6
days = 4
seed = 3
series_stride_hours = 6
[train]
epochs = 2
batch_size = 32
patience = 1
"""


def test_model_type_strings_live_only_in_models_and_the_registry():
    """No stage tests a model-type string: only edgekit/models/ and edgekit/tasks/ name a type."""
    offenders = []
    for f in sorted(PKG.rglob("*.py")):
        rel = f.relative_to(PKG).as_posix()
        if rel.startswith(("models/", "tasks/")):
            continue
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and any(
                    f'"{t}"' in repr(node.value).replace("'", '"') or node.value == t for t in TASKS):
                offenders.append(f"{rel}:{node.lineno}")
    assert offenders == []


def test_role_names_live_only_in_the_task_specs():
    """No stage tests a role's name (it asks the role object, edgekit.tasks.roles): only edgekit/tasks/
    names a role, and ``.classifier`` is gone."""
    offenders = []
    for f in sorted(PKG.rglob("*.py")):
        rel = f.relative_to(PKG).as_posix()
        if rel.startswith("tasks/"):
            continue
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in ROLES:
                offenders.append(f"{rel}:{node.lineno} {node.value!r}")
            elif isinstance(node, ast.Attribute) and node.attr == "classifier":
                offenders.append(f"{rel}:{node.lineno} .classifier")
    assert offenders == []


def test_roles_are_objects_each_task_names():
    assert set(ROLES) == {"classifier", "forecaster", "regressor"}
    assert {spec.role for spec in TASKS.values()} <= set(ROLES.values())
    assert all(ROLES[spec.role.name] is spec.role for spec in TASKS.values())
    assert [r.swift_case for r in ROLES.values()] == ["strainClassifier", "fatigueForecaster", "heartRatePredictor"]
    assert CLASSIFIER.has_labels and not FORECASTER.has_labels and not REGRESSOR.has_labels
    assert role_named("forecaster") is FORECASTER
    with pytest.raises(Exception, match="unknown role"):
        role_named("ranker")
    # tolerance: the variant family's floor, or twice the measured difference plus headroom
    assert CLASSIFIER.tolerance("fp32", None) == 1e-3 and CLASSIFIER.tolerance("int8", 0.1) == pytest.approx(0.201)
    assert FORECASTER.tolerance("fp16", 0.01) == 0.5 and REGRESSOR.tolerance("w4", 3.0) == pytest.approx(6.05)
    # the prediction record each role's task spec writes, as edgekit predict prints it
    strain, fatigue = task_for("strain_transformer"), task_for("fatigue_lstm")
    rec = strain.prediction(np.array([0.7, 0.2, 0.1]), ["healthy", "strained", "burnout_risk"])
    assert strain.role.prediction_text(rec) == "healthy       healthy 0.700  strained 0.200  burnout_risk 0.100"
    assert fatigue.role.prediction_text(fatigue.prediction(np.array([72.25]), [])) == "score  72.2  green"
    assert swift_encoding("reading", 45) == ".reading(minBeats: 45)" and swift_encoding("beat_window", None) == ".beatWindow"


def test_one_registry_of_model_types():
    """edgekit.tasks.TASKS is the only list of model types: edgekit.models keeps none, and each spec
    builds its model (its module imported when asked)."""
    assert not hasattr(edgekit.models, "MODEL_TYPES") and not hasattr(edgekit.models, "build_model")
    for name, spec in TASKS.items():
        model = spec.build_model({})
        assert type(model.config) is spec.params_class(), name


def test_every_task_declares_its_contract():
    for name, spec in TASKS.items():
        assert spec.type == name and spec.role.name in ("classifier", "forecaster", "regressor")
        assert spec.input_name in ("rr_sequence", "activity_sequence")
        params = {}
        assert spec.input_shape(params)[0] == 1 and spec.input_shape(params)[2] == spec.input_channels
        assert spec.primary_metric in spec.report_metrics
        assert len(spec.fixture_cases(spec.input_length(params))) >= 32
    with pytest.raises(Exception, match="unknown model type"):
        task_for("gru_of_the_future")


def test_loading_a_config_does_not_import_torch():
    code = ("import sys; from edgekit.config.load import load_config; load_config('configs/hrv_lstm.toml'); "
            "load_config('configs/hrv_transformer.toml'); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=PKG.parent, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_sequence_hours_sets_the_data_stage_and_training(tmp_path):
    """B1: model.params.sequence_hours = 12 made 24-hour series (hard-coded) and only training failed."""
    cfg_path = tmp_path / "lstm12.toml"
    cfg_path.write_text(SHORT_LSTM)
    cfg = load_config(cfg_path)
    summary = run_data_stage(cfg, tmp_path / "build")
    assert summary["series_hours"] == 12
    with np.load(tmp_path / "build" / "lstm12" / "data" / "windows.npz") as z:
        assert z["X"].shape[1] == 12
    run_stage(cfg, "train", tmp_path / "build")
    assert (tmp_path / "build" / "lstm12" / "train" / "model.pt").is_file()


@pytest.mark.parametrize("key,value,needle", [
    ("series_stride_hours", 0, "series_stride_hours"),
    ("window_stride", 0, "window_stride"),
    ("max_artifact_pct", -1.0, "max_artifact_pct"),
])
def test_invalid_data_values_are_refused_at_load(tmp_path, key, value, needle):
    p = tmp_path / "bad.toml"
    p.write_text(SHORT_LSTM.replace("[data]\n", f"[data]\n{key} = {value}\n").replace(
        "series_stride_hours = 6\n", "" if key == "series_stride_hours" else "series_stride_hours = 6\n"))
    with pytest.raises(ConfigError, match=needle):
        load_config(p)
