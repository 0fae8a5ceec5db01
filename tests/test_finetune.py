"""Fine-tuning: a population forecaster adapted to one atypical person beats it on their held-out days."""

from __future__ import annotations

import json
import subprocess

import pytest

from edgekit.pipeline.build import run_stage
from edgekit.config.load import load_config
from edgekit.core.errors import EdgekitError
from edgekit.train.finetune import chronological_split
from helpers import run_edgekit as _edgekit

SMALL_LSTM = """
[model]
name = "lstm_small"
type = "fatigue_lstm"
[model.params]
hidden_size = 24
n_layers = 1
dropout = 0.0
[data]
subjects = 16
days = 8
seed = 3
[train]
epochs = 25
batch_size = 32
lr = 0.005
patience = 6
threads = 1
"""


@pytest.fixture(scope="module")
def population(tmp_path_factory):
    """A small population forecaster, trained once for the module."""
    root = tmp_path_factory.mktemp("ft")
    cfg_path = root / "lstm_small.toml"
    cfg_path.write_text(SMALL_LSTM)
    cfg = load_config(cfg_path)
    build = root / "build"
    run_stage(cfg, "data", build)
    run_stage(cfg, "train", build)
    return root, cfg_path, build


def _finetune(population, seed: int, days: int = 24) -> tuple[subprocess.CompletedProcess, dict]:
    root, cfg_path, build = population
    person = f"person_{seed}.csv"
    synth = _edgekit("data", "synth", "--out", person, "--subjects", "1", "--days", str(days), "--seed", str(seed),
                     "--profile", "atypical", "--force", cwd=root)
    assert synth.returncode == 0, synth.stderr
    proc = _edgekit("train", "--config", str(cfg_path), "--out", str(build),
                    "--init-from", str(build / "lstm_small/train/model.pt"), "--data", person, cwd=root)
    metrics = json.loads((build / "lstm_small_personal/train/metrics.json").read_text())
    return proc, metrics


@pytest.mark.slow
def test_personal_model_beats_population_on_held_out_days(population):
    proc, metrics = _finetune(population, seed=7)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert metrics["accepted"] is True
    assert metrics["n_windows"]["test"] >= 10
    assert metrics["mae"] < 0.8 * metrics["population_mae"], metrics
    assert metrics["mae"] < metrics["baseline_mae"], metrics  # and beats persistence
    assert "population" in proc.stdout and "persistence" in proc.stdout and "personal" in proc.stdout
    _, _, build = population
    # the population checkpoint is untouched; the personal one is its own model
    assert (build / "lstm_small_personal/train/model.pt").is_file()
    assert json.loads((build / "lstm_small/.stamps/train.json").read_text())["stage"] == "train"


@pytest.mark.slow
def test_personal_model_worse_than_persistence_is_not_written(population):
    """Round 1 printed 'population 8.6 → personal 6.5' and wrote a personal model that persistence
    (6.1) beat. This person (seed 99): fine-tuning beats the population model but not persistence."""
    proc, metrics = _finetune(population, seed=99)
    assert proc.returncode == 1
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("edgekit: error:") and "not written" in line
    for needle in ("population", "persistence", "personal"):
        assert needle in line, line
    assert metrics["accepted"] is False
    assert metrics["mae"] < metrics["population_mae"] and metrics["mae"] >= metrics["baseline_mae"], metrics
    _, _, build = population
    assert not (build / "lstm_small_personal/train/model.pt").exists()


def test_data_without_init_from_is_refused(tmp_path):
    cfg_path = tmp_path / "lstm_small.toml"
    cfg_path.write_text(SMALL_LSTM)
    proc = _edgekit("train", "--config", str(cfg_path), "--data", "x.csv", cwd=tmp_path)
    assert proc.returncode == 1 and "--init-from" in proc.stderr


def test_missing_person_file_is_one_line_error(tmp_path):
    cfg_path = tmp_path / "lstm_small.toml"
    cfg_path.write_text(SMALL_LSTM)
    ckpt = tmp_path / "pop.pt"
    ckpt.write_bytes(b"")
    proc = _edgekit("train", "--config", str(cfg_path), "--init-from", str(ckpt), "--data", "nope.csv", cwd=tmp_path)
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1


def test_chronological_split_keeps_time_order():
    ids = chronological_split(40)
    assert ids["train"].max() < ids["val"].min() and ids["val"].max() < ids["test"].min()
    assert len(ids["train"]) + len(ids["val"]) + len(ids["test"]) == 40
    with pytest.raises(EdgekitError, match="more of this person's data"):
        chronological_split(3)
