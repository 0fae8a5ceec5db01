"""Task specs: one per model type, registered in one place; stages ask the spec, never a type string."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgekit.pipeline.build import run_data_stage, run_stage
from edgekit.config.load import ConfigError, load_config
from edgekit.tasks import TASKS, task_for

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


def test_every_task_declares_its_contract():
    for name, spec in TASKS.items():
        assert spec.type == name and spec.role in ("classifier", "forecaster", "regressor")
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
