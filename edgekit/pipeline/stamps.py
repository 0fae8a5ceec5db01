"""Stage fingerprints and stamps: whether a stage of a model is up to date.

A stage is up to date when its fingerprint — the edgekit source, the config sections it reads and
the bytes of its input files — equals the one recorded after its last successful run, and its
outputs are still the bytes it wrote. Stamps live in ``build/<model>/.stamps/<stage>.json``
(:class:`StageStamp`) together with the stage's wall and CPU time (read by the report and ``make bench``).
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

import edgekit
from edgekit.config.load import ModelConfig
from edgekit.core.fileio import sha256_tree, write_json
from edgekit.core.layout import ModelLayout
from edgekit.verify.fixtures import fixtures_path


@dataclass(frozen=True)
class StageSpec:
    sections: tuple[str, ...]  # config sections the stage reads
    inputs: tuple[str, ...]  # paths relative to build/<model>/, "fixtures:" (the parity fixtures) or
    # "package-config:" (the edgekit.toml the report reads for the size budget), "real-sets:" (the
    # folders of evaluate.real_sets), "calibration-sets:" (the folders of train.calibrate_on)
    outputs: tuple[str, ...]  # paths relative to build/<model>/


STAGES: dict[str, StageSpec] = {
    "data": StageSpec(("model", "data"), (), ("data",)),
    "train": StageSpec(("model", "data", "train"), ("data", "calibration-sets:"), ("train",)),
    "convert": StageSpec(("model", "data", "convert"), ("data", "train"), ("onnx", "coreml")),
    "verify": StageSpec(("model", "verify"), ("train", "onnx", "coreml", "fixtures:"), ("verify",)),
    "evaluate": StageSpec(("model", "data", "evaluate"), ("train", "real-sets:"), ("evaluate",)),
    "report": StageSpec(("model",), ("data", "train", "coreml", "verify", "evaluate", "person", "package-config:"),
                        ("report",)),  # person/: the last `edgekit evaluate --person`, when run
}


@functools.lru_cache(maxsize=1)
def _code_hash() -> str:
    """SHA-256 of edgekit's Python sources: a code change invalidates every stage (read once per process)."""
    h = hashlib.sha256(edgekit.__version__.encode())
    pkg = Path(edgekit.__file__).parent
    for f in sorted(pkg.rglob("*.py")):
        h.update(str(f.relative_to(pkg)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def _tree_hash(path: Path) -> str:
    return sha256_tree(path) if path.exists() else "missing"


def _file_hash(path: Path | Traversable) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"


def _stage_fingerprint(cfg: ModelConfig, stage: str, model_dir: Path, extra: dict) -> str:
    spec = STAGES[stage]
    parts = {
        "stage": stage,
        "code": _code_hash(),
        "config": cfg.section_dict(*spec.sections),
        "extra": {k: str(v) for k, v in sorted(extra.items()) if v is not None},
    }
    for rel in spec.inputs:
        if rel == "fixtures:":
            parts[rel] = _file_hash(fixtures_path(cfg))
        elif rel == "real-sets:":
            parts[rel] = [_tree_hash(p) for p in cfg.real_set_paths()]
        elif rel == "calibration-sets:":
            parts[rel] = [_tree_hash(p) for p in cfg.calibration_set_paths()]
        elif rel == "package-config:":
            parts[rel] = _tree_hash(cfg.path.resolve().parent.parent / "edgekit.toml")
        else:
            parts[rel] = _tree_hash(model_dir / rel)
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _outputs_hash(stage: str, model_dir: Path) -> str:
    return hashlib.sha256(
        "".join(_tree_hash(model_dir / rel) for rel in STAGES[stage].outputs).encode()
    ).hexdigest()


def _stamp_path(model_dir: Path, stage: str) -> Path:
    return ModelLayout(model_dir).stamp(stage)


@dataclass(frozen=True)
class StageStamp:
    """``build/<model>/.stamps/<stage>.json``: a stage's last successful run (what it read, what it
    wrote, its wall and CPU seconds). Written by :func:`write_stamp`, read by :func:`read_stamp`."""

    stage: str
    fingerprint: str  # code, config sections and input files (:func:`_stage_fingerprint`)
    outputs: str  # the bytes of the stage's outputs (:func:`_outputs_hash`)
    seconds: float
    cpu_seconds: float


def write_stamp(model_dir: Path, stamp: StageStamp) -> None:
    write_json(_stamp_path(model_dir, stamp.stage), {
        "stage": stamp.stage, "fingerprint": stamp.fingerprint, "outputs": stamp.outputs,
        "seconds": round(stamp.seconds, 3), "cpu_seconds": round(stamp.cpu_seconds, 3)})


def read_stamp(model_dir: Path, stage: str) -> StageStamp | None:
    """The stamp of ``stage``, or None when it is missing or unreadable (the stage then runs again)."""
    try:
        doc = json.loads(_stamp_path(model_dir, stage).read_text())
        return StageStamp(stage=doc["stage"], fingerprint=doc["fingerprint"], outputs=doc["outputs"],
                          seconds=float(doc["seconds"]), cpu_seconds=float(doc.get("cpu_seconds", 0.0)))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_up_to_date(cfg: ModelConfig, stage: str, out: Path, **extra) -> bool:
    model_dir = out / cfg.name
    if stage == "data" and cfg.data.source == "influxdb":
        return False  # the data live in a server that changes under us: always read them again
    rec = read_stamp(model_dir, stage)
    return rec is not None and rec.fingerprint == _stage_fingerprint(cfg, stage, model_dir, extra) and (
        rec.outputs == _outputs_hash(stage, model_dir))
