"""Verification must fail when a saved package is altered."""

from __future__ import annotations

import copy
import json
import shutil
import struct

import numpy as np
import pytest
import torch

from edgekit.core.errors import EdgekitError, GateError
from edgekit.core.fileio import sha256_tree
from edgekit.mil.evaluator import ReferenceEvaluator
from edgekit.models.checkpoint import load_checkpoint, save_checkpoint
from edgekit.tasks import task_for
from edgekit.verify import parity

pytestmark = [pytest.mark.filterwarnings("ignore::RuntimeWarning"),  # random weight bytes hold NaN/inf
              pytest.mark.slow]  # every test copies the `built` fixture: both models trained and converted (~1 min)


def _weights(pkg):
    return pkg / "Data" / "com.apple.CoreML" / "weights" / "weight.bin"


def _largest_blob(path):
    """(data offset, size) of the largest blob in a weight.bin."""
    data = path.read_bytes()
    best = (0, 0)
    off = 64
    while off + 64 <= len(data):
        sentinel, _, size, data_off = struct.unpack_from("<IIQQ", data, off)
        if sentinel != 0xDEADBEEF:
            break
        best = max(best, (size, data_off))
        off = data_off + size
        off += (-off) % 64
    return best[1], best[0]


@pytest.fixture()
def copy_build(built, tmp_path):
    """A copy of a model's build tree and its config, verifying only ``variants`` (time budget)."""

    def make(name, variants=None):
        cfg, module, root = built[name]
        dst = tmp_path / "build"
        shutil.copytree(root / name, dst / name)
        cfg = copy.deepcopy(cfg)
        if variants is not None:
            cfg.convert.variants = list(variants)
        return cfg, dst

    return make


@pytest.mark.parametrize("name,variant", [("hrv_transformer", "fp32"), ("hrv_transformer", "palette4"),
                                          ("hrv_lstm", "int8"), ("hrv_lstm", "fp16")])
def test_altered_weights_fail_verification(copy_build, name, variant):
    cfg, root = copy_build(name, ["fp32", variant] if variant != "fp32" else ["fp32", "fp16"])
    wb = _weights(root / name / "coreml" / f"{variant}.mlpackage")
    off, size = _largest_blob(wb)
    data = bytearray(wb.read_bytes())
    rng = np.random.default_rng(0)
    data[off : off + size] = rng.integers(0, 256, size=size, dtype=np.uint8).tobytes()
    wb.write_bytes(bytes(data))
    with pytest.raises(GateError, match=variant):
        parity.run(cfg, root)
    doc = json.loads((root / name / "verify" / "parity.json").read_text())
    assert doc["variants"][variant]["passed"] is False
    assert all(e["passed"] for v, e in doc["variants"].items() if v != variant)
    failed = {c["name"] for c in doc["variants"][variant]["checks"] if not c["passed"]}
    assert "package_integrity" in failed


@pytest.mark.parametrize("name,variant", [("hrv_transformer", "fp32"), ("hrv_lstm", "int8"), ("hrv_lstm", "fp16")])
def test_altered_weights_fail_the_numeric_gates_too(copy_build, name, variant):
    """Even with convert.json rewritten to match, randomised weights fail on the figures themselves."""
    cfg, root = copy_build(name, ["fp32", variant] if variant != "fp32" else ["fp32", "fp16"])
    pkg = root / name / "coreml" / f"{variant}.mlpackage"
    wb = _weights(pkg)
    off, size = _largest_blob(wb)
    data = bytearray(wb.read_bytes())
    data[off : off + size] = np.random.default_rng(1).integers(0, 256, size=size, dtype=np.uint8).tobytes()
    wb.write_bytes(bytes(data))
    record = root / name / "coreml" / "convert.json"
    doc = json.loads(record.read_text())
    doc["variants"][variant]["sha256"] = sha256_tree(pkg)
    record.write_text(json.dumps(doc))
    with pytest.raises(GateError, match=variant):
        parity.run(cfg, root)
    result = json.loads((root / name / "verify" / "parity.json").read_text())["variants"][variant]
    failed = {c["name"] for c in result["checks"] if not c["passed"]}
    assert failed and "package_integrity" not in failed


def test_corrupt_blob_header_is_a_clear_error(copy_build):
    cfg, root = copy_build("hrv_lstm")
    pkg = root / "hrv_lstm" / "coreml" / "fp32.mlpackage"
    data = bytearray(_weights(pkg).read_bytes())
    data[64:68] = b"\0\0\0\0"  # first blob's sentinel
    _weights(pkg).write_bytes(bytes(data))
    with pytest.raises(EdgekitError, match="sentinel"):
        ReferenceEvaluator(pkg)


def test_truncated_weights_fail(copy_build):
    cfg, root = copy_build("hrv_transformer", ["int8"])
    pkg = root / "hrv_transformer" / "coreml" / "int8.mlpackage"
    wb = _weights(pkg)
    wb.write_bytes(wb.read_bytes()[: wb.stat().st_size // 2])
    with pytest.raises(GateError, match="int8"):
        parity.run(cfg, root)


def test_missing_variant_fails(copy_build):
    cfg, root = copy_build("hrv_lstm", ["fp32", "w8a8"])
    shutil.rmtree(root / "hrv_lstm" / "coreml" / "w8a8.mlpackage")
    with pytest.raises(GateError, match="w8a8"):
        parity.run(cfg, root)


def test_drifted_model_fails_the_named_gate(copy_build):
    """A checkpoint that differs from what was converted: fp32 parity names the figure."""
    cfg, dst = copy_build("hrv_transformer", ["fp32"])
    ckpt = dst / "hrv_transformer" / "train" / "model.pt"
    model, meta = load_checkpoint(ckpt, task_for)
    with torch.no_grad():
        model.head.bias.add_(torch.tensor([0.5, -0.5, 0.0]))
    save_checkpoint(ckpt, model, meta)
    with pytest.raises(GateError, match=r"fp32 max \|Δp\|"):
        parity.run(cfg, dst)
