"""``edgekit predict``, ``edgekit forecast`` and ``edgekit dashboard``: models trained from InfluxDB on a
real ``influxd``, forecasts written and read back, the dashboard validated against Grafana's schema."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgekit.cli.main import main
from edgekit.config.load import load_config
from helpers import CONFIG_OF, bundled_config, influx_source
from helpers import out_json as _json


ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT.parent / "shared" / "grafana" / "dashboard.jsonschema.json"


def _config(kind, url, db, tmp_path):
    # fp32 only, with the default compressed_base = "fp16" (once a KeyError: no fp16 program made)
    return bundled_config(tmp_path, CONFIG_OF[kind], {
        **influx_source(url, db), "epochs = 40": "epochs = 2", "epochs = 60": "epochs = 2",
        'variants = ["fp32", "fp16", "int8", "palette6", "palette4", "w8a8"]': 'variants = ["fp32"]'}, stem=kind)


@pytest.fixture(scope="module")
def built(influx_server, synth_cohort, tmp_path_factory):
    """A synthetic cohort pushed to InfluxDB, both models trained from InfluxDB and converted (fp32)."""
    from edgekit.pipeline.build import run_stage

    root = tmp_path_factory.mktemp("built")
    cohort = synth_cohort(subjects=6, days=3, seed=3)
    db = "models"
    assert main(["data", "push", str(cohort), "--influx", influx_server.url, "--database", db,
                 "--create-database"]) == 0
    cfgs = {}
    for kind in ("strain", "lstm"):
        cfg = load_config(_config(kind, influx_server.url, db, root))
        for stage in ("data", "train", "convert"):
            run_stage(cfg, stage, root / "build")
        cfgs[kind] = cfg
    return {"root": root, "cohort": cohort, "db": db, "url": influx_server.url, "cfg": cfgs,
            "build": root / "build"}


@pytest.mark.slow
@pytest.mark.integration
def test_predict_strain_torch_and_coreml_agree(built, capsys):
    cfg = built["cfg"]["strain"]
    args = ["predict", "--config", str(cfg.path), str(built["cohort"]), "--build", str(built["build"]), "--json"]
    assert main(args) == 0
    torch_out = _json(capsys)
    assert main(args + ["--variant", "fp32"]) == 0
    ml_out = _json(capsys)
    a, b = torch_out["predictions"], ml_out["predictions"]
    assert torch_out["variant"] == "torch" and ml_out["variant"] == "fp32" and len(a) == len(b) > 10
    # predict windows the recording as the data stage did: the same number of windows
    summary = json.loads((built["build"] / cfg.name / "data" / "summary.json").read_text())
    assert len(a) == summary["n_windows"] + summary["n_excluded_label"]
    for ra, rb in zip(a, b):
        pa, pb = np.array(list(ra["probabilities"].values())), np.array(list(rb["probabilities"].values()))
        assert abs(pa.sum() - 1) < 1e-5 and np.abs(pa - pb).max() < 1e-4
        assert ra["label"] == max(ra["probabilities"], key=ra["probabilities"].get)


@pytest.mark.slow
@pytest.mark.integration
def test_predict_refuses_a_recording_too_short_in_one_line(built, tmp_path, capsys):
    rec = tmp_path / "short.txt"
    rec.write_text("\n".join(str(800 + i % 5) for i in range(60)) + "\n")
    cfg = built["cfg"]["strain"]
    assert main(["predict", "--config", str(cfg.path), str(rec), "--format", "rr-text",
                 "--build", str(built["build"])]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "cannot make a 128-beat window" in err and "60 beats" in err
    assert main(["predict", "--config", str(built["cfg"]["lstm"].path), str(rec), "--format", "rr-text",
                 "--build", str(built["build"])]) == 1
    assert "cannot make a 24-hour RMSSD series" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.integration
def test_predict_unknown_variant_is_one_line(built, capsys):
    cfg = built["cfg"]["strain"]
    assert main(["predict", "--config", str(cfg.path), str(built["cohort"]), "--build", str(built["build"]),
                 "--variant", "int4"]) == 1
    assert "not a variant" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.integration
def test_forecast_writes_back_what_the_data_layer_would_compute(built, capsys):
    from edgekit.data.signal.clean import clean
    from edgekit.data.influx.client import InfluxClient
    from edgekit.data.readers.labelled import read_table_csv
    from edgekit.data.signal.windows import complete_series, hourly_rmssd
    from edgekit.run.forecast import read_forecasts
    from edgekit.run.predict import load_runner

    cfg = built["cfg"]["lstm"]
    assert main(["forecast", "--config", str(cfg.path), "--influx", built["url"], "--database", built["db"],
                 "--build", str(built["build"]), "--json"]) == 0
    printed = _json(capsys)["forecasts"]
    assert len(printed) == 6
    with InfluxClient(built["url"], built["db"]) as c:
        back = read_forecasts(c)
    assert [(r["subject"], r["time_ns"], r["score"], r["zone"], r["model"], r["variant"]) for r in back] == \
        [(r["subject"], r["time_ns"], r["score"], r["zone"], r["model"], r["variant"]) for r in printed]
    # the same input from the file, through the data layer: the same score, bit for bit
    table, _, _, _ = read_table_csv(built["cohort"])
    hr = hourly_rmssd(clean(table, cfg.data.clean, cfg.data.min_rr_ms, cfg.data.max_rr_ms).table,
                      cfg.data.max_artifact_pct)
    runner = load_runner(cfg, built["build"])
    for r in printed:
        h0, rm = hr[r["subject"]]
        end_h = r["time_ns"] // (3600 * 10**9)
        x = complete_series(rm[end_h - 24 - h0:end_h - h0])
        assert x is not None and not np.isnan(rm[end_h - 1 - h0])
        assert runner.run(x[None, :])[0] == pytest.approx(r["score"], abs=1e-9)
        assert 0 <= r["score"] <= 100 and r["zone"] in ("green", "yellow", "red")
    # a Core ML variant through the reference evaluator: tagged as such, within the parity tolerance
    assert main(["forecast", "--config", str(cfg.path), "--influx", built["url"], "--database", built["db"],
                 "--build", str(built["build"]), "--variant", "fp32", "--json"]) == 0
    ml = {r["subject"]: r for r in _json(capsys)["forecasts"]}
    for r in printed:
        assert ml[r["subject"]]["variant"] == "fp32"
        assert abs(ml[r["subject"]]["score"] - r["score"]) < cfg.verify.fp32_score_tol


@pytest.mark.slow
@pytest.mark.integration
def test_forecast_refuses_the_classifier_config(built, capsys):
    assert main(["forecast", "--config", str(built["cfg"]["strain"].path), "--influx", built["url"],
                 "--database", built["db"], "--build", str(built["build"])]) == 1
    assert "fatigue forecaster config" in capsys.readouterr().err


def _validator():
    if not SCHEMA.is_file():
        pytest.skip("Grafana dashboard schema not found at ../shared/grafana/ beside the repository")
    import jsonschema

    return jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))


def test_dashboard_validates_against_grafanas_schema(tmp_path):
    out = tmp_path / "grafana"
    assert main(["dashboard", "--influx-datasource", 'My "Influx", 1', "--out", str(out)]) == 0
    dash = json.loads((out / "dashboards" / "edgekit-fatigue.json").read_text())
    errors = list(_validator().iter_errors(dash))
    assert errors == [], [e.message for e in errors[:5]]
    panels = {p["title"]: p for p in dash["panels"]}
    fc = panels["Fatigue forecast (0-100, next 24 h)"]["fieldConfig"]["defaults"]
    assert fc["max"] == 100 and fc["min"] == 0
    assert [(s["value"], s["color"]) for s in fc["thresholds"]["steps"]] == [(None, "red"), (40, "yellow"),
                                                                            (70, "green")]
    ds = (out / "datasources" / "edgekit-influxdb.yaml").read_text()
    assert "$EDGEKIT_INFLUX_PASSWORD" in ds and "type: influxdb" in ds
    import yaml

    y = yaml.safe_load(ds)["datasources"][0]
    assert y["name"] == 'My "Influx", 1' and y["uid"] == panels["Hourly RMSSD"]["datasource"]["uid"]


@pytest.mark.slow
@pytest.mark.integration
def test_dashboard_queries_run_on_the_real_server(built, tmp_path, influx_server):
    """Every panel query is valid InfluxQL on influxd (Grafana macros filled in) and finds data."""
    from edgekit.run.dashboard import build_dashboard

    dash = build_dashboard("x")
    for p in dash["panels"]:
        for t in p["targets"]:
            q = t["query"].replace("$timeFilter", "time > 0").replace("/^$subject$/", "/^.*$/")
            res = influx_server.query(q, db=built["db"])
            assert "error" not in res["results"][0], (q, res)
            if p["title"] == "Hourly RMSSD":
                series = res["results"][0]["series"]
                assert len(series) == 6 and all(s["tags"]["subject"].startswith("S") for s in series)


def test_dashboard_out_never_overwrites_a_foreign_directory(tmp_path, capsys):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("precious")
    assert main(["dashboard", "--influx-datasource", "x", "--out", str(foreign)]) == 1
    assert "not empty and was not made by 'edgekit dashboard'" in capsys.readouterr().err
    assert (foreign / "notes.txt").read_text() == "precious" and len(list(foreign.iterdir())) == 1
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["dashboard", "--influx-datasource", "x", "--out", str(f)]) == 1 and f.read_text() == "x"
    assert main(["dashboard", "--influx-datasource", "x", "--out", ""]) == 1
    # an empty directory, then edgekit's own directory again, are fine
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["dashboard", "--influx-datasource", "x", "--out", str(empty)]) == 0
    assert main(["dashboard", "--influx-datasource", "y", "--out", str(empty)]) == 0
    assert '"y"' in (empty / "datasources" / "edgekit-influxdb.yaml").read_text()


def test_utc_offset_parses_offsets_and_zones_and_refuses_the_rest():
    from edgekit.core.errors import InputError
    from edgekit.run.predict import utc_offset_seconds

    assert utc_offset_seconds(None) == utc_offset_seconds("UTC") == utc_offset_seconds("Z") == 0.0
    assert utc_offset_seconds("+05:30") == 19800.0 and utc_offset_seconds("-7") == -25200.0
    assert utc_offset_seconds("+0545") == 20700.0
    summer, winter = 1_720_000_000.0, 1_705_000_000.0  # July 2024, January 2024
    assert utc_offset_seconds("Europe/Berlin", summer) == 7200.0 and utc_offset_seconds("Europe/Berlin", winter) == 3600.0
    for bad in ("+15:00", "+05:75", "Mars/Olympus", "5 hours", "../../etc/passwd"):
        with pytest.raises(InputError, match="--utc-offset"):
            utc_offset_seconds(bad)


def test_slots_are_the_wearers_local_clock_hours():
    """One-minute readings at 02:40, 03:10 and 07:10 UTC fill three UTC hours (02, 03, 07); in
    UTC+05:30 they are 08:10, 08:40 and 12:40 local, two local clock hours (08, 12), and the input ends
    at the local hour after the last reading (13:00 local = 07:30 UTC)."""
    from edgekit.data.rr import RRTable
    from edgekit.tasks import task_for

    cfg = load_config(ROOT / "configs" / "hrv_slots.toml")
    task = task_for(cfg.model.type)
    day = 1_700_006_400.0  # 2023-11-15 00:00 UTC
    rng = np.random.default_rng(0)
    t, rr, seg = [], [], []
    for k, start in enumerate((2 * 3600 + 2400, 3 * 3600 + 600, 7 * 3600 + 600)):
        x = 850.0 + 30.0 * rng.standard_normal(70)
        t.extend(day + start + np.cumsum(x) / 1000.0)
        rr.extend(x)
        seg.extend([k] * 70)
    table = RRTable(np.array(["w"] * len(t)), np.array(seg), np.array(t), np.array(rr), np.zeros(len(t), np.uint8))
    X0, info0 = task.model_inputs(cfg, table, "w.csv")
    X1, info1 = task.model_inputs(cfg, table, "w.csv", utc_offset_s=19800.0)
    assert np.flatnonzero(X0[0] > 0).tolist() == [18, 19, 23]  # UTC hours 02, 03, 07 of [-16, 8)
    assert np.flatnonzero(X1[0] > 0).tolist() == [19, 23]  # local hours 08, 12 of [-11, 13)
    assert info0[0]["end_time_s"] == day + 8 * 3600 and info1[0]["end_time_s"] == day + 7.5 * 3600
    assert info1[0]["utc_offset_s"] == 19800.0 and info0[0]["utc_offset_s"] == 0.0
