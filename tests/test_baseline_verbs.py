"""The personal baseline next to every answer: ``edgekit hrv`` and ``edgekit predict`` (human text and
``--json`` keys), the data stage of a build from files (``data/summary.json``) and its report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgekit.cli.main import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def month(synth_cohort) -> Path:
    """Three weeks of simulated Apple Watch background readings of one subject (edgekit's RR table)."""
    return synth_cohort(subjects=1, days=21, seed=5, profiles="watch", name="watch.csv")


def test_hrv_json_and_text_show_the_baseline(month, capsys):
    assert main(["hrv", str(month), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    b = doc["baseline"]["S000"]
    assert b["window"] == "night" and b["window_hours"] == [0.0, 6.0] and b["utc_offset_s"] == 0.0
    assert len(b["days"]) >= 20 and b["latest"] == b["days"][-1]
    assert b["latest"]["trend"] in ("below", "within", "above") and b["latest"]["normal_range_low_ln"] is not None
    assert b["days"][0]["rolling_mean_7d_ln"] is None and "rolling_mean_7d_ln" in b["days"][0]["missing"]
    assert sum(b["trend_counts"].values()) == sum(1 for d in b["days"] if d["trend"])
    assert doc["rmssd_ms"] > 0  # the features are still there
    assert main(["hrv", str(month)]) == 0
    text = capsys.readouterr().out
    assert "baseline of S000 (the wearer's own, label-free; night readings 00:00-06:00 UTC+00:00)" in text
    assert "7-day mean" in text and b["latest"]["date"] in text
    # another time zone moves readings across midnight: other days, other values
    assert main(["hrv", str(month), "--json", "--utc-offset", "+05:30", "--baseline-window", "all"]) == 0
    other = json.loads(capsys.readouterr().out)["baseline"]["S000"]
    assert other["utc_offset_s"] == 19800.0 and other["window"] == "all" and other["days"] != b["days"]


def test_hrv_refuses_a_bad_utc_offset_in_one_line(month, capsys):
    assert main(["hrv", str(month), "--utc-offset", "+25:00"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("edgekit: error: --utc-offset '+25:00'")


def _tiny_reading_model(root: Path) -> Path:
    """configs/hrv_reading.toml with an untrained checkpoint under root/build (predict needs no more)."""
    import torch

    from edgekit.config.load import load_config
    from edgekit.models.checkpoint import save_checkpoint
    from edgekit.tasks import task_for

    (root / "configs").mkdir(parents=True, exist_ok=True)
    cfg_path = root / "configs" / "hrv_reading.toml"
    # the bundled config's real sets (relative to configs/) made absolute for the copy
    cfg_path.write_text((ROOT / "configs" / "hrv_reading.toml").read_text().replace(
        '"../realdata/hrv"', f'"{(ROOT / "realdata" / "hrv").as_posix()}"'))
    cfg = load_config(cfg_path)
    torch.manual_seed(0)
    model = task_for(cfg.model.type).build_model(cfg.model.params)
    save_checkpoint(root / "build" / cfg.name / "train" / "model.pt", model, {
        "model_type": cfg.model.type, "model_config": model.config.to_dict(),
        "label_names": ["healthy", "strained", "burnout_risk"], "normalization": {}, "data_fingerprint": "ab" * 32,
        "edgekit_version": "0.1.0", "seed": 0, "model_name": cfg.name})
    return cfg_path


def test_predict_puts_the_baseline_next_to_every_answer(month, tmp_path, capsys):
    cfg = _tiny_reading_model(tmp_path)
    args = ["predict", "--config", str(cfg), str(month), "--build", str(tmp_path / "build")]
    assert main(args + ["--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    days = {d["date"]: d for d in doc["baselines"]["S000"]["days"]}
    assert len(doc["predictions"]) > 50
    for row in doc["predictions"]:
        b = row["baseline"]
        assert b is not None and b["trend"] == days[b["date"]]["trend"] and b["today"] == days[b["date"]]["today"]
        assert b["ln_rmssd"] == days[b["date"]]["ln_rmssd"]
        assert {"label", "probabilities"} <= set(row)  # the model's answer is unchanged beside it
    assert any(row["baseline"]["trend"] for row in doc["predictions"])
    assert main(args) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].startswith("hrv_reading (torch):") and "baseline of S000" in text


def test_build_from_files_records_and_reports_the_baseline_per_subject(tmp_path):
    import copy

    from edgekit.pipeline.build import run_data_stage
    from edgekit.config.load import load_config
    from edgekit.report import run
    from test_report_fixtures import make_build

    spot = tmp_path / "spot.csv"  # hourly 150 s spot readings: 128-beat windows for the classifier
    assert main(["-q", "data", "synth", "--out", str(spot), "--subjects", "2", "--days", "15", "--seed", "5"]) == 0
    cfg = load_config(ROOT / "configs" / "hrv_transformer.toml")
    files = copy.deepcopy(cfg)
    files.data.source, files.data.inputs = "files", [str(spot)]
    summary = run_data_stage(files, tmp_path / "files")
    assert set(summary["baseline"]) == {"S000", "S001"}
    base = summary["baseline"]["S000"]
    assert base["latest"]["trend"] in ("below", "within", "above") and "days" not in base
    assert json.loads((tmp_path / "files" / cfg.name / "data" / "summary.json").read_text())["baseline"] == \
        summary["baseline"]
    # the report of such a build shows it per subject (a fake build given this data summary)
    root = tmp_path / "proj"
    build = make_build(root)
    path = build / "hrv_transformer" / "data" / "summary.json"
    doc = json.loads(path.read_text())
    doc.update(source="files", synthetic=True, baseline=summary["baseline"])
    path.write_text(json.dumps(doc))
    run(load_config(root / "configs" / "hrv_transformer.toml"), build)
    md = (build / "hrv_transformer" / "report" / "report.md").read_text()
    html = (build / "hrv_transformer" / "report" / "report.html").read_text()
    rep = json.loads((build / "hrv_transformer" / "report" / "report.json").read_text())
    assert "## Personal baseline per subject" in md and f"| S000 | {base['n_readings']} |" in md
    assert base["latest"]["date"] in md and "Personal baseline per subject" in html
    assert rep["baseline"]["source"] == "data/summary.json#/baseline"
