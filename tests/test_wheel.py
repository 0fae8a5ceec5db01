"""A built wheel works outside the repository (issue 12, B3).

The Swift package templates (``edgekit/swift_template/``) and the default parity fixtures
(``edgekit/fixtures/``) are package data read through :mod:`importlib.resources`; the wheel must carry
them, and a project's own ``fixtures/<model>.json`` beside its configs still wins over the defaults.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edgekit.verify.fixtures import fixtures_path, user_fixtures_path
from edgekit.config.load import load_config
from edgekit.verify import fixtures

REPO = Path(__file__).resolve().parent.parent
PACKAGE_DATA = ("swift_template", "fixtures")

# Run by the installed wheel's Python in an empty directory: where edgekit was imported from, and
# every package-data file it reads through importlib.resources (relative name -> SHA-256).
PROBE = r"""
import hashlib, importlib.resources, json, sys
from pathlib import Path

import edgekit
from edgekit.package import _environment, _template_files
from edgekit.verify import fixtures

site = Path(sys.argv[1]).resolve()
assert Path(edgekit.__file__).resolve().is_relative_to(site), edgekit.__file__
env = _environment()
found = {}
for name in _template_files():
    if name.endswith(".j2"):
        env.get_template(name)  # loads and parses through the package-data loader
    node = importlib.resources.files("edgekit") / "swift_template"
    for part in name.split("/"):
        node = node / part
    found["swift_template/" + name] = hashlib.sha256(node.read_bytes()).hexdigest()
for model in ("hrv_transformer", "hrv_lstm"):
    doc = fixtures.shipped(model)
    found["fixtures/" + doc.name] = hashlib.sha256(doc.read_bytes()).hexdigest()
    names, X = fixtures.load(doc, json.loads(doc.read_text(encoding="utf-8"))["shape"][1])
    assert len(names) >= fixtures.MIN_FIXTURES
print(json.dumps(found))
"""


def _repo_package_data() -> dict[str, str]:
    out = {}
    for top in PACKAGE_DATA:
        for f in sorted((REPO / "edgekit" / top).rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts:
                out[f.relative_to(REPO / "edgekit").as_posix()] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def test_wheel_works_outside_the_repo(tmp_path: Path) -> None:
    # build from a copy of what the wheel is made of: an in-tree build would write build/lib and
    # *.egg-info into the repository (build/ is also edgekit's output directory)
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "edgekit", src / "edgekit", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist, site, empty = tmp_path / "dist", tmp_path / "site", tmp_path / "empty"
    empty.mkdir()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    proc = subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), "."], cwd=src,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (wheel,) = dist.glob("edgekit-*.whl")
    proc = subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
                          cwd=empty, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    meta = next(site.glob("edgekit-*.dist-info")) / "METADATA"
    assert "License-Expression: Apache-2.0" in meta.read_text()

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(site)
    proc = subprocess.run([sys.executable, "-c", PROBE, str(site)], cwd=empty, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout) == _repo_package_data()  # every template and fixture, byte for byte

    proc = subprocess.run([sys.executable, "-m", "edgekit", "package", "--help"], cwd=empty, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "usage:" in proc.stdout and "package" in proc.stdout
    assert list(empty.iterdir()) == []  # nothing written where it ran


LSTM = """
[model]
name = "{name}"
type = "fatigue_lstm"
[model.params]
sequence_hours = {hours}
hidden_size = 8
n_layers = 1
"""


def _config(root: Path, name: str = "hrv_lstm", hours: int = 24):
    path = root / "configs" / f"{name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(LSTM.format(name=name, hours=hours), encoding="utf-8")
    return load_config(path)


def test_project_fixtures_win_over_the_shipped_defaults(tmp_path: Path) -> None:
    from edgekit.pipeline.build import _stage_fingerprint
    from edgekit.verify.parity import _fixtures

    cfg = _config(tmp_path)
    before = _stage_fingerprint(cfg, "verify", tmp_path / "build" / cfg.name, {})
    # no fixtures/ beside the configs: the default edgekit ships for that model name
    assert fixtures_path(cfg) == fixtures.shipped("hrv_lstm")
    names, X, source = _fixtures(cfg, "fatigue_lstm", 24)
    assert source == "edgekit/fixtures/hrv_lstm.json" and X.shape == (len(names), 24)
    # the project's own fixtures/<model>.json beside its configs directory wins
    own = user_fixtures_path(cfg)
    assert own == tmp_path / "fixtures" / "hrv_lstm.json"
    own.parent.mkdir()
    doc = fixtures.document("hrv_lstm", "fatigue_lstm", 24)
    doc["cases"].append(dict(doc["cases"][0], name="project_case"))  # differs from the shipped file
    own.write_text(fixtures.dumps(doc), encoding="utf-8")
    assert fixtures_path(cfg) == own
    assert _stage_fingerprint(cfg, "verify", tmp_path / "build" / cfg.name, {}) != before  # verify reruns
    names, _, source = _fixtures(cfg, "fatigue_lstm", 24)
    assert source == "hrv_lstm.json" and names[-1] == "project_case" and len(names) == len(doc["cases"])


def test_without_a_fitting_fixture_file_verify_generates_fixtures(tmp_path: Path) -> None:
    from edgekit.verify.parity import _fixtures

    # a model name edgekit ships nothing for
    cfg = _config(tmp_path / "a", name="my_lstm")
    assert not fixtures_path(cfg).is_file()
    assert _fixtures(cfg, "fatigue_lstm", 24)[2] == "generated"
    # a default model's name with another window: the shipped default does not fit, as before
    cfg = _config(tmp_path / "b", hours=12)
    names, X, source = _fixtures(cfg, "fatigue_lstm", 12)
    assert source == "generated" and X.shape == (len(names), 12)


@pytest.mark.parametrize("model", ["hrv_transformer", "hrv_lstm"])
def test_repo_configs_use_the_shipped_fixtures(model: str) -> None:
    cfg = load_config(REPO / "configs" / f"{model}.toml")
    assert not user_fixtures_path(cfg).exists()  # the defaults live in edgekit/fixtures/ only
    assert fixtures_path(cfg) == fixtures.shipped(model) and fixtures_path(cfg).is_file()
