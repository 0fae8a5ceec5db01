"""Both default models through every path: ONNX, Core ML fp32/fp16/int8/palette6/palette4/w8a8,
the verify stage's gates, metadata, and byte determinism."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest
import torch

from edgekit import INPUT_NAME
from edgekit.core.fileio import sha256_tree
from edgekit.core.log import configure
from edgekit.export import convert
from edgekit.export.coreml import CLASS_LABEL_OUTPUT, CLASS_PROBS_OUTPUT, SCORE_OUTPUT
from edgekit.config.load import VARIANTS
from edgekit.export.quantize import uncompressed_weights
from edgekit.mil.batched import BatchedEvaluator, Unbatchable, batchable
from edgekit.mil.evaluator import ReferenceEvaluator
from edgekit.mil.program import load_spec
from edgekit.verify import parity, run_mlprogram

MODELS = ["hrv_transformer", "hrv_lstm"]
pytestmark = pytest.mark.slow  # every test reads the `built` fixture: both models trained and converted (~1 min)


@pytest.mark.parametrize("name", MODELS)
def test_verify_stage_passes_every_gate(built, name, capsys):
    configure()  # the CLI's handler: the ✓/✗ lines go to stdout (as when the suite runs a CLI test first)
    cfg, _, root = built[name]
    summary = parity.run(cfg, root)
    assert summary["passed"]
    doc = json.loads((root / name / "verify" / "parity.json").read_text())
    assert doc["passed"] and doc["fixture_count"] >= 32 and doc["onnx"]["passed"]
    assert set(doc["variants"]) == set(VARIANTS)
    for variant, entry in doc["variants"].items():
        assert entry["passed"], (variant, [c for c in entry["checks"] if not c["passed"]])
        assert entry["backend"] == "reference-evaluator"
        assert entry["sha256"] == sha256_tree(root / name / "coreml" / f"{variant}.mlpackage")
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith(("✓", "✗"))]
    n_checks = sum(len(e["checks"]) for e in doc["variants"].values()) + 1
    assert len(lines) == n_checks and all(l.startswith("✓") for l in lines)


@pytest.mark.parametrize("name", MODELS)
def test_convert_report_and_compression(built, name):
    cfg, _, root = built[name]
    doc = json.loads((root / name / "coreml" / "convert.json").read_text())
    v = doc["variants"]
    assert set(v) == set(VARIANTS)
    assert v["fp32"]["bits_per_param"] == pytest.approx(32, abs=0.5)
    assert v["fp16"]["bits_per_param"] < 17
    assert v["palette4"]["weight_bytes"] < v["palette6"]["weight_bytes"] < v["int8"]["weight_bytes"]
    assert v["int8"]["weight_bytes"] < v["fp16"]["weight_bytes"] < v["fp32"]["weight_bytes"]
    for variant in ("int8", "palette6", "palette4", "w8a8"):
        pkg = root / name / "coreml" / f"{variant}.mlpackage"
        assert uncompressed_weights(pkg) == []  # weight_threshold=0: every weight matrix compressed
        assert v[variant]["params_compressed"] > 0.9 * v[variant]["params"]
    assert doc["onnx"]["opset"] >= 17


@pytest.mark.parametrize("name", MODELS)
def test_metadata_interface_and_fp16_policy(built, name):
    cfg, module, root = built[name]
    spec = load_spec(root / name / "coreml" / "fp16.mlpackage")
    md = spec.description.metadata
    assert md.author == cfg.convert.author and md.license == cfg.convert.license
    assert md.versionString == cfg.convert.version and md.shortDescription
    ud = dict(md.userDefined)
    assert ud["edgekit.units"] == "ms" and ud["edgekit.variant"] == "fp16"
    assert ud["edgekit.training_data_fingerprint"] == "0" * 64 and "edgekit.version" in ud
    assert "com.github.apple.coremltools.conversion_date" not in ud
    assert spec.specificationVersion == 8  # iOS 17
    (inp,) = spec.description.input
    assert inp.name == INPUT_NAME and inp.shortDescription
    assert list(inp.type.multiArrayType.shape) == [1, int(ud["edgekit.window_length"]), 1]
    assert inp.type.multiArrayType.dataType == 65568  # FLOAT32
    outputs = [o.name for o in spec.description.output]
    if name == "hrv_transformer":
        assert outputs == [CLASS_LABEL_OUTPUT, CLASS_PROBS_OUTPUT]
        assert spec.description.predictedFeatureName == CLASS_LABEL_OUTPUT
        assert ud["edgekit.labels"] == "healthy,strained,burnout_risk"
    else:
        assert outputs == [SCORE_OUTPUT]
    doc = json.loads((root / name / "coreml" / "convert.json").read_text())
    fp32_ops = doc["fp16_policy"]["fp32_ops_in_fp16_variant"]
    assert fp32_ops and all(not op.startswith(("linear", "lstm", "matmul")) for op in fp32_ops)


def test_run_mlprogram_interface(built):
    cfg, module, root = built["hrv_transformer"]
    x = np.full((1, 128, 1), 800.0, np.float32)
    out = run_mlprogram(root / "hrv_transformer" / "coreml" / "fp32.mlpackage", {INPUT_NAME: x})
    assert set(out) == {CLASS_LABEL_OUTPUT, CLASS_PROBS_OUTPUT}
    assert out[CLASS_PROBS_OUTPUT].shape == (3,) and abs(out[CLASS_PROBS_OUTPUT].sum() - 1) < 1e-6
    assert str(out[CLASS_LABEL_OUTPUT]) in ("healthy", "strained", "burnout_risk")

    ref = module(torch.as_tensor(x)).detach().numpy()[0]
    np.testing.assert_allclose(out[CLASS_PROBS_OUTPUT], ref, atol=1e-5)


def test_same_checkpoint_same_bytes(built, tmp_path):
    """Re-running convert on the same checkpoint reproduces every package and the ONNX bit for bit."""
    cfg, _, root = built["hrv_lstm"]
    first = json.loads((root / "hrv_lstm" / "coreml" / "convert.json").read_text())
    convert.run(cfg, root)
    second = json.loads((root / "hrv_lstm" / "coreml" / "convert.json").read_text())
    for variant in VARIANTS:
        assert first["variants"][variant]["sha256"] == second["variants"][variant]["sha256"], variant
    assert first["onnx"]["sha256"] == second["onnx"]["sha256"]


@pytest.mark.parametrize("name", MODELS)
def test_input_layer_kept_at_higher_precision(built, name):
    """Palette variants store the input layer's weights int8 (per tensor) and W8A8 leaves the input
    layer's activation float (convert.palette_keep_int8 / w8a8_float_inputs = ["input"]); convert.json
    records both and bits per parameter count the int8 tensor at 8 bits."""
    cfg, _, root = built[name]
    assert cfg.convert.palette_keep_int8 == ["input"] and cfg.convert.w8a8_float_inputs == ["input"]
    doc = json.loads((root / name / "coreml" / "convert.json").read_text())["variants"]
    for variant in ("palette6", "palette4"):
        (kept,) = doc[variant]["higher_precision_weights"]
        assert kept["layer"] == "input" and kept["stored_as"] == "int8 per-tensor linear"
        assert kept["weight"] in doc[variant]["method"]
        prog = ReferenceEvaluator(root / name / "coreml" / f"{variant}.mlpackage").program
        producers = {n: op for op in prog.operations for n, _ in op.outputs}
        first = next(op for op in prog.operations if op.name == kept["op"])
        arg = "weight" if first.type == "linear" else "weight_ih"
        assert producers[first.inputs[arg][0][1]].type == "constexpr_affine_dequantize"
        kept_op = producers[first.inputs[arg][0][1]]
        others = [op for op in prog.operations if op.type.startswith("constexpr_") and op is not kept_op
                  and len(op.outputs[0][1].shape or ()) >= 2]
        assert others and all(op.type == "constexpr_lut_to_dense" for op in others)
    nbits = {"palette6": 6, "palette4": 4}
    for variant, bits in nbits.items():
        assert bits < doc[variant]["bits_per_param"] < bits + 0.5
    float_in = doc["w8a8"]["float_activation_inputs"]
    prog = ReferenceEvaluator(root / name / "coreml" / "w8a8.mlpackage").program
    producers = {n: op for op in prog.operations for n, _ in op.outputs}
    if name == "hrv_transformer":
        (entry,) = float_in
        first = next(op for op in prog.operations if op.name == entry["op"])
        assert first.type == "linear" and producers[first.inputs["x"][0][1]].type != "dequantize"
        assert any(op.type == "quantize" for op in prog.operations)  # the rest stays W8A8
    else:
        assert float_in == []  # the LSTM's input layer is not activation-quantized anyway


@pytest.mark.parametrize("name", MODELS)
def test_batched_evaluator_equals_one_at_a_time(built, name):
    """The held-out set is scored through BatchedEvaluator: every variant's outputs are those of the
    one-input-at-a-time evaluator (same ops, same rounding), for the batchable programs."""
    cfg, _, root = built[name]
    with np.load(root / name / "train" / "test_set.npz") as z:
        X = np.asarray(z["X"], np.float32)[:40]
    n_batched = 0
    for variant in VARIANTS:
        ev = ReferenceEvaluator(root / name / "coreml" / f"{variant}.mlpackage")
        (input_name, ttype), = ev.program.inputs.items()
        xb = X.reshape((len(X),) + tuple(ttype.shape))
        if not batchable(ev):  # recurrent programs (lstm op) are scored one input at a time
            with pytest.raises(Unbatchable, match="no batch rule"):
                BatchedEvaluator(ev)
            continue
        n_batched += 1
        got = BatchedEvaluator(ev).run({input_name: xb}, chunk=16)  # 3 chunks, the last one short
        for i, x in enumerate(xb):
            one = ev.run({input_name: x})
            for key, value in one.items():
                assert got[key].shape[1:] == np.shape(value), (variant, key)
                if np.asarray(value).dtype == object:
                    assert got[key][i] == np.asarray(value).item(), (variant, key, i)
                else:
                    np.testing.assert_allclose(got[key][i], value, rtol=1e-6, atol=1e-6, err_msg=f"{variant} {key}")
    assert n_batched == (len(VARIANTS) if cfg.model.type == "strain_transformer" else 0)


def test_verify_figures_do_not_depend_on_workers(built, tmp_path):
    """Variants evaluated side by side in worker processes give the parity.json of a serial run."""
    cfg, _, root = built["hrv_transformer"]
    docs = {}
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        shutil.copytree(root / cfg.name, out / cfg.name)
        c = dataclasses.replace(cfg, verify=dataclasses.replace(cfg.verify, workers=workers))
        parity.run(c, out)
        doc = json.loads((out / cfg.name / "verify" / "parity.json").read_text())
        docs[workers] = {v: (e["figures"], e["per_fixture_max_abs_diff"], e["passed"]) for v, e in doc["variants"].items()}
    assert docs[1] == docs[2]
