"""InfluxDB source and sink on a real ``influxd``: push, read back for training, faults, hostile names."""

from __future__ import annotations

import copy
import http.server
import itertools
import threading
from pathlib import Path

import numpy as np
import pytest

from edgekit.pipeline.build import run_data_stage
from edgekit.cli.main import main
from edgekit.config.load import ConfigError, load_config
from edgekit.data.influx.client import InfluxClient
from edgekit.data.influx.protocol import ns_to_seconds, seconds_to_ns
from edgekit.core.errors import EdgekitError
from influx_server import InfluxServer, influx_server, require_influxd  # noqa: F401 - fixture

pytestmark = pytest.mark.integration
_db_ids = itertools.count()


def _db(server, name=None):
    name = name or f"t{next(_db_ids)}"
    server.query(f'CREATE DATABASE "{name}"')
    return name


def _points(server, db, measurement):
    """{(subject, time ns): row dict} read with plain urllib (not edgekit's client)."""
    res = server.query(f'SELECT * FROM "{measurement}" GROUP BY "subject"', db=db)["results"][0]
    out = {}
    for s in res.get("series", []):
        for v in s["values"]:
            row = dict(zip(s["columns"], v))
            out[(s["tags"]["subject"], row.pop("time"))] = row
    return out


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    path = tmp_path_factory.mktemp("cohort") / "cohort.csv"
    assert main(["data", "synth", "--out", str(path), "--subjects", "3", "--days", "4", "--seed", "5"]) == 0
    return path


def test_time_conversion_is_exact():
    rng = np.random.default_rng(0)
    for t in (1704067200.0 + rng.uniform(0, 3e8, 2000)).round(6).tolist() + [0.0, 1.5, -2.25, 1e-9]:
        assert ns_to_seconds(seconds_to_ns(t)) == t


def _one_error(err):
    """The single ``edgekit: error`` line of stderr (progress bars may precede it)."""
    lines = [ln for ln in err.splitlines() if ln.startswith("edgekit")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _cfg(kind, url, db, tmp_path):
    src = {"strain": "configs/hrv_transformer.toml", "lstm": "configs/hrv_lstm.toml"}[kind]
    text = Path(src).read_text()
    text = text.replace('source = "synthetic"', f'source = "influxdb"\nurl = "{url}"\ndatabase = "{db}"')
    for key in ("subjects = 48\n", "seed = 7\n"):
        text = text.replace(key, "", 1)
    p = tmp_path / f"{kind}.toml"
    p.write_text(text)
    return load_config(p)


@pytest.mark.parametrize("kind", ["strain", "lstm"])
def test_windows_from_influxdb_equal_windows_from_the_file(influx_server, cohort, tmp_path, kind):
    db = _db(influx_server)
    assert main(["data", "push", str(cohort), "--influx", influx_server.url, "--database", db]) == 0
    cfg = _cfg(kind, influx_server.url, db, tmp_path)
    files = copy.deepcopy(cfg)
    files.data.source, files.data.inputs = "files", [str(cohort)]
    sa = run_data_stage(cfg, tmp_path / "influx")
    sb = run_data_stage(files, tmp_path / "files")
    a = np.load(tmp_path / "influx" / cfg.name / "data" / "windows.npz")
    b = np.load(tmp_path / "files" / cfg.name / "data" / "windows.npz")
    assert sorted(a.files) == sorted(b.files)
    for k in a.files:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert sa["n_windows"] > 10 and sa["fingerprint"] == sb["fingerprint"]
    assert sa["synthetic"] and sa["source"] == "influxdb"


def test_push_twice_leaves_identical_points(influx_server, cohort):
    db = _db(influx_server)
    args = ["data", "push", str(cohort), "--influx", influx_server.url, "--database", db]
    assert main(args) == 0
    first = {m: _points(influx_server, db, m) for m in ("rr", "label", "hrv")}
    assert main(args) == 0
    second = {m: _points(influx_server, db, m) for m in ("rr", "label", "hrv")}
    assert first == second
    n_beats = sum(1 for _ in open(cohort)) - 2  # comment + header
    assert len(first["rr"]) == n_beats and len(first["label"]) == n_beats and len(first["hrv"]) > 50


HOSTILE = ['a" OR 1=1 --', "x,y z=w", "Zoë ☃ 名前", "back\\slash", "it's", "=", " lead, trail "]


def test_hostile_subject_names_round_trip(influx_server, tmp_path):
    db = _db(influx_server)
    rec = tmp_path / "rec.txt"
    rec.write_text("\n".join(str(800 + 10 * (i % 7)) for i in range(200)) + "\n")
    for name in HOSTILE:
        assert main(["data", "push", str(rec), "--format", "rr-text", "--subject", name,
                     "--influx", influx_server.url, "--database", db]) == 0
    pts = _points(influx_server, db, "rr")
    assert {s for s, _ in pts} == set(HOSTILE)
    assert all(sum(1 for s, _ in pts if s == n) == 200 for n in HOSTILE)
    # and edgekit's own reader finds each one by its exact name (InfluxQL escaping)
    from edgekit.data.influx.read_back import load_influx

    for name in HOSTILE:
        cfg = _cfg("lstm", influx_server.url, db, tmp_path)
        cfg.data.subjects = [name]
        data = load_influx(cfg)
        assert set(data.table.subject.tolist()) == {name}
        with pytest.raises(EdgekitError, match="labels are required"):  # rr-text has no labels
            run_data_stage(cfg, tmp_path / "b")


def test_subject_with_newline_is_refused_before_sending(influx_server, tmp_path, capsys):
    db = _db(influx_server)
    rec = tmp_path / "rec.txt"
    rec.write_text("800\n810\n820\n")
    assert main(["data", "push", str(rec), "--format", "rr-text", "--subject", "a\nb",
                 "--influx", influx_server.url, "--database", db]) == 1
    assert "control character" in capsys.readouterr().err
    assert _points(influx_server, db, "rr") == {}


def test_wrong_database_is_one_line(influx_server, cohort, capsys):
    assert main(["data", "push", str(cohort), "--influx", influx_server.url, "--database", "nope"]) == 1
    err = _one_error(capsys.readouterr().err)
    assert "database 'nope' not found" in err


def test_server_down_is_one_line_naming_it(tmp_path, cohort, capsys, monkeypatch):
    from edgekit.data.influx import client as influx

    monkeypatch.setattr(influx, "BACKOFF_S", 0.01)
    url = "http://127.0.0.1:9"  # discard port: nothing listens
    assert main(["data", "push", str(cohort), "--influx", url, "--database", "x"]) == 1
    err = _one_error(capsys.readouterr().err)
    assert "http://127.0.0.1:9" in err and "cannot connect" in err
    assert "5 attempts" in err


class _Garbage(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        body = b"<html>hello, I am not InfluxDB</html>"
        self.send_response(200 if "ping" not in self.path else 204)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *a):
        pass


def test_server_answering_garbage_is_one_line(tmp_path, capsys):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Garbage)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}"
        c = InfluxClient(url, "db")
        with pytest.raises(EdgekitError, match="not InfluxDB JSON"):
            c.query('SELECT * FROM "rr"')
        with pytest.raises(EdgekitError, match="unexpected HTTP 200"):
            c.write(["rr,subject=a rr_ms=1.0 1"])
        with pytest.raises(EdgekitError, match="not InfluxDB JSON"):
            run_data_stage(_cfg("lstm", url, "db", tmp_path), tmp_path / "b")
    finally:
        srv.shutdown()
        srv.server_close()


def test_bad_credentials_never_show_the_password(tmp_path, cohort, capsys, monkeypatch):
    require_influxd()
    srv = InfluxServer(tmp_path / "auth", auth=True).start()
    try:
        srv.query("CREATE USER admin WITH PASSWORD 'right-pw' WITH ALL PRIVILEGES")
        srv.query('CREATE DATABASE "a"', auth=("admin", "right-pw"))
        secret = "s3cr3t-Wr0ng-p@ss"
        monkeypatch.setenv("EDGEKIT_INFLUX_USER", "admin")
        monkeypatch.setenv("EDGEKIT_INFLUX_PASSWORD", secret)
        assert main(["data", "push", str(cohort), "--influx", srv.url, "--database", "a"]) == 1
        err = capsys.readouterr().err
        assert "authentication failed" in _one_error(err) and secret not in err
        # a password file works, and the right password pushes
        pw = tmp_path / "pw"
        pw.write_text("right-pw\n")
        monkeypatch.delenv("EDGEKIT_INFLUX_PASSWORD")
        monkeypatch.setenv("EDGEKIT_INFLUX_PASSWORD_FILE", str(pw))
        assert main(["data", "push", str(cohort), "--influx", srv.url, "--database", "a"]) == 0
        # credentials in the URL are refused without echoing them
        assert main(["data", "push", str(cohort), "--influx", f"http://admin:{secret}@127.0.0.1:{srv.port}",
                     "--database", "a"]) == 1
        err = capsys.readouterr().err
        assert "must not hold credentials" in err and secret not in err
        # and a config cannot hold one either
        cfgp = tmp_path / "c.toml"
        cfgp.write_text(Path("configs/hrv_lstm.toml").read_text().replace(
            'source = "synthetic"', f'source = "influxdb"\nurl = "http://u:{secret}@h:1"\ndatabase = "a"').replace(
            "subjects = 48\n", ""))
        with pytest.raises(ConfigError) as ei:
            load_config(cfgp)
        assert secret not in str(ei.value)
    finally:
        srv.stop()


def test_server_killed_mid_push_then_second_push_completes(tmp_path, cohort, capsys, monkeypatch):
    require_influxd()
    from edgekit.data.influx import client as influx

    monkeypatch.setattr(influx, "RETRIES", 3)
    monkeypatch.setattr(influx, "BACKOFF_S", 0.05)
    monkeypatch.setattr(influx, "BATCH_POINTS", 500)
    srv = InfluxServer(tmp_path / "kill").start()
    try:
        srv.query('CREATE DATABASE "k"')
        real_write = influx.InfluxClient.write
        calls = {"n": 0}

        def write(self, lines):
            calls["n"] += 1
            if calls["n"] == 5:
                srv.kill()
            return real_write(self, lines)

        monkeypatch.setattr(influx.InfluxClient, "write", write)
        assert main(["data", "push", str(cohort), "--influx", srv.url, "--database", "k"]) == 1
        out = capsys.readouterr()
        err = _one_error(out.err)
        assert srv.url in err and "2000 points were written" in err
        assert "wrote 1" not in out.err and "wrote" not in out.out
        srv.start()
        part = _points(srv, "k", "rr")
        assert 0 < len(part) < sum(1 for _ in open(cohort)) - 2
        monkeypatch.setattr(influx.InfluxClient, "write", real_write)
        assert main(["data", "push", str(cohort), "--influx", srv.url, "--database", "k"]) == 0
        full = _points(srv, "k", "rr")
        n_beats = sum(1 for _ in open(cohort)) - 2
        assert len(full) == n_beats  # no duplicates: one point per (subject, time)
        assert all(full[k] == v for k, v in part.items())
    finally:
        srv.stop()


def test_config_validation(tmp_path):
    base = Path("configs/hrv_lstm.toml").read_text()

    def cfg(data_lines):
        p = tmp_path / "c.toml"
        p.write_text(base.replace('source = "synthetic"', data_lines).replace("subjects = 48\n", ""))
        return p

    load_config(cfg('source = "influxdb"\nurl = "http://h:8086"\ndatabase = "d"\nsubjects = ["a", "b"]'))
    for lines, msg in [
        ('source = "influxdb"\ndatabase = "d"', "URL is required"),
        ('source = "influxdb"\nurl = "ftp://h"\ndatabase = "d"', "expected http"),
        ('source = "influxdb"\nurl = "http://h:8086"', "data.database"),
        ('source = "influxdb"\nurl = "http://h:8086"\ndatabase = "d"\nsubjects = [1]', "subject names"),
        ('source = "synthetic"\nurl = "http://h:8086"', "need data.source = 'influxdb'"),
    ]:
        with pytest.raises(ConfigError, match=msg):
            load_config(cfg(lines))


def test_streamed_push_sends_what_the_in_memory_path_sends(cohort, monkeypatch, tmp_path):
    from edgekit.data.influx import table_stream
    from edgekit.data.influx import tables as influx_io

    monkeypatch.setattr(table_stream, "CHUNK_BEATS", 700)  # many chunks, each ending at a segment boundary
    st = table_stream.TableStream([cohort], None)
    assert st.check()
    data = influx_io.read_inputs([cohort], None, None, None)
    assert st.hourly == influx_io.hourly_points(data.table)  # bit-identical hourly RMSSD
    assert list(st.lines()) == list(influx_io.rr_lines(data))
    assert st.n_beats == len(data.table)
    # a table whose segments are not in time order is not streamed (the caller reads it whole)
    lines = cohort.read_text().splitlines()
    body = lines[2:]
    swapped = tmp_path / "swapped.csv"
    swapped.write_text("\n".join(lines[:2] + body[len(body) // 2:] + body[:len(body) // 2]) + "\n")
    assert not table_stream.TableStream([swapped], None).check()


def test_push_refuses_bad_rows_before_sending_anything(influx_server, cohort, tmp_path, capsys):
    db = _db(influx_server)
    lines = cohort.read_text().splitlines()
    bad = tmp_path / "bad.csv"
    lines[-3] = lines[-3].replace(",", ",x", 1)
    bad.write_text("\n".join(lines) + "\n")
    assert main(["data", "push", str(bad), "--influx", influx_server.url, "--database", db]) == 1
    assert f"line {len(lines) - 2}: non-numeric" in _one_error(capsys.readouterr().err)
    assert _points(influx_server, db, "rr") == {}


def test_hostile_subject_names_train_like_the_file(influx_server, cohort, tmp_path):
    """A labelled table whose subjects have hostile names: the InfluxDB windows equal the file's."""
    import csv

    names = {"S000": 'a" OR 1=1 --', "S001": "x,y z=w", "S002": "Zoë ☃ 名前 'q'"}
    src = cohort.read_text().splitlines()
    out = tmp_path / "hostile.csv"
    with open(out, "w", newline="", encoding="utf-8") as fh:
        fh.write(src[0] + "\n" + src[1] + "\n")
        w = csv.writer(fh, lineterminator="\n")
        for row in csv.reader(src[2:]):
            row[0] = names[row[0]]
            w.writerow(row)
    db = _db(influx_server)
    assert main(["data", "push", str(out), "--influx", influx_server.url, "--database", db]) == 0
    cfg = _cfg("lstm", influx_server.url, db, tmp_path)
    cfg.data.subjects = sorted(names.values())
    files = copy.deepcopy(cfg)
    files.data.source, files.data.inputs, files.data.subjects = "files", [str(out)], 48
    a = run_data_stage(cfg, tmp_path / "influx")
    b = run_data_stage(files, tmp_path / "files")
    assert a["n_windows"] > 0 and a["fingerprint"] == b["fingerprint"] and a["n_subjects"] == 3


def test_subject_option_refuses_a_table_of_several_subjects(cohort, capsys):
    assert main(["data", "push", str(cohort), "--subject", "alice", "--influx", "http://127.0.0.1:9",
                 "--database", "x"]) == 1
    assert "more than one subject; --subject names one" in _one_error(capsys.readouterr().err)
