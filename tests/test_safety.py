"""A user's files are sacred; honest errors and results (issue: never destroy a user's files).

Each case failed on the round-1 main: outputs that deleted directories, tracebacks on impossible
paths, sampled signals guessed as RR, pNN50 by rounding noise, NaN in JSON, silent subject merges,
late duplicate-name failures, dishonest fine-tuning, buried third-party noise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgekit.core.errors import EdgekitError, InputError
from helpers import run_edgekit as _edgekit

REPO = Path(__file__).resolve().parent.parent


def _one_line_error(proc: subprocess.CompletedProcess, needle: str) -> None:
    assert proc.returncode != 0, proc
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("edgekit: error:"), proc.stderr
    assert needle in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.fixture()
def rec(tmp_path) -> Path:
    """A small rr-text recording (one RR per line, ms)."""
    rng = np.random.default_rng(1)
    p = tmp_path / "rec.txt"
    p.write_text("\n".join(f"{v:.0f}" for v in 800 + 40 * rng.standard_normal(300)) + "\n")
    return p


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------------------------
# outputs never destroy what edgekit did not make


@pytest.mark.parametrize("verb", ["ingest", "synth"])
def test_out_existing_directory_is_refused_and_kept(verb, rec, tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.txt").write_text("years of work")
    before = _tree(precious)
    args = (["data", "ingest", str(rec), "--format", "rr-text"] if verb == "ingest"
            else ["data", "synth", "--subjects", "1", "--days", "1"])
    proc = _edgekit(*args, "--out", str(precious))
    _one_line_error(proc, "existing directory")
    assert _tree(precious) == before


@pytest.mark.parametrize("out", ["", "   ", "."])
def test_out_empty_or_cwd_is_refused_before_work(out, rec, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "keep.txt").write_text("mine")
    shutil.copy(rec, work / "rec.txt")
    before = _tree(work)
    proc = _edgekit("data", "ingest", "rec.txt", "--format", "rr-text", "--out", out, cwd=work)
    _one_line_error(proc, "")
    assert _tree(work) == before
    proc = _edgekit("build", "--config", str(REPO / "configs/hrv_lstm.toml"), "--out", out, cwd=work)
    _one_line_error(proc, "")
    assert _tree(work) == before


def test_out_root_and_home_are_refused(rec, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "notes").write_text("x")
    for out in ("/", str(home), "~"):
        proc = _edgekit("data", "ingest", str(rec), "--format", "rr-text", "--out", out, env={"HOME": str(home)})
        _one_line_error(proc, "refusing")
    assert _tree(home) == {"notes": b"x"}


def test_existing_output_file_needs_force(rec, tmp_path):
    out = tmp_path / "rr.csv"
    out.write_text("someone's file\n")
    proc = _edgekit("data", "ingest", str(rec), "--format", "rr-text", "--out", str(out))
    _one_line_error(proc, "--force")
    assert out.read_text() == "someone's file\n"
    proc = _edgekit("data", "ingest", str(rec), "--format", "rr-text", "--out", str(out), "--force")
    assert proc.returncode == 0, proc.stderr
    assert out.read_text().startswith("subject,segment,time_s,rr_ms,flags")


def test_force_never_replaces_an_input(rec):
    proc = _edgekit("data", "ingest", str(rec), "--format", "rr-text", "--out", str(rec), "--force")
    _one_line_error(proc, "also an input")
    assert rec.read_text().splitlines()[0].strip().isdigit()


def test_symlink_fifo_and_path_under_a_file(rec, tmp_path):
    target = tmp_path / "elsewhere.csv"
    target.write_text("keep me\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    _one_line_error(_edgekit("data", "ingest", str(rec), "--format", "rr-text", "--out", str(link), "--force"),
                    "symbolic link")
    assert target.read_text() == "keep me\n" and link.is_symlink()
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    _one_line_error(_edgekit("data", "ingest", str(rec), "--format", "rr-text", "--out", str(fifo), "--force",
                             timeout=60), "FIFO")
    _one_line_error(_edgekit("hrv", str(fifo), timeout=60), "not a regular file")  # never blocks reading it
    afile = tmp_path / "plain.txt"
    afile.write_text("x")
    _one_line_error(_edgekit("data", "ingest", str(rec), "--format", "rr-text", "--out", str(afile / "x.csv")),
                    "not a directory")
    _one_line_error(_edgekit("build", "--config", str(REPO / "configs/hrv_lstm.toml"), "--out", str(afile / "b")),
                    "not a directory")


def test_path_with_spaces_and_unicode_works(rec, tmp_path):
    out = tmp_path / "my data — Ünïcødé ❤" / "rr out.csv"
    proc = _edgekit("data", "ingest", str(rec), "--format", "rr-text", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_text().count("\n") == 301


def test_build_config_that_is_a_directory(tmp_path):
    _one_line_error(_edgekit("build", "--config", str(tmp_path), "--out", str(tmp_path / "b")), "is a directory")
    assert not (tmp_path / "b").exists()


def test_build_out_foreign_directory_is_refused(tmp_path):
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "a.jpg").write_bytes(b"\xff\xd8")
    proc = _edgekit("build", "--config", str(REPO / "configs/hrv_lstm.toml"), "--out", str(foreign))
    _one_line_error(proc, "did not make")
    assert _tree(foreign) == {"a.jpg": b"\xff\xd8"}


def test_atomic_path_never_replaces_a_foreign_directory(tmp_path):
    from edgekit.core.fileio import OutputError, atomic_path, claim_build_dir, write_text

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "f").write_text("x")
    with pytest.raises(OutputError, match="did not make"):
        with atomic_path(foreign) as tmp:
            tmp.mkdir()
    assert (foreign / "f").read_text() == "x"
    # inside a marked build directory, edgekit's own directories are replaced as before
    build = claim_build_dir(tmp_path / "build")
    report = build / "m" / "report"
    for text in ("one", "two"):
        with atomic_path(report) as tmp:
            tmp.mkdir()
            (tmp / "r.md").write_text(text)
    assert (report / "r.md").read_text() == "two"
    write_text(build / "m" / "x.json", "{}")


def _root_mount(tmp_path: Path, options: str) -> Path:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root and mount(8) to make a small or read-only file system")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mnt)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    return mnt


def _umount(mnt: Path) -> None:
    subprocess.run(["umount", str(mnt)], capture_output=True)


def test_full_disk_is_one_line_and_leaves_nothing(tmp_path):
    mnt = _root_mount(tmp_path, "size=64k")
    try:
        proc = _edgekit("data", "synth", "--subjects", "1", "--days", "2", "--out", str(mnt / "c.csv"))
        _one_line_error(proc, "no space left on device")
        assert str(mnt / "c.csv") in proc.stderr
        assert list(mnt.iterdir()) == []  # no partial or temporary file left
    finally:
        _umount(mnt)


def test_read_only_file_system_is_one_line(rec, tmp_path):
    mnt = _root_mount(tmp_path, "ro,size=64k")
    try:
        proc = _edgekit("data", "ingest", str(rec), "--format", "rr-text", "--out", str(mnt / "rr.csv"))
        _one_line_error(proc, "read-only file system")
    finally:
        _umount(mnt)


def test_immutable_directory_is_one_line(rec, tmp_path):
    if os.geteuid() != 0 or shutil.which("chattr") is None:
        pytest.skip("needs root and chattr")
    d = tmp_path / "frozen"
    d.mkdir()
    if subprocess.run(["chattr", "+i", str(d)], capture_output=True).returncode != 0:
        pytest.skip("this file system does not support the immutable attribute")
    try:
        proc = _edgekit("data", "ingest", str(rec), "--format", "rr-text", "--out", str(d / "rr.csv"))
        _one_line_error(proc, "operation not permitted")
    finally:
        subprocess.run(["chattr", "-i", str(d)], capture_output=True)


# ---------------------------------------------------------------------------------------------
# no silent guessing


def _ppg_100hz(path: Path) -> Path:
    """A 100 Hz PPG-like signal of 30 s at 60 bpm, one ADC value per line (as HeartPy's data.csv)."""
    t = np.arange(0, 30, 0.01)
    sig = 512 + 200 * np.sin(2 * np.pi * 1.0 * t) ** 21
    path.write_text("\n".join(f"{v:.0f}" for v in sig) + "\n")
    return path


def test_sampled_signal_is_never_taken_for_rr(tmp_path):
    ppg = _ppg_100hz(tmp_path / "data.csv")
    proc = _edgekit("hrv", str(ppg))
    _one_line_error(proc, "--format ppg")
    assert "sampled signal" in proc.stderr


def test_bare_rr_column_needs_format(rec):
    proc = _edgekit("hrv", str(rec))
    _one_line_error(proc, "--format rr-text")
    assert _edgekit("hrv", str(rec), "--format", "rr-text").returncode == 0


def test_certain_formats_are_detected(rec, tmp_path):
    from edgekit.data.readers.formats import detect_format

    table = tmp_path / "t.csv"
    assert _edgekit("data", "ingest", str(rec), "--format", "rr-text", "--out", str(table)).returncode == 0
    assert detect_format(table) == "table"
    polar = tmp_path / "polar.txt"
    polar.write_text("Phone timestamp;RR-interval [ms]\n2024-01-01T00:00:00.000;800\n2024-01-01T00:00:00.800;810\n")
    assert detect_format(polar) == "polar"
    xml = tmp_path / "export.xml"
    xml.write_text('<?xml version="1.0"?>\n<!DOCTYPE HealthData [\n]>\n<HealthData locale="en_US">\n</HealthData>\n')
    assert detect_format(xml) == "apple-health"
    other = tmp_path / "other.xml"
    other.write_text("<svg></svg>")
    with pytest.raises(InputError, match="not an Apple Health export"):
        detect_format(other)
    delimited = tmp_path / "d.csv"
    delimited.write_text("time,value\n0,1\n")
    with pytest.raises(InputError, match="--format csv"):
        detect_format(delimited)
    proc = _edgekit("hrv", str(table), "--json")
    assert proc.returncode == 0, proc.stderr


# ---------------------------------------------------------------------------------------------
# numbers that do not depend on rounding noise; strict JSON


def _centisecond_rr(n: int = 400, seed: int = 3) -> np.ndarray:
    """RR intervals derived from 10 ms-resolution beat times (Apple Watch): exact 50 ms steps
    come out 50.000000000001 or 49.99999999 after the subtraction."""
    rng = np.random.default_rng(seed)
    steps = rng.choice([-60, -50, -50, -40, 0, 40, 50, 50, 60], size=n)
    rr_cs = np.clip(85 + np.cumsum(steps) // 10 % 40, 60, 120)  # centiseconds
    t = 1.7e9 + np.concatenate([[0.0], np.cumsum(rr_cs / 100.0)])
    t = np.round(t, 2)
    return 1000.0 * np.diff(t)


def test_pnn50_ignores_rounding_noise():
    from edgekit.data.signal.features import time_domain

    rr = _centisecond_rr()
    d = np.diff(rr)
    exact = np.round(d)  # the true differences are whole multiples of 10 ms
    noisy = np.abs(d) != np.abs(exact)
    assert np.any(np.isclose(np.abs(d), 50.0) & noisy), "the fixture must hold noisy exact-50 ms steps"
    expected = 100.0 * np.mean(np.abs(exact) > 50.0)
    assert time_domain(rr)["pnn50_pct"] == pytest.approx(expected, abs=1e-12)
    # the CSV round trip (6 decimals) gives the same figure
    assert time_domain(np.round(rr, 6))["pnn50_pct"] == time_domain(rr)["pnn50_pct"]


def test_apple_export_direct_equals_csv_round_trip(tmp_path):
    rr = _centisecond_rr(300)
    times, t = [], 0.0
    base_s = 23 * 3600 + 50 * 60  # 23:50:00, runs across midnight
    for v in np.concatenate([[0.0], rr]):
        t += v / 1000.0
        sec = base_s + t
        h, m, s = int(sec // 3600) % 24, int(sec % 3600 // 60), sec % 60
        times.append((round(60000.0 / v) if v > 0 else 70, f"{h:02d}:{m:02d}:{s:05.2f}"))
    body = "".join(f'   <InstantaneousBeatsPerMinute bpm="{b}" time="{tt}"/>\n' for b, tt in times)
    xml = tmp_path / "export.xml"
    xml.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE HealthData [\n<!ELEMENT HealthData ANY>\n]>\n'
                   '<HealthData locale="en_US">\n <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" '
                   'sourceName="W" startDate="2024-03-01 23:50:00 +0100" endDate="2024-03-02 00:00:00 +0100">\n'
                   f"  <HeartRateVariabilityMetadataList>\n{body}  </HeartRateVariabilityMetadataList>\n"
                   " </Record>\n</HealthData>\n")
    direct = _edgekit("hrv", str(xml), "--json", "--clean", "none")
    assert direct.returncode == 0, direct.stderr
    csv = tmp_path / "rr.csv"
    assert _edgekit("data", "ingest", str(xml), "--format", "apple-health", "--out", str(csv)).returncode == 0
    via_csv = _edgekit("hrv", str(csv), "--json", "--clean", "none")
    assert via_csv.returncode == 0, via_csv.stderr
    a, b = json.loads(direct.stdout), json.loads(via_csv.stdout)
    assert a["pnn50_pct"] == b["pnn50_pct"]
    assert a["rmssd_ms"] == pytest.approx(b["rmssd_ms"], rel=1e-9)


def test_hrv_json_is_strict(tmp_path):
    p = tmp_path / "short.txt"
    p.write_text("800\n810\n805\n812\n")  # too short for LF/HF: undefined values
    proc = _edgekit("hrv", str(p), "--format", "rr-text", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "NaN" not in proc.stdout

    def refuse(c):
        raise AssertionError(f"non-JSON constant {c}")

    doc = json.loads(proc.stdout, parse_constant=refuse)
    assert doc["lf_ms2"] is None


# ---------------------------------------------------------------------------------------------
# subjects and inputs


def test_two_exports_with_one_name_are_refused(rec, tmp_path):
    a, b = tmp_path / "alice", tmp_path / "bob"
    a.mkdir()
    b.mkdir()
    shutil.copy(rec, a / "export.txt")
    shutil.copy(rec, b / "export.txt")
    out = tmp_path / "rr.csv"
    proc = _edgekit("data", "ingest", str(a / "export.txt"), str(b / "export.txt"), "--format", "rr-text",
                    "--out", str(out))
    _one_line_error(proc, "would both be subject 'export'")
    assert not out.exists()
    proc = _edgekit("data", "ingest", str(a / "export.txt"), str(b / "export.txt"), "--format", "rr-text",
                    "--subject", "alice", "--subject", "bob", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    subjects = {line.split(",")[0] for line in out.read_text().splitlines()[1:]}
    assert subjects == {"alice", "bob"}


def test_same_file_twice_is_refused(rec, tmp_path):
    proc = _edgekit("data", "ingest", str(rec), str(rec), "--format", "rr-text", "--out", str(tmp_path / "o.csv"))
    _one_line_error(proc, "given twice")
    proc = _edgekit("data", "ingest", str(rec), "--format", "rr-text", "--subject", "a", "--subject", "b",
                    "--out", str(tmp_path / "o.csv"))
    _one_line_error(proc, "--subject given 2 times for 1 inputs")


# ---------------------------------------------------------------------------------------------
# fail before working


def test_duplicate_model_names_fail_before_any_stage(tmp_path):
    cfg_dir = tmp_path / "configs"
    cfg_dir.mkdir()
    mine = cfg_dir / "my_model.toml"
    mine.write_text((REPO / "configs/hrv_lstm.toml").read_text())  # keeps name = "hrv_lstm"
    pkg = tmp_path / "edgekit.toml"
    pkg.write_text(f'[package]\nname = "HRVKit"\n[[package.models]]\nconfig = "{REPO / "configs/hrv_lstm.toml"}"\n'
                   'max_kb = 128\n[[package.models]]\nconfig = "configs/my_model.toml"\nmax_kb = 128\n')
    out = tmp_path / "build"
    proc = _edgekit("build", "--config", str(pkg), "--out", str(out), timeout=60)
    _one_line_error(proc, "is declared by both")
    assert not out.exists()  # refused before any work


def test_copied_config_keeping_the_name_does_not_overwrite_another_model(tmp_path):
    from edgekit.pipeline.build import _record_owner, check_model_dir_owner
    from edgekit.config.load import load_config

    out = tmp_path / "build"
    original = load_config(REPO / "configs/hrv_lstm.toml")
    (out / original.name).mkdir(parents=True)
    _record_owner(original, out)
    copy = tmp_path / "my_model.toml"
    copy.write_text((REPO / "configs/hrv_lstm.toml").read_text())
    with pytest.raises(EdgekitError, match="already built"):
        check_model_dir_owner(load_config(copy), out)
    check_model_dir_owner(original, out)  # its own config may rebuild it


@pytest.mark.parametrize("key, value, needle", [
    ("series_stride_hours", 0, "data.series_stride_hours must be >= 1"),
    ("window_stride", 0, "data.window_stride must be >= 1"),
])
def test_invalid_values_are_refused_at_load(tmp_path, key, value, needle):
    from edgekit.config.load import ConfigError, load_config

    text = (REPO / "configs/hrv_lstm.toml").read_text()
    cfg = tmp_path / "c.toml"
    cfg.write_text(text.replace("[data]", f"[data]\n{key} = {value}", 1) if "[data]" in text
                   else text + f"\n[data]\n{key} = {value}\n")
    with pytest.raises(ConfigError, match=needle):
        load_config(cfg)


def test_missing_data_input_fails_before_any_stage(tmp_path):
    cfg = tmp_path / "m.toml"
    cfg.write_text('[model]\nname = "m"\ntype = "fatigue_lstm"\n[data]\nsource = "files"\n'
                   f'inputs = ["{tmp_path / "nope.csv"}"]\n')
    proc = _edgekit("build", "--config", str(cfg), "--out", str(tmp_path / "b"), timeout=60)
    _one_line_error(proc, "nope.csv: file not found")
    assert not (tmp_path / "b").exists()


# ---------------------------------------------------------------------------------------------
# honest results


def test_training_warnings_name_their_figures():
    from edgekit.train.fit import training_warnings
    from edgekit.train.records import TrainRecord

    def record(**fields) -> TrainRecord:  # the train record with what these cases leave out
        return TrainRecord(**{"model": "m", "model_type": "strain_transformer", "split": "test", "n_windows": {},
                              "best_epoch": 0, "epochs_run": 0, "test": {}, "synthetic_data": True, **fields})

    weak = record(
        n_subjects={"train": 3, "val": 1, "test": 1},
        n_windows={"train": 400, "val": 100, "test": 61},
        best_epoch=2, epochs_run=11,
        test={"n": 61, "recall": {"healthy": 0.9, "strained": 0.2, "burnout_risk": 0.8},
              "labels": ["healthy", "strained", "burnout_risk"],
              "confusion": [[20, 1, 1], [10, 3, 2], [1, 2, 21]]},
    )
    text = " | ".join(training_warnings(weak))
    for needle in ("only 1 subject", "only 61 windows", "epoch was 2 of 11", "'strained' is barely recognised"):
        assert needle in text, text
    strong = record(n_subjects={"test": 10}, n_windows={"test": 2000}, best_epoch=18, epochs_run=26,
                    test={"n": 2000, "mae": 6.9, "baseline_mae": 10.2})
    assert training_warnings(strong) == []
    worse = record(test={"mae": 6.5, "baseline_mae": 6.1})
    assert "no better than the persistence baseline" in training_warnings(worse)[0]


def test_report_headline_shows_training_warnings():
    from edgekit.report.render import _headline

    report = {"fp32_torch": {"mae": 6.5, "baseline_mae": 6.1}, "packaging": {}, "variants": [],
              "role": "forecaster", "test_metrics": {"n": 10}, "params": 1,
              "training": {"warnings": ["held-out MAE 6.50 is no better than the persistence baseline (6.10)"]}}
    assert ("⚠ Weak result", report["training"]["warnings"][0]) in _headline(report)


# Fine-tuning that does not beat both the population model and persistence: tests/test_finetune.py.


# ---------------------------------------------------------------------------------------------
# quiet by default


@pytest.mark.slow
def test_third_party_noise_is_filtered_unless_verbose():
    code = ("import sys; from edgekit.core import log; log.configure(int(sys.argv[1])); "
            "import coremltools; print('ok')")
    quiet = subprocess.run([sys.executable, "-c", code, "0"], capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0 and quiet.stdout.strip() == "ok"
    assert "has not been tested" not in quiet.stderr and "Failed to load" not in quiet.stderr, quiet.stderr
    loud = subprocess.run([sys.executable, "-c", code, "1"], capture_output=True, text=True, timeout=300)
    assert "has not been tested" in loud.stderr or "Failed to load" in loud.stderr, loud.stderr


def test_verbose_flag_is_accepted_after_the_verb(rec):
    proc = _edgekit("hrv", str(rec), "--format", "rr-text", "--verbose")
    assert proc.returncode == 0, proc.stderr
