"""End to end (issue 24): three people's Apple Watch exports, labelled per reading and per wake-up,
train and fine-tune the bundled model types (tiny configs, seconds), train again from InfluxDB, and
``edgekit forecast`` writes back the score ``edgekit predict`` prints for the same export."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.cli.main import main
from helpers import out_json as _json
from helpers import tiny_config, write_apple_export

pytestmark = pytest.mark.integration

PEOPLE = ("alice", "bob", "carol")
DAYS = 6
PER_DAY = 8  # a background reading about every 3 h
OFFSET = "+01:00"  # the exports' local time (startDate ... +0100)


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """Per person: an Apple export (strained days alternate with healthy ones), the readings as one RR
    table (data ingest), a labels file with one row per reading, and the wake-up scores."""
    root = tmp_path_factory.mktemp("e2e")
    rng = np.random.default_rng(5)
    labels, scores, exports = ["subject,time_s,label"], ["subject,time_s,fatigue_score"], {}
    for i, who in enumerate(PEOPLE):
        day_state = ["strained" if (d + i) % 3 == 0 else "healthy" for d in range(DAYS)]
        states = [day_state[r // PER_DAY] for r in range(DAYS * PER_DAY)]
        ex = write_apple_export(root / f"{who}.xml", DAYS * PER_DAY, seed=10 + i, every_h=24 / PER_DAY,
                                start="2024-03-04 07:00:00 +0100", states=states)
        exports[who] = ex["path"]
        labels += [f"{who},{t:.3f},{s}" for t, s in zip(ex["starts"], states)]
        wake0 = ex["starts"][0] - 25 * 60  # 06:35 local, before the day's first reading
        for d in range(DAYS):
            score = (40.0 if day_state[d] == "strained" else 80.0) + rng.uniform(-5, 5)
            scores.append(f"{who},{wake0 + 86400 * d:.3f},{score:.2f}")
    (root / "labels.csv").write_text("\n".join(labels) + "\n")
    (root / "wake.csv").write_text("\n".join(scores) + "\n")
    args = ["-q", "data", "ingest", *map(str, exports.values()), "--format", "apple-health",
            "--out", str(root / "readings.csv")]
    for who in PEOPLE:
        args += ["--subject", who]
    assert main(args) == 0
    return {"root": root, "exports": exports}


@pytest.mark.slow
def test_own_data_trains_finetunes_and_forecast_equals_predict(labelled, influx_server, capsys, tmp_path):
    root = labelled["root"]
    inputs = ["readings.csv", "labels.csv", "wake.csv"]
    cfgs = {k: tiny_config(root, k, inputs, name=f"{k}_own") for k in ("reading", "slots")}
    cfgs["slots"].write_text(cfgs["slots"].read_text().replace("[train]", f'utc_offset = "{OFFSET}"\n[train]'))
    build = root / "build"
    for kind, cfg in cfgs.items():
        assert main(["-q", "build", "--config", str(cfg), "--out", str(build)]) == 0, capsys.readouterr().err
        summary = json.loads((build / f"{kind}_own" / "data" / "summary.json").read_text())
        assert summary["source"] == "files" and not summary["synthetic"]
        if kind == "reading":  # one window per heartbeat series, labelled per reading
            assert summary["n_windows"] == len(PEOPLE) * DAYS * PER_DAY and summary["n_excluded_label"] == 0
        else:  # one example per wake-up with a score in force
            assert summary["n_series"] == len(PEOPLE) * (DAYS - 1)
        metrics = json.loads((build / f"{kind}_own" / "train" / "metrics.json").read_text())
        assert metrics["synthetic_data"] is False and "warnings" in metrics
    capsys.readouterr()

    # fine-tuning on one person's own files: accepted or refused with its figures, never a traceback
    for kind, cfg in cfgs.items():
        ckpt = build / f"{kind}_own" / "train" / "model.pt"
        code = main(["train", "--config", str(cfg), "--out", str(build), "--init-from", str(ckpt),
                     "--data", str(root / "readings.csv"), str(root / "labels.csv"), str(root / "wake.csv")])
        err = capsys.readouterr().err
        assert code in (0, 1) and "Traceback" not in err
        if code == 1:
            assert "not written" in err.strip().splitlines()[-1]
        m = json.loads((build / f"{kind}_own_personal" / "train" / "metrics.json").read_text())
        assert m["epochs_run"] >= 1 and isinstance(m["warnings"], list) and "accepted" in m

    # alice's export pushed as it comes; forecast answers what predict answers for the same export
    url, db = influx_server.url, "own"
    alice = labelled["exports"]["alice"]
    assert main(["-q", "data", "push", str(alice), "--format", "apple-health", "--subject", "alice",
                 "--influx", url, "--database", db, "--create-database"]) == 0
    assert main(["predict", "--config", str(cfgs["slots"]), str(alice), "--format", "apple-health",
                 "--subject", "alice", "--utc-offset", OFFSET, "--build", str(build), "--json"]) == 0
    predicted = _json(capsys)
    assert len(predicted["predictions"]) == 1 and predicted["warnings"] == []
    assert main(["forecast", "--config", str(cfgs["slots"]), "--influx", url, "--database", db,
                 "--utc-offset", OFFSET, "--build", str(build), "--json"]) == 0
    forecast = _json(capsys)
    p, f = predicted["predictions"][0], forecast["forecasts"][0]
    assert f["subject"] == "alice" and f["score"] == p["fatigue_score"] and f["zone"] == p["zone"]
    assert f["time_ns"] == round(p["end_time_s"] * 1e9)
    from edgekit.data.influx.client import InfluxClient
    from edgekit.run.forecast import read_forecasts

    with InfluxClient(url, db) as c:
        back = read_forecasts(c)
    assert [(r["subject"], r["score"], r["time_ns"]) for r in back] == [("alice", f["score"], f["time_ns"])]


def test_bundled_types_train_from_influxdb_as_from_the_pushed_file(labelled, influx_server, tmp_path):
    """A labelled RR table (per-beat label and fatigue_score columns) pushed to InfluxDB gives the data
    stage the same examples as the file itself, for both bundled HRV model types."""
    from edgekit.pipeline.build import run_data_stage
    from edgekit.config.load import load_config
    from edgekit.data.readers.labelled import load_labelled_files

    root = labelled["root"]
    d = load_labelled_files(load_config(tiny_config(root, "reading", ["readings.csv", "labels.csv", "wake.csv"],
                                                    name="all_labels")))
    t = d.table
    names = ["healthy", "strained", "burnout_risk"]
    rows = ["subject,segment,time_s,rr_ms,flags,label,fatigue_score"] + [
        f"{s},{g},{ts:.6f},{r:.6f},{fl},{names[lab] if lab >= 0 else ''},{'' if sc != sc else f'{sc:.2f}'}"
        for s, g, ts, r, fl, lab, sc in zip(t.subject.tolist(), t.segment.tolist(), t.time_s.tolist(),
                                            t.rr_ms.tolist(), t.flags.tolist(), d.beat_label.tolist(),
                                            d.beat_score.tolist())]
    table = tmp_path / "labelled.csv"
    table.write_text("\n".join(rows) + "\n")
    db = "own_train"
    assert main(["-q", "data", "push", str(table), "--influx", influx_server.url, "--database", db,
                 "--create-database"]) == 0
    for kind in ("reading", "slots"):
        files = load_config(tiny_config(tmp_path, kind, [table.name], name=f"{kind}_f"))
        p = tiny_config(tmp_path, kind, [], name=f"{kind}_i")
        p.write_text(p.read_text().replace('source = "files"\ninputs = []',
                                           f'source = "influxdb"\nurl = "{influx_server.url}"\ndatabase = "{db}"'))
        influx = load_config(p)
        influx.model.name = files.model.name
        a = run_data_stage(files, tmp_path / "a")
        b = run_data_stage(influx, tmp_path / "b")
        assert a["n_windows"] == b["n_windows"] > 0
        fa = np.load(tmp_path / "a" / files.name / "data" / "windows.npz")
        fb = np.load(tmp_path / "b" / files.name / "data" / "windows.npz")
        for k in ("X", "y", "subject"):
            assert np.array_equal(fa[k], fb[k]), (kind, k)


def test_push_without_a_clock_warns_and_start_places_it(influx_server, tmp_path, capsys):
    """Was: RR files without a clock were pushed at 1970, where the dashboard and forecast never look."""
    rec = tmp_path / "rec.txt"
    rec.write_text("\n".join(f"{850 + 30 * np.sin(i / 3):.1f}" for i in range(300)) + "\n")
    url, db = influx_server.url, "noclock"
    assert main(["data", "push", str(rec), "--format", "rr-text", "--influx", url, "--database", db,
                 "--create-database"]) == 0
    err = capsys.readouterr().err
    assert "no clock" in err and "1970-01-01" in err and "--start" in err
    assert main(["data", "push", str(rec), "--format", "rr-text", "--subject", "dated", "--start",
                 "2024-05-01T07:30:00+02:00", "--influx", url, "--database", db]) == 0
    assert "no clock" not in capsys.readouterr().err
    first = influx_server.query('SELECT first("rr_ms") FROM "rr" WHERE "subject" = \'dated\'', db=db)
    t_ns = first["results"][0]["series"][0]["values"][0][0]
    assert abs(t_ns / 1e9 - (1714541400 + 0.85)) < 0.1  # 05:30Z plus the first interval
