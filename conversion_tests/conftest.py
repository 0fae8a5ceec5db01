"""Shared fixtures of the conversion suite: quickly trained default models in a fake build tree.

Both default models are trained for a few hundred steps on a synthetic task (seconds, seeded) so
their outputs are confident like a real checkpoint's; the build tree holds what the train stage
writes (``train/model.pt``, ``train/test_set.npz``, ``train/split.json``, ``data/windows.npz``),
then the real ``convert`` stage runs once per session.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import edgekit
from edgekit import STRAIN_LABELS
from edgekit.config.load import load_config
from edgekit.export import convert
from edgekit.tasks import task_for
from edgekit.tasks.strain import _beats
from edgekit.models.checkpoint import save_checkpoint

REPO = Path(__file__).resolve().parent.parent
torch.set_num_threads(1)  # batch-1 graphs; two OpenMP threads spin (10× slower) on a loaded 2-core box
CONFIGS = {"hrv_transformer": REPO / "configs" / "hrv_transformer.toml", "hrv_lstm": REPO / "configs" / "hrv_lstm.toml"}


def strain_windows(n: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic RR windows (ms) whose class follows heart rate and variability."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for _ in range(n):
        cls = int(rng.integers(0, 3))
        mean = {0: rng.uniform(850, 1150), 1: rng.uniform(650, 850), 2: rng.uniform(450, 650)}[cls]
        rsa = {0: rng.uniform(25, 60), 1: rng.uniform(8, 25), 2: rng.uniform(2, 8)}[cls]
        X.append(_beats(rng, length, mean, rsa, rsa / 2, rsa / 4))
        y.append(cls)
    return np.asarray(X, np.float32), np.asarray(y, np.int64)


def fatigue_sequences(n: int, hours: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hourly RMSSD sequences (ms) and a score 0-100 that rises with recent ln RMSSD."""
    rng = np.random.default_rng(seed)
    level = np.exp(rng.uniform(np.log(8), np.log(140), size=(n, 1)))
    h = np.arange(hours)
    X = level * (1 + 0.3 * np.cos(2 * np.pi * h / 24.0)) * np.exp(0.1 * rng.standard_normal((n, hours)))
    recent = np.log(X[:, -6:]).mean(axis=1)
    y = 100 / (1 + np.exp(-(recent - 3.5) * 2.0))
    y_today = 100 / (1 + np.exp(-(np.log(X).mean(axis=1) - 3.5) * 2.0))
    return X.astype(np.float32), y.astype(np.float32), y_today.astype(np.float32)


def quick_train(task, model: torch.nn.Module, X: np.ndarray, y: np.ndarray, labels: list[str],
                steps: int = 400) -> None:
    """A few hundred seeded Adam steps on the task spec's own loss (``TaskSpec.loss`` and
    ``batch_loss``, as the train stage uses them): enough for confident, realistic-looking weights."""
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    loss_fn, target = task.loss(y, labels, class_weighting=False)
    model.train()
    for _ in range(steps):
        idx = rng.integers(0, len(X), size=32)
        loss = task.batch_loss(loss_fn, model(torch.as_tensor(X[idx, :, None])), target[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()


def make_build(root: Path, name: str, n_test: int = 200) -> tuple:
    """Train ``name`` quickly and write the train/data stage files under ``root/name``."""
    cfg = load_config(CONFIGS[name])
    task = task_for(cfg.model.type)
    torch.manual_seed(0)
    model = task.build_model(cfg.model.params)
    n = task.input_length(cfg.model.params)
    if task.role.has_labels:  # RR windows whose class follows heart rate and variability
        X, y = strain_windows(1200, n, seed=1)
        Xt, yt = strain_windows(n_test, n, seed=2)
        extra, labels = {}, list(STRAIN_LABELS)
    else:  # hourly RMSSD sequences and a fatigue score
        X, y, _ = fatigue_sequences(1200, n, seed=1)
        Xt, yt, yt_today = fatigue_sequences(n_test, n, seed=2)
        extra, labels = {"y_today": yt_today}, []
    normalization = task.normalization(X, y)
    model.set_normalization(**normalization)
    quick_train(task, model, X, y, labels)
    model_dir = root / name
    (model_dir / "train").mkdir(parents=True, exist_ok=True)
    (model_dir / "data").mkdir(parents=True, exist_ok=True)
    subjects = np.arange(len(X)) % 12
    np.savez(model_dir / "data" / "windows.npz", X=X, y=y, subject=subjects)
    (model_dir / "train" / "split.json").write_text(json.dumps({"train": list(range(10)), "val": [10], "test": [11]}))
    np.savez(model_dir / "train" / "test_set.npz", X=Xt, y=yt, **extra)
    meta = {"model_type": cfg.model.type, "model_config": model.config.to_dict(), "label_names": labels,
            "normalization": normalization, "data_fingerprint": "0" * 64, "edgekit_version": edgekit.__version__,
            "seed": 0, "model_name": name}
    save_checkpoint(model_dir / "train" / "model.pt", model, meta)
    return cfg, model


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> dict:
    """Both default models trained, then converted by the real convert stage: name → (cfg, module, dir)."""
    root = tmp_path_factory.mktemp("build")
    out = {}
    for name in CONFIGS:
        cfg, model = make_build(root, name)
        convert.run(cfg, root)
        out[name] = (cfg, model, root)
    return out
