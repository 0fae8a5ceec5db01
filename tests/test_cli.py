"""CLI usage errors are one line with a non-zero exit; stages skip when up to date."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from edgekit.pipeline.build import is_up_to_date, run_stage
from edgekit.config.load import load_config
from helpers import run_edgekit as _edgekit

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "args, code, needle",
    [
        (["frobnicate"], 2, "invalid choice"),
        (["train"], 2, "--config"),
        (["train", "--config", "no/such.toml"], 1, "no/such.toml: config file not found"),
        (["build", "--config", "no/such.toml"], 1, "no/such.toml: config file not found"),
        (["verify", "--config", "configs/hrv_lstm.toml", "--bogus"], 2, "unrecognized arguments"),
    ],
)
def test_bad_usage_is_one_line(args, code, needle, tmp_path):
    proc = _edgekit(*args, "--out", str(tmp_path)) if args[0] != "frobnicate" else _edgekit(*args)
    assert proc.returncode == code, proc.stderr
    assert needle in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_unknown_config_key_is_one_line(tmp_path):
    cfg = tmp_path / "m.toml"
    cfg.write_text('[model]\nname = "m"\ntype = "fatigue_lstm"\n[train]\nepochz = 3\n')
    proc = _edgekit("build", "--config", str(cfg), "--out", str(tmp_path / "b"))
    assert proc.returncode == 1
    assert "unknown key 'train.epochz'" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "b").exists()  # refused before any work


def test_malformed_toml_names_the_file(tmp_path):
    cfg = tmp_path / "m.toml"
    cfg.write_text("[model\nname = 1")
    proc = _edgekit("train", "--config", str(cfg))
    assert proc.returncode == 1 and "m.toml: not valid TOML" in proc.stderr


def test_every_verb_has_help():
    for verb in ("build", "train", "convert", "verify", "report", "package", "hrv"):
        proc = _edgekit(verb, "--help")
        assert proc.returncode == 0 and "usage: edgekit" in proc.stdout and "--" in proc.stdout, verb
    for sub in ("synth", "ingest"):
        proc = _edgekit("data", sub, "--help")
        assert proc.returncode == 0 and "usage: edgekit data" in proc.stdout


def test_stage_skips_when_up_to_date_and_reruns_on_change(tmp_path, capsys):
    cfg_path = tmp_path / "small.toml"
    cfg_path.write_text(
        '[model]\nname = "small"\ntype = "fatigue_lstm"\n[data]\nsubjects = 3\ndays = 3\nseed = 1\n'
    )
    cfg = load_config(cfg_path)
    out = tmp_path / "build"
    run_stage(cfg, "data", out)
    stamp = json.loads((out / "small/.stamps/data.json").read_text())
    assert stamp["seconds"] >= 0
    assert is_up_to_date(cfg, "data", out)
    assert run_stage(cfg, "data", out, skip_if_up_to_date=True) == {"skipped": True}
    # an output altered on disk is no longer up to date
    windows = out / "small/data/windows.npz"
    windows.write_bytes(windows.read_bytes() + b"\0")
    assert not is_up_to_date(cfg, "data", out)
    # a config change invalidates the stage
    run_stage(cfg, "data", out)
    cfg_path.write_text(cfg_path.read_text().replace("seed = 1", "seed = 2"))
    assert not is_up_to_date(load_config(cfg_path), "data", out)


def test_report_fingerprint_covers_the_package_budget(tmp_path):
    """B2: the report reads max_kb from edgekit.toml, so editing it must re-run the report."""
    from edgekit.pipeline.stamps import _stage_fingerprint

    (tmp_path / "configs").mkdir()
    cfg_path = tmp_path / "configs" / "hrv_lstm.toml"
    cfg_path.write_text((REPO / "configs/hrv_lstm.toml").read_text())
    pkg = tmp_path / "edgekit.toml"
    pkg.write_text('[package]\nname = "HRVKit"\n[[package.models]]\nconfig = "configs/hrv_lstm.toml"\nmax_kb = 128\n')
    cfg = load_config(cfg_path)
    before = _stage_fingerprint(cfg, "report", tmp_path / "build" / cfg.name, {})
    pkg.write_text(pkg.read_text().replace("max_kb = 128", "max_kb = 64"))
    assert _stage_fingerprint(cfg, "report", tmp_path / "build" / cfg.name, {}) != before
    assert _stage_fingerprint(cfg, "train", tmp_path / "build" / cfg.name, {}) == _stage_fingerprint(
        cfg, "train", tmp_path / "build" / cfg.name, {})


def test_code_hash_ignores_benchmarks():
    """Editing a benchmark must not retrain every model: benchmarks live outside the package."""
    from edgekit.pipeline import stamps as build

    pkg = Path(build.__file__).parent.parent  # edgekit/ (stamps lives in edgekit/pipeline/)
    assert not any(p.name.startswith("bench") for p in pkg.rglob("*.py"))
    bench = pkg.parent / "benchmarks" / "bench.py"
    assert bench.is_file()
    build._code_hash.cache_clear()
    h = build._code_hash()
    original = bench.read_bytes()
    try:
        bench.write_bytes(original + b"\n# edited\n")
        build._code_hash.cache_clear()
        assert build._code_hash() == h
    finally:
        bench.write_bytes(original)
        build._code_hash.cache_clear()


def test_ci_entry_point_is_valid_bash_and_runs_make_test():
    """.ci/run must parse (a broken script fails CI before any test) and call the README's command."""
    script = REPO / ".ci" / "run"
    proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lines = [ln.strip() for ln in script.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    assert lines[-1] == "make test"
    assert "make test" in (REPO / "README.md").read_text()
