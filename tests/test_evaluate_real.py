"""The evaluate stage's record (edgekit.tasks.real) and its place in the report and build summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgekit.config.load import ConfigError, load_config
from edgekit.core.errors import EdgekitError
from edgekit.report import run, write_build_summary
from edgekit.tasks.real import REAL_JSON, Goal, RealEvaluation, Table, load_real
from test_report_fixtures import make_build

MODELS = ("hrv_transformer", "hrv_lstm")


def _evaluation() -> RealEvaluation:
    return RealEvaluation(
        set="hrv", title="real HRV set", n_recordings=3, n_persons=2, holdout_persons=["p2"],
        goals=[Goal("healthy adults: share of readings burnout_risk", 0.05, "<= 0.10", True, "all"),
               Goal("healthy adults: share of readings healthy", 0.3, ">= 0.50", False, "holdout")],
        tables=[Table("per profile", ["profile", "readings", "healthy"], [["rest", 40, 0.5]], "a note")],
        warnings=["few holdout persons"], series={"x": [1.0, float("nan")]})


def test_record_round_trips_through_json_without_nan():
    doc = _evaluation().to_json()
    text = json.dumps(doc, allow_nan=False)
    back = RealEvaluation.from_json(json.loads(text), "x")
    assert back.goals[1].met is False and back.missed == [back.goals[1]]
    assert back.series["x"] == [1.0, None]
    with pytest.raises(EdgekitError, match="not an edgekit real-set evaluation"):
        RealEvaluation.from_json({"schema": 99}, "x")


def test_report_and_summary_show_real_figures_labelled(tmp_path: Path):
    root = tmp_path / "proj"
    build = make_build(root)
    model_dir = build / "hrv_transformer"
    (model_dir / REAL_JSON).parent.mkdir(parents=True)
    (model_dir / REAL_JSON).write_text(json.dumps({"model": "hrv_transformer", "sets": [_evaluation().to_json()]}))
    assert load_real(model_dir)[0].n_persons == 2
    cfgs = [load_config(root / "configs" / f"{m}.toml") for m in MODELS]
    for cfg in cfgs:
        run(cfg, build)
    write_build_summary(cfgs, build)
    md = (model_dir / "report" / "report.md").read_text()
    assert "## Real recordings" in md and "**synthetic**" in md and "holdout, never tuned on: p2" in md
    assert "❌ healthy adults: share of readings healthy: 0.3 (goal >= 0.50; holdout)" in md
    assert "Real recordings" in (model_dir / "report" / "report.html").read_text()
    assert "Real recordings" not in (build / "hrv_lstm" / "report" / "report.md").read_text()
    summary = (build / "report.md").read_text()
    assert "**real**" in summary and "✅ healthy adults: share of readings burnout_risk" in summary


def test_real_sets_must_be_set_folders(tmp_path: Path):
    src = Path(__file__).resolve().parent.parent / "configs" / "hrv_slots.toml"
    cfg = tmp_path / "c.toml"
    cfg.write_text(src.read_text().replace('real_sets = ["../realdata/hrv"]', 'real_sets = ["nowhere"]'))
    with pytest.raises(ConfigError, match="evaluate.real_sets: 'nowhere' is not a real-set folder"):
        load_config(cfg)
    (tmp_path / "nowhere").mkdir()
    (tmp_path / "nowhere" / "manifest.toml").write_text("")
    assert load_config(cfg).real_set_paths() == [(tmp_path / "nowhere").resolve()]
