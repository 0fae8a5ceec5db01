"""Training: subject-wise split, determinism, config validation, checkpoint round trip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from edgekit.config.load import ConfigError, load_config
from edgekit.core.errors import EdgekitError
from edgekit.models.checkpoint import load_checkpoint
from edgekit.tasks import task_for
from edgekit.tasks.metrics import classification_metrics
from edgekit.train.fit import run, split_by_subject

TINY_TRANSFORMER = """
[model]
name = "tiny_tf"
type = "strain_transformer"
[model.params]
window_beats = 32
patch_beats = 4
d_model = 16
n_heads = 2
n_layers = 1
ff_dim = 32
[data]
subjects = 12
[train]
seed = {seed}
epochs = 3
batch_size = 32
patience = 2
"""


def _write_windows(path: Path, n: int = 600, steps: int = 32, seed: int = 0) -> None:
    """Small separable classifier data: three RR levels/variabilities, 12 subjects."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    mean = np.array([850.0, 760.0, 690.0])[y] + rng.normal(0, 20, n)
    sd = np.array([45.0, 30.0, 18.0])[y]
    X = (mean[:, None] + sd[:, None] * rng.standard_normal((n, steps))).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        X=X,
        y=y.astype(np.int64),
        subject=rng.integers(0, 12, n).astype(np.int64),
        label_names=np.array(["healthy", "strained", "burnout_risk"]),
    )


@pytest.fixture
def tiny(tmp_path: Path):
    def make(seed: int = 0, out: str = "build"):
        cfg_path = tmp_path / "configs" / f"tiny_{seed}.toml"
        cfg_path.parent.mkdir(exist_ok=True)
        cfg_path.write_text(TINY_TRANSFORMER.format(seed=seed))
        build = tmp_path / out
        _write_windows(build / "tiny_tf" / "data" / "windows.npz")
        return load_config(cfg_path), build

    return make


def test_split_is_subject_wise_and_complete():
    subjects = np.repeat(np.arange(20), 5)
    ids = split_by_subject(subjects, 0.2, 0.2, seed=3)
    sets = [set(ids[k].tolist()) for k in ("train", "val", "test")]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    assert set().union(*sets) == set(range(20))
    assert len(ids["test"]) == 4 and len(ids["val"]) == 4


def test_split_needs_three_subjects():
    with pytest.raises(EdgekitError, match="at least 3 subjects"):
        split_by_subject(np.array([0, 0, 1]), 0.2, 0.2, seed=0)


def test_same_seed_gives_identical_weights(tiny):
    cfg_a, build_a = tiny(seed=5, out="a")
    cfg_b, build_b = tiny(seed=5, out="b")
    run(cfg_a, build_a)
    run(cfg_b, build_b)
    a = torch.load(build_a / "tiny_tf/train/model.pt", weights_only=True)["state_dict"]
    b = torch.load(build_b / "tiny_tf/train/model.pt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert (build_a / "tiny_tf/train/metrics.json").read_text() == (build_b / "tiny_tf/train/metrics.json").read_text()


def test_different_seed_gives_different_weights(tiny):
    cfg_a, build_a = tiny(seed=1, out="a")
    cfg_b, build_b = tiny(seed=2, out="b")
    run(cfg_a, build_a)
    run(cfg_b, build_b)
    a = torch.load(build_a / "tiny_tf/train/model.pt", weights_only=True)["state_dict"]
    b = torch.load(build_b / "tiny_tf/train/model.pt", weights_only=True)["state_dict"]
    assert not torch.equal(a["embed.weight"], b["embed.weight"])


def test_checkpoint_round_trip_and_outputs(tiny):
    cfg, build = tiny()
    run(cfg, build)
    model, meta = load_checkpoint(build / "tiny_tf/train/model.pt", task_for)
    assert meta["label_names"] == ["healthy", "strained", "burnout_risk"]
    assert meta["normalization"]["rr_mean_ms"] == pytest.approx(float(model.rr_mean_ms))
    x = torch.full((1, 32, 1), 800.0)
    with torch.no_grad():
        probs = model(x)
    assert probs.shape == (1, 3) and float(probs.sum()) == pytest.approx(1.0, abs=1e-6)
    for name in ("metrics.json", "history.json", "test_set.npz", "split.json"):
        assert (build / "tiny_tf/train" / name).is_file()


def test_corrupt_checkpoint_is_one_line_error(tmp_path):
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(EdgekitError, match="model.pt"):
        load_checkpoint(bad, task_for)


def test_missing_windows_is_clear(tiny, tmp_path):
    cfg, _ = tiny()
    with pytest.raises(EdgekitError, match="windows not found"):
        run(cfg, tmp_path / "nowhere")


@pytest.mark.parametrize(
    "params, message",
    [
        ("d_model = -8", "d_model must be positive"),
        ("d_model = 30\nn_heads = 4", "must divide d_model"),
        ("patch_beats = 5", "must divide window_beats"),
        ("widht = 3", "unknown key"),
        ("d_model = 'wide'", "must be an integer"),
    ],
)
def test_bad_model_params_refused_before_training(tmp_path, params, message):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(f'[model]\nname = "m"\ntype = "strain_transformer"\n[model.params]\n{params}\n')
    with pytest.raises(ConfigError, match=message):
        load_config(cfg)


def test_unknown_model_type_refused(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[model]\nname = "m"\ntype = "resnet"\n')
    with pytest.raises(ConfigError, match="unknown model.type"):
        load_config(cfg)


def test_cli_reports_bad_config_in_one_line(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[model]\nname = "m"\ntype = "fatigue_lstm"\n[train]\nepochs = -1\n')
    proc = subprocess.run(
        [sys.executable, "-m", "edgekit", "train", "--config", str(cfg), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0
    assert "train.epochs must be >= 1" in proc.stderr


def test_classification_metrics_by_hand():
    m = classification_metrics(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2]), ["a", "b", "c"])
    assert m["accuracy"] == 0.75
    assert m["confusion"] == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    assert m["recall"] == {"a": 0.5, "b": 1.0, "c": 1.0}
    assert m["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1.0) / 3)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_torchrun_two_processes_matches_one(tiny, tmp_path):
    """DistributedDataParallel (gloo, 2 ranks) trains a model as good as one process."""
    cfg, build_single = tiny(seed=4, out="single")
    run(cfg, build_single)
    _write_windows(tmp_path / "ddp" / "tiny_tf" / "data" / "windows.npz")
    proc = subprocess.run(
        [
            sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={_free_port()}",
            "-m", "edgekit", "train", "--config", str(cfg.path), "--out", str(tmp_path / "ddp"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    import json

    single = json.loads((build_single / "tiny_tf/train/metrics.json").read_text())
    ddp = json.loads((tmp_path / "ddp/tiny_tf/train/metrics.json").read_text())
    assert ddp["macro_f1"] >= single["macro_f1"] - 0.05
    assert ddp["macro_f1"] > 0.8


TINY_SYNTH = """
[model]
name = "{name}"
type = "{type}"
[model.params]
{params}
[data]
subjects = 6
days = 2
seed = {seed}
[train]
seed = 0
epochs = 2
batch_size = 32
patience = 1
"""


@pytest.mark.slow
def test_models_built_side_by_side_are_identical_to_one_after_another(tmp_path):
    """``edgekit build --jobs 2``: spawned workers, one model each; every output is the bytes of a serial
    build (each model trains with its own threads and seed in its own directory). The serial build runs
    first, so the parent has run torch before the workers start (a fork would hang there)."""
    import edgekit.pipeline.build as build_mod
    from edgekit.core.fileio import sha256_tree

    specs = [("tiny_tf", "strain_transformer", "window_beats = 32\npatch_beats = 4\nd_model = 16\nn_heads = 2\n"
              "n_layers = 1\nff_dim = 32", 3),
             ("tiny_lstm", "fatigue_lstm", "sequence_hours = 12\nhidden_size = 8", 4)]
    cfgs = []
    for name, type_, params, seed in specs:
        p = tmp_path / f"{name}.toml"
        p.write_text(TINY_SYNTH.format(name=name, type=type_, params=params, seed=seed))
        cfgs.append(load_config(p))
    trees = {}
    for jobs in (1, 2):
        out = tmp_path / f"build{jobs}"
        assert build_mod.build_models(cfgs, out, jobs=jobs, stages=("data", "train")) == []
        trees[jobs] = {c.name: {f: sha256_tree(out / c.name / f)
                                for f in ("data/windows.npz", "train/model.pt", "train/metrics.json")} for c in cfgs}
        assert all((out / c.name / ".stamps" / "train.json").is_file() for c in cfgs)
    assert trees[1] == trees[2]


def test_build_jobs_bounds(monkeypatch):
    import os
    from types import SimpleNamespace

    from edgekit.pipeline.build import build_jobs

    cfgs = [SimpleNamespace(train=SimpleNamespace(threads=2)) for _ in range(3)]
    assert build_jobs(1, cfgs) == 1 and build_jobs(8, cfgs) == 3
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert build_jobs(None, cfgs) == 1  # two cores hold one 2-thread training
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert build_jobs(None, cfgs) == 3
    with pytest.raises(EdgekitError, match="--jobs must be >= 1"):
        build_jobs(0, cfgs)


def test_a_changed_config_rebuilds_only_its_model(tmp_path, monkeypatch):
    """Two models built; one config's [train] changes: that model's train (and later) stages run again,
    its data stage and every stage of the other model are skipped."""
    import edgekit.pipeline.build as build_mod

    specs = [("tiny_a", "fatigue_lstm", "sequence_hours = 12\nhidden_size = 8", 4),
             ("tiny_b", "fatigue_lstm", "sequence_hours = 12\nhidden_size = 8", 5)]
    paths = []
    for name, type_, params, seed in specs:
        p = tmp_path / f"{name}.toml"
        p.write_text(TINY_SYNTH.format(name=name, type=type_, params=params, seed=seed))
        paths.append(p)
    out, stages = tmp_path / "build", ("data", "train", "evaluate")
    assert build_mod.build_models([load_config(p) for p in paths], out, stages=stages) == []
    ran: list[tuple[str, str]] = []
    runner = build_mod._stage_runner

    def recording(stage):
        fn = runner(stage)
        return lambda cfg, out_, **kw: (ran.append((cfg.name, stage)), fn(cfg, out_, **kw))[1]

    monkeypatch.setattr(build_mod, "_stage_runner", recording)
    assert build_mod.build_models([load_config(p) for p in paths], out, stages=stages) == []
    assert ran == []  # nothing changed: every stage skipped
    paths[1].write_text(paths[1].read_text().replace("epochs = 2", "epochs = 3"))
    assert build_mod.build_models([load_config(p) for p in paths], out, stages=stages) == []
    assert ran == [("tiny_b", "train"), ("tiny_b", "evaluate")]


def test_side_by_side_models_start_largest_training_first(tmp_path):
    import numpy as np

    import edgekit.pipeline.build as build_mod

    cfgs = []
    for name, n, epochs in (("small", 10, 50), ("large", 1000, 2), ("none", 0, 9)):
        p = tmp_path / f"{name}.toml"
        p.write_text(TINY_SYNTH.format(name=name, type="fatigue_lstm", params="sequence_hours = 12", seed=1)
                     .replace("epochs = 2", f"epochs = {epochs}"))
        cfgs.append(load_config(p))
        if n:
            (tmp_path / "b" / name / "data").mkdir(parents=True)
            np.savez(tmp_path / "b" / name / "data" / "windows.npz", X=np.zeros((n, 12), np.float32))
    work = {c.name: build_mod.training_work(c, tmp_path / "b") for c in cfgs}
    assert work["large"] > work["small"] > work["none"] == 0
