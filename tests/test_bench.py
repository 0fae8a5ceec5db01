"""Benchmarks: op/MAC counting from saved ML programs, side-by-side timing, sections and the table."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from benchmarks import bench
from test_report_fixtures import make_build


def test_side_by_side_interleaves_and_reports_medians() -> None:
    order: list[str] = []

    def fast() -> None:
        order.append("a")

    def slow() -> None:
        order.append("b")
        time.sleep(0.002)

    res = bench.side_by_side({"a": fast, "b": slow}, rounds=3, min_seconds=0.01)
    assert set(res) == {"a", "b"}
    assert res["b"]["median_s"] > res["a"]["median_s"] > 0
    assert res["b"]["rounds"] == 3
    # rounds alternate: the timed calls of "a" and "b" are interleaved, not all of "a" first
    timed = order[4:]  # after two warm-up + two probe calls
    first_b = timed.index("b")
    assert "a" in timed[first_b:]


def _tiny_program(tmp_path: Path, palettize: bool = False) -> Path:
    import coremltools as ct
    import torch
    from torch import nn

    class M(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(8, 4)
            self.lstm = nn.LSTM(1, 4, batch_first=True)
            self.conv = nn.Conv1d(1, 3, 5)

        def forward(self, x):  # (1, 6, 1)
            h, _ = self.lstm(x)  # (1, 6, 4): 6 × (16×1 + 16×4) = 480 MACs
            a = torch.matmul(h, h.transpose(1, 2))  # (1, 6, 6) × K=4: 144
            c = self.conv(x.transpose(1, 2))  # (1, 3, 2) × 1×5: 30
            z = torch.cat([h, h], -1)  # (1, 6, 8)
            return self.lin(z).sum() + a.sum() + c.sum()  # (1, 6, 4) × 8: 192

    torch.manual_seed(0)
    m = M().eval()
    traced = torch.jit.trace(m, torch.randn(1, 6, 1))
    ml = ct.convert(traced, inputs=[ct.TensorType(name="rr_sequence", shape=(1, 6, 1))], convert_to="mlprogram",
                    compute_precision=ct.precision.FLOAT32, minimum_deployment_target=ct.target.iOS17)
    if palettize:
        cfg = ct.optimize.coreml.OptimizationConfig(
            global_config=ct.optimize.coreml.OpPalettizerConfig(nbits=4, weight_threshold=0))
        ml = ct.optimize.coreml.palettize_weights(ml, cfg)
    path = tmp_path / ("p4.mlpackage" if palettize else "fp32.mlpackage")
    ml.save(str(path))
    return path


def test_program_stats_counts_ops_and_macs_from_the_spec(tmp_path: Path) -> None:
    fp32 = bench.program_stats(_tiny_program(tmp_path))
    assert fp32["macs_by_type"] == {"lstm": 480, "matmul": 144, "conv": 30, "linear": 192}
    assert fp32["macs"] == 846
    assert fp32["macs_unknown_shape_ops"] == []
    assert fp32["ops_decompression"] == 0 and fp32["ops_compute"] > 0
    assert fp32["ops_total"] == sum(fp32["op_types"].values())
    p4 = bench.program_stats(_tiny_program(tmp_path, palettize=True))
    assert p4["macs"] == 846  # weight compression does not change the arithmetic
    assert p4["ops_decompression"] > 0 and p4["op_types"].get("constexpr_lut_to_dense")
    assert p4["ops_compute"] == fp32["ops_compute"]


def test_program_stats_refuses_a_broken_package(tmp_path: Path) -> None:
    from edgekit.core.errors import EdgekitError

    bad = tmp_path / "bad.mlpackage"
    (bad / "Data" / "com.apple.CoreML").mkdir(parents=True)
    (bad / "Data" / "com.apple.CoreML" / "model.mlmodel").write_bytes(b"not a model")
    with pytest.raises(EdgekitError, match="bad.mlpackage"):
        bench.program_stats(bad)


@pytest.fixture(scope="module")
def fake(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("benchproj")
    make_build(root)
    (root / "build" / "ios").mkdir(parents=True)
    (root / "build" / "ios" / ".package-stamp.json").write_text('{"seconds": 3.5}')
    return root


def test_size_rows_are_disk_bytes_over_the_floor(fake: Path) -> None:
    rows = bench.size_section(fake / "build", ["hrv_lstm"])
    assert [r["name"] for r in rows] == [f"hrv_lstm {v} package" for v in bench.NOMINAL_BITS]
    params = json.loads((fake / "build" / "hrv_lstm" / "train" / "metrics.json").read_text())["params"]
    for r in rows:
        v = r["name"].split()[1]
        pkg = fake / "build" / "hrv_lstm" / "coreml" / f"{v}.mlpackage"
        assert r["a_value"] == sum(f.stat().st_size for f in pkg.rglob("*") if f.is_file())
        assert r["b_value"] == params * bench.NOMINAL_BITS[v] / 8
        assert r["ratio"] == pytest.approx(r["a_value"] / r["b_value"])


def test_build_rows_come_from_the_stamps(fake: Path) -> None:
    rows, notes = bench.build_section(fake / "build", ["hrv_transformer", "hrv_lstm"])
    by = {r["name"]: r for r in rows}
    assert by["ios-package: hrv_lstm train"]["a_value"] == 11.5
    assert by["ios-package: package"]["a_value"] == 3.5
    stages = [r for r in rows if "(" not in r["name"] and "total" not in r["name"]]
    total = sum(r["a_value"] for r in stages)
    assert all(r["b_value"] == total for r in stages)
    assert sum(r["ratio"] for r in stages) == pytest.approx(1.0)
    assert by["ios-package: total (sum of stage wall times)"]["a_value"] == pytest.approx(total)
    assert by["ios-package: total (sum of stage wall times)"]["b_value"] == bench.BUILD_GOAL_S
    per_model = by["ios-package: hrv_lstm (all stages)"]["a_value"]
    assert per_model == pytest.approx(sum(r["a_value"] for r in stages if r["name"].startswith("ios-package: hrv_lstm ")))
    assert notes == []


def test_build_rows_side_by_side_with_a_reference_build(fake: Path, tmp_path: Path) -> None:
    ref = tmp_path / "ref"
    shutil.copytree(fake / "build", ref)
    stamp = ref / "hrv_lstm" / ".stamps" / "train.json"
    stamp.write_text(json.dumps({"stage": "train", "seconds": 23.0, "cpu_seconds": 40.0}))
    rows, _ = bench.build_section(fake / "build", ["hrv_transformer", "hrv_lstm"], reference=ref)
    by = {r["name"]: r for r in rows}
    row = by["ios-package: hrv_lstm train"]
    assert (row["a_value"], row["b_value"], row["ratio"]) == (11.5, 23.0, 0.5) and "reference CPU 40 s" in row["note"]
    assert by["ios-package: hrv_lstm (all stages)"]["b"] == "reference build"


def test_train_rows_count_every_matmul_of_a_step_and_time_the_same_gemms() -> None:
    """The LSTM's per-step products are recorded (oneDNN off while recording): 2 × T × (input + hidden
    projections) forward, and their gradients backward; the plain GEMMs of those shapes take time."""
    import torch
    from torch import nn

    from benchmarks import bench_train

    torch.manual_seed(0)
    lstm, head = nn.LSTM(3, 8, batch_first=True), nn.Linear(8, 1)
    x = torch.randn(4, 5, 3)

    def step() -> None:
        out, _ = lstm(x)
        head(out).sum().backward()

    shapes = bench_train.matmul_shapes(step)
    flops = sum(bench_train.shape_flops(k) * n for k, n in shapes.items())
    forward = 5 * 2 * 4 * 32 * (3 + 8) + 2 * 20 * 8  # 5 steps of (4×3)(3×32) + (4×8)(8×32); the head
    assert forward < flops <= 3 * forward + 1000
    assert bench_train.gemm_seconds(shapes, rounds=1) > 0


def test_data_section_runs_bench_data_or_says_it_is_absent() -> None:
    rows, notes = bench.data_section(quick=True)
    try:
        import benchmarks.bench_data  # noqa: F401
    except ImportError:
        assert rows == [] and any("bench_data" in n for n in notes)
    else:
        assert rows, notes
        assert all(r["section"] == "data" for r in rows)


def test_data_rows_normalise_result_dicts() -> None:
    rows = bench._data_rows("clean", {"name": "clean 100k", "a": "edgekit", "a_value": 0.2, "b": "neurokit2",
                                      "b_value": 1.0, "unit": "s"})
    assert rows[0]["ratio"] == pytest.approx(0.2) and rows[0]["b"] == "neurokit2"
    rows = bench._data_rows("x", {"rows": [{"name": "r1", "ratio": 3.0}, {"name": "r2", "ratio": 0.5}]})
    assert [r["name"] for r in rows] == ["r1", "r2"] and rows[0]["ratio"] == 3.0


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> Path:
    """A fake build whose hrv_lstm has a real ONNX export and real fp32 / int8 Core ML programs."""
    from edgekit.export.convert import example_input
    from edgekit.export.coreml import save_mlpackage, to_coreml
    from edgekit.export.onnx_export import to_onnx
    from edgekit.export.variants import coreml_kwargs
    from edgekit.export.quantize import compress_weights
    from edgekit.models.checkpoint import load_checkpoint
    from edgekit.tasks import task_for

    root = tmp_path_factory.mktemp("benchconv")
    make_build(root)
    md = root / "build" / "hrv_lstm"
    module, meta = load_checkpoint(md / "train" / "model.pt", task_for)
    example = example_input("fatigue_lstm", module)
    to_onnx(module, example, md / "onnx" / "model.onnx")
    for p in (md / "coreml").glob("*.mlpackage"):
        shutil.rmtree(p)
    fp32 = to_coreml(module, example, "fp32", **coreml_kwargs("fatigue_lstm", meta))
    save_mlpackage(fp32, md / "coreml" / "fp32.mlpackage")
    save_mlpackage(compress_weights(fp32, "int8"), md / "coreml" / "int8.mlpackage")
    return root


def test_inference_section_measures_side_by_side(converted: Path) -> None:
    rows, notes, detail = bench.inference_section(converted / "build", ["hrv_lstm"], quick=True)
    by = {(r["name"], r["a"]): r for r in rows}
    ort = by[("hrv_lstm per window", "onnxruntime fp32")]
    assert ort["b"] == "torch fp32 eager" and ort["ratio"] > 0 and ort["unit"] == "µs"
    # tiny LSTM: 24 steps × (4·8·1 + 4·8·8) weights + head 8 = 6,920 MACs, unchanged by int8
    programs = detail["hrv_lstm"]["programs"]
    assert programs["int8"]["macs"] == programs["fp32"]["macs"] == 24 * (32 + 256) + 8
    ops = by[("hrv_lstm int8 Core ML program ops", "int8")]
    assert ops["ratio"] == pytest.approx(1.0) and "MACs 6,920 = fp32" in ops["note"]
    assert ("hrv_lstm int8 ref. evaluator/window", "int8") in by
    assert any("no ONNX of int8" in n for n in notes)
    assert any("without a batch rule" in n for n in notes)  # the LSTM program: verify scores it one at a time
    assert detail["hrv_lstm"]["programs"]["int8"]["ops_decompression"] > 0


def test_main_writes_json_and_prints_the_table_last(converted: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "bench"
    rc = bench.main(["--out", str(out), "--build", str(converted / "build"), "--config",
                     str(converted / "edgekit.toml"), "--quick", "--section", "size", "--section", "build"])
    assert rc == 0
    res = json.loads((out / "bench.json").read_text())
    assert res["rows"] and all(r["section"] in ("size", "build") for r in res["rows"])
    printed = capsys.readouterr().out.rstrip().splitlines()
    assert printed[-1].startswith("build ")  # the table is the last thing printed
    assert any(line.startswith("section") and "A/B" in line for line in printed)


def test_main_without_a_build_is_one_line_error(tmp_path: Path, capsys) -> None:
    rc = bench.main(["--out", str(tmp_path / "b"), "--build", str(tmp_path / "nothing"),
                     "--config", str(tmp_path / "none.toml")])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and err.startswith("edgekit: error: ") and "\n" not in err
