"""What made a report: stage timings, the person scenario's last run, versions and the git commit."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import edgekit
from edgekit.core.errors import EdgekitError
from edgekit.core.fileio import sha256_file
from edgekit.core.layout import ModelLayout
from edgekit.report.sources import is_number, read_json

STAGE_ORDER = ("data", "train", "convert", "verify", "evaluate", "report")


def stage_times(model_dir: Path) -> dict[str, float | None]:
    """Wall time of each stage's last successful run (``.stamps/<stage>.json`` "seconds")."""
    out: dict[str, float | None] = {}
    for stage in STAGE_ORDER:
        p = ModelLayout(model_dir).stamp(stage)
        if not p.is_file():
            out[stage] = None
            continue
        secs = read_json(p, "stage stamp").get("seconds")
        if not is_number(secs):
            raise EdgekitError(f"{p}: stage stamp has no numeric 'seconds'")
        out[stage] = float(secs)
    return out


def git_commit(repo: Path) -> dict[str, Any]:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip() != ""
        return {"commit": head, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def environment(repo: Path) -> dict[str, Any]:
    versions = {}
    for dist in ("torch", "coremltools", "onnxruntime", "onnx", "numpy", "scipy", "matplotlib", "jinja2"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "edgekit": edgekit.__version__,
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "packages": versions,
        "git": git_commit(repo),
    }


def person_section(model_dir: Path) -> dict[str, Any] | None:
    """The last ``edgekit evaluate --person`` run (``person/person.json``): its figures with the date
    and config fingerprint of the run, and ``stale`` when the checkpoint changed since; None when it
    was never run (the package build does not run it). An unreadable file is an error."""
    path = ModelLayout(model_dir).person_record
    if not path.is_file():
        return None
    doc = read_json(path, "person scenario")
    if not isinstance(doc.get("result"), dict):
        raise EdgekitError(f"{path}: expected a JSON object with a 'result' object (edgekit evaluate --person)")
    ckpt = ModelLayout(model_dir).checkpoint
    current = sha256_file(ckpt) if ckpt.is_file() else None
    return {**doc["result"], "date": doc.get("date"), "config_fingerprint": doc.get("config_fingerprint"),
            "stale": current != doc.get("checkpoint_sha256")}
