"""Typed stage records: each written by one function and read by one, the JSON on disk as the stages wrote
it before the records were typed, and a bad file a one-line error naming it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgekit.core.errors import EdgekitError
from edgekit.core.layout import RELATIVE, ModelLayout
from edgekit.export.records import ConvertRecord, read_convert_record, write_convert_record
from edgekit.pipeline.stamps import StageStamp, read_stamp, write_stamp
from edgekit.train.records import TrainHistory, TrainRecord, read_train_history, read_train_record, write_train_records
from edgekit.verify.records import ParityRecord, read_parity_record, write_parity_record

CHECK = {"name": "mae_drift", "figure": "MAE drift", "value": 0.1, "tolerance": 1.0, "comparison": "<=",
         "backend": "reference-evaluator", "passed": True}
TRAIN = {"model": "m", "model_type": "fatigue_slots", "split": "test (held-out subjects)",
         "n_subjects": {"train": 8, "val": 2, "test": 2}, "n_windows": {"train": 90, "val": 20, "test": 30},
         "best_epoch": 3, "epochs_run": 5, "params": 1234, "test": {"mae": 7.5, "baseline_mae": 9.0, "n": 30},
         "val": {"mae": 7.0}, "mae": 7.5, "baseline_mae": 9.0, "coverage": {"watch": {"share": 0.5}},
         "synthetic_data": True, "data_source": "synthetic", "warnings": ["w"]}
CONVERT = {"model": "m", "model_type": "fatigue_slots", "minimum_deployment_target": "iOS17",
           "onnx": {"path": "onnx/model.onnx", "bytes": 10, "opset": 17, "sha256": "a" * 64},
           "checkpoint_sha256": "b" * 64, "fp16_policy": {"keep_fp32_op_types": []},
           "variants": {"fp32": {"path": "coreml/fp32.mlpackage", "method": "ct.convert", "bytes_total": 100,
                                 "weight_bytes": 50, "params": 12, "params_compressed": 0, "bits_per_param": 32.0,
                                 "sha256": "c" * 64},
                        "palette6": {"path": "coreml/palette6.mlpackage", "method": "palette", "bytes_total": 30,
                                     "weight_bytes": 10, "params": 12, "params_compressed": 12,
                                     "bits_per_param": 6.2, "sha256": "d" * 64,
                                     "higher_precision_weights": [{"layer": "input"}]}}}
PARITY = {"model": "m", "model_type": "fatigue_slots", "fixtures": "m.json", "fixture_count": 10,
          "test_set": "train/test_set.npz", "test_windows": 30, "checkpoint_sha256": "b" * 64,
          "backends": ["torch", "onnxruntime", "reference-evaluator"],
          "onnx": {"checks": [CHECK], "passed": True, "sha256": "a" * 64, "max_abs_diff": 1e-6},
          "variants": {"fp32": {"path": "coreml/fp32.mlpackage", "backend": "reference-evaluator", "passed": True,
                                "checks": [CHECK], "sha256": "c" * 64, "bytes": 100,
                                "figures": {"max_abs_diff": 0.01, "mae": 7.5, "mae_drift": 0.1, "test_windows": 30},
                                "per_fixture_max_abs_diff": {"f0": 0.01}, "max_abs_diff": 0.01, "mae": 7.5,
                                "mae_drift": 0.1},
                       "w8a8": {"path": "coreml/w8a8.mlpackage", "backend": "reference-evaluator", "passed": False,
                                "checks": [], "error": "w8a8.mlpackage missing; run convert"}},
          "passed": False, "failures": ["w8a8 package missing"]}


@pytest.mark.parametrize("cls, doc", [(TrainRecord, TRAIN), (ConvertRecord, CONVERT), (ParityRecord, PARITY)])
def test_records_round_trip_the_json_the_stages_write(cls, doc):
    record = cls.from_json(json.loads(json.dumps(doc)))
    assert record.to_json() == doc
    assert cls.from_json(record.to_json()) == record


def test_writers_and_readers_meet_on_disk(tmp_path):
    md = tmp_path / "m"
    write_train_records(md / "train", TrainRecord.from_json(TRAIN), TrainHistory("m", 3, [{"epoch": 1}]))
    write_convert_record(md, ConvertRecord.from_json(CONVERT))
    write_parity_record(md, ParityRecord.from_json(PARITY))
    assert json.loads((md / "train" / "metrics.json").read_text()) == TRAIN
    assert read_train_record(md).figure("mae") == 7.5 and read_train_record(md).figure("zone_accuracy") is None
    assert read_train_history(md).epochs == [{"epoch": 1}]
    assert read_convert_record(md).variants["palette6"].extra == {"higher_precision_weights": [{"layer": "input"}]}
    parity = read_parity_record(md)
    assert parity.variants["fp32"].figure("mae_drift") == 0.1 and parity.variants["w8a8"].figure("mae") is None
    assert [c.name for c in parity.variants["fp32"].checks] == ["mae_drift"]


@pytest.mark.parametrize("rel, read", [("train/metrics.json", read_train_record),
                                       ("coreml/convert.json", read_convert_record),
                                       ("verify/parity.json", read_parity_record)])
@pytest.mark.parametrize("damage", ["missing", "not json", "not an object", "a key missing"])
def test_a_bad_record_is_one_line_naming_the_file(tmp_path, rel, read, damage):
    md = tmp_path / "m"
    path = md / rel
    path.parent.mkdir(parents=True)
    doc = {"train/metrics.json": TRAIN, "coreml/convert.json": CONVERT, "verify/parity.json": PARITY}[rel]
    if damage == "not json":
        path.write_text("{not json")
    elif damage == "not an object":
        path.write_text("[]")
    elif damage == "a key missing":
        path.write_text(json.dumps({k: v for k, v in doc.items() if k != "model_type"}))
    with pytest.raises(EdgekitError) as exc:
        read(md)
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)


def test_layout_names_each_file_once(tmp_path):
    layout = ModelLayout.of(tmp_path, "m")
    assert layout.checkpoint == tmp_path / "m" / "train" / "model.pt"
    assert layout.mlpackage("fp16") == tmp_path / "m" / "coreml" / "fp16.mlpackage"
    assert layout.relative(layout.parity_record) == "verify/parity.json" == RELATIVE.parity_record.as_posix()


def test_stage_stamp_round_trip_and_unreadable_is_none(tmp_path):
    write_stamp(tmp_path, StageStamp("train", "f" * 64, "o" * 64, 12.34567, 20.0))
    assert read_stamp(tmp_path, "train") == StageStamp("train", "f" * 64, "o" * 64, 12.346, 20.0)
    assert json.loads(Path(tmp_path / ".stamps" / "train.json").read_text())["seconds"] == 12.346
    (tmp_path / ".stamps" / "train.json").write_text("{")
    assert read_stamp(tmp_path, "train") is None and read_stamp(tmp_path, "data") is None
