"""Readers, bad input, Apple Health streaming and the data stage."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from benchmarks.bench_data import write_export
from edgekit.data.readers import formats as readers
from edgekit.data.readers.apple_health import read_export
from edgekit.data.readers.apple_records import parse_time_of_day
from edgekit.data.rr import read_csv, write_csv
from edgekit.core.errors import InputError


def _heartpy_data(name):
    spec = importlib.util.find_spec("heartpy")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / name


def test_rr_text_units(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("812\n790\n\n805\n")
    t = readers.read(p, "rr-text")
    assert t.rr_ms.tolist() == [812, 790, 805]
    p.write_text("0.812\n0.790\n0.805\n")
    assert readers.read(p, "rr-text").rr_ms.tolist() == pytest.approx([812, 790, 805])
    with pytest.raises(InputError):  # forced ms: 0.812 ms is still positive but the unit is honoured
        raise InputError(str(readers.read(p, "rr-text", unit="ms").rr_ms[0]))


def test_polar_and_gap(tmp_path):
    p = tmp_path / "polar_RR.txt"
    p.write_text("Phone timestamp;RR-interval [ms]\n2024-01-01T10:00:00.800;800\n"
                 "2024-01-01T10:00:01.600;800\n2024-01-01T10:00:30.000;810\n2024-01-01T10:00:30.810;810\n")
    t = readers.read(p, "polar")
    assert len(t) == 4 and t.segment.tolist() == [0, 0, 1, 1]


def test_csv_columns(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("t;rr_ms\n1.0;800\n1.8;800\n2.6;800\n")
    t = readers.read(p, "csv", column="rr_ms", time_column="t")
    assert t.rr_ms.tolist() == [800, 800, 800]


@pytest.mark.parametrize("content,fmt,msg", [
    ("", "rr-text", "empty"),
    ("800\nabc\n", "rr-text", "line 2"),
    ("800\nnan\n", "rr-text", "line 2"),
    ("800\n-5\n", "rr-text", "line 2"),
    ("800\n900000\n", "rr-text", "line 2"),
    ("a,b\n1,2\n", "rr-text", "line 2"),
    ("Phone timestamp,RR-interval [ms]\n1,800\n", "polar", "line 1"),
    ("Phone timestamp;RR-interval [ms]\n2024-01-01T10:00:02;800\n2024-01-01T10:00:01;800\n", "polar",
     "backwards"),
    ("rr;t\n800\n", "csv", "line 2"),
])
def test_bad_input_one_line_and_no_output(tmp_path, content, fmt, msg):
    p = tmp_path / "bad.txt"
    p.write_text(content)
    with pytest.raises(InputError) as ei:
        readers.read(p, fmt)
    assert msg in str(ei.value) and str(p) in str(ei.value) and "\n" not in str(ei.value)


def test_csv_roundtrip(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("800\n810\n790\n")
    t = readers.read(p, "rr-text")
    write_csv(t, tmp_path / "o.csv")
    assert read_csv(tmp_path / "o.csv").rr_ms.tolist() == t.rr_ms.tolist()


def test_heartpy_examples():
    t = readers.read(_heartpy_data("data.csv"), "ppg", sample_rate=100.0)
    assert len(t) > 15 and 500 < np.median(t.rr_ms) < 1300
    t2 = readers.read(_heartpy_data("data2.csv"), "ppg", column="hr", time_column="timer")
    assert len(t2) > 50
    t3 = readers.read(_heartpy_data("data3.csv"), "ppg", column="hr", time_column="datetime")
    assert len(t3) > 500


@pytest.mark.parametrize("s,sec", [("11:58:40.71 PM", 86320.71), ("23:58:40.71", 86320.71),
                                   ("23:58:40,71", 86320.71), ("12:00:01.00 AM", 1.0),
                                   ("7:05:00.5 a.m.", 25500.5)])
def test_time_of_day(s, sec):
    assert parse_time_of_day(s) == pytest.approx(sec)


def test_apple_health_counts_and_midnight(tmp_path):
    p = tmp_path / "export.xml"
    c = write_export(p, target_mb=1.0)
    t = read_export(p)
    assert len(t) == c["beats"] - c["hrv_records"]
    assert np.all(t.rr_ms > 500) and np.all(t.rr_ms < 1200)
    assert len(np.unique(t.segment)) == c["hrv_records"]
    assert np.all(np.diff(t.time_s) > 0)  # across midnight too


def test_apple_health_hostile_and_truncated(tmp_path):
    p = tmp_path / "e.xml"
    p.write_text('<?xml version="1.0"?>\n<!DOCTYPE HealthData [<!ENTITY a "aaaa">]>\n'
                 "<HealthData>&a;</HealthData>\n")
    with pytest.raises(InputError, match="entity"):
        read_export(p)
    p.write_text('<?xml version="1.0"?>\n<!DOCTYPE HealthData [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
                 "<HealthData>&x;</HealthData>\n")
    with pytest.raises(InputError, match="entity"):
        read_export(p)
    full = tmp_path / "f.xml"
    write_export(full, target_mb=0.2)
    data = full.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="line"):
        read_export(p)
    p.write_text("800\n810\n")
    with pytest.raises(InputError, match="not XML"):
        read_export(p)


def test_cli_ingest_no_partial_output(tmp_path):
    import argparse

    from edgekit.cli import data as cli

    ap = argparse.ArgumentParser()
    cli.register(ap.add_subparsers())
    good = tmp_path / "good.txt"
    good.write_text("800\n810\n")
    bad = tmp_path / "bad.txt"
    bad.write_text("800\nx\n")
    out = tmp_path / "out.csv"
    args = ap.parse_args(["data", "ingest", str(good), str(bad), "--format", "rr-text", "--out", str(out)])
    with pytest.raises(InputError, match="bad.txt: line 2"):
        args.func(args)
    assert not out.exists() and not list(tmp_path.glob(".out.csv*"))
    args = ap.parse_args(["data", "ingest", str(good), "--format", "rr-text", "--out", str(out)])
    assert args.func(args) == 0 and out.exists()


def test_detector_rejected_intervals_interpolated_counted_flagged():
    """HeartPy data2: intervals next to rejected peaks no longer feed the features (RMSSD was 213 ms)."""
    from edgekit.cli.data import hrv_report
    from edgekit.data.rr import Flag

    for name, kw, max_rmssd in (("data2.csv", {"column": "hr", "time_column": "timer"}, 120.0),
                                ("data3.csv", {"column": "hr", "time_column": "datetime"}, 60.0)):
        t = readers.read(_heartpy_data(name), "ppg", **kw)
        n_rej = int(((t.flags & Flag.DETECTOR_REJECTED) != 0).sum())
        raw = hrv_report(t, "none")
        rep = hrv_report(t, "kubios")
        assert n_rej > 0 and rep["rmssd_ms"] < max_rmssd < raw["rmssd_ms"]
        # counted (minus rejected intervals the upper bound removed) and still flagged as artifacts
        from edgekit.data.signal.clean import clean

        res = clean(t)
        assert 0 < res.counts["detector_rejected"] <= n_rej
        assert ((res.table.flags & Flag.DETECTOR_REJECTED) != 0).sum() == res.counts["detector_rejected"]
        assert rep["artifact_pct"] > 0
