"""scripts/compare_builds.py: two build trees compared file by file, differences explained by format."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import torch

from helpers import REPO

spec = importlib.util.spec_from_file_location("compare_builds", REPO / "scripts" / "compare_builds.py")
compare_builds = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare_builds)


def _tree(root, *, x_last: float, seconds: float, seed: int, extra: str) -> None:
    (root / "m" / "data").mkdir(parents=True)
    (root / "m" / "train").mkdir()
    x = np.arange(6, dtype=np.float32)
    x[-1] = x_last
    np.savez(root / "m" / "data" / "windows.npz", X=x, y=np.zeros(6, np.int64))
    (root / "m" / "data" / "summary.json").write_text(json.dumps({"n": 6, "seconds": seconds}))
    torch.save({"state_dict": {"w": torch.ones(3)}, "seed": seed}, root / "m" / "train" / "model.pt")
    (root / "same.txt").write_text("same")
    (root / extra).write_text(extra)


def test_groups_and_explains_each_difference(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    _tree(a, x_last=5.0, seconds=1.0, seed=0, extra="only_a.txt")
    _tree(b, x_last=7.0, seconds=2.0, seed=1, extra="only_b.txt")
    assert compare_builds.main([str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "identical: 1\n  same.txt\n" in out
    assert "X: 1 of 6 values differ, max |a-b| 2" in out and "y:" not in out
    assert "top-level keys differing: seconds" in out
    assert "state dict: 1 of 1 tensors identical" in out and "key 'seed': 0 vs 1" in out
    assert "only in A: 1\n  only_a.txt\n" in out and "only in B: 1\n  only_b.txt\n" in out
    assert compare_builds.main([str(a), str(a), "--only-differences"]) == 0
    assert capsys.readouterr().out == "identical: 5\ndiffer: 0\nonly in A: 0\nonly in B: 0\n"
