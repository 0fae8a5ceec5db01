"""Which config owns a model directory, the checks before any stage runs, and the clean-up of a refused run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from edgekit.config.load import ModelConfig, ignored_keys, load_config
from edgekit.core.errors import EdgekitError
from edgekit.core.fileio import write_json
from edgekit.core.log import get_logger

log = get_logger(__name__)

RESERVED_MODEL_NAMES = ("ios", "bench")  # build/<name>/ directories edgekit uses for other things
_OWNER_FILE = ".config.json"  # build/<model>/.config.json: the config file that owns this model directory


_WARNED: set[tuple[str, str]] = set()


def check_model_inputs(cfg: ModelConfig) -> None:
    """Everything about a model config that can fail before any stage runs: reserved names and
    unreadable data inputs (values are validated by :func:`edgekit.config.load.load_config`)."""
    if cfg.name in RESERVED_MODEL_NAMES:
        raise EdgekitError(f"{cfg.path}: model.name {cfg.name!r} is reserved for build/{cfg.name}/; rename it")
    if cfg.data.source == "files":
        written = cfg.raw_inputs if len(cfg.raw_inputs) == len(cfg.data.inputs) else cfg.data.inputs
        for raw, resolved in zip(written, cfg.data.inputs):
            p = Path(resolved)  # relative paths: from the config file's folder (edgekit.config.load.load_config)
            if not p.is_file():
                here = (f"; {raw} exists in the working directory: write it as a path from {cfg.path.parent}/ or an "
                        f"absolute path") if Path(raw).is_file() else ""
                base = "" if Path(raw).is_absolute() else \
                    f" (relative paths are read from the config file's folder, {cfg.path.parent}/{here})"
                raise EdgekitError(f"{cfg.path}: data.inputs: {raw}: file not found (or not a regular file){base}")
            try:
                with open(p, "rb") as fh:
                    fh.read(1)
            except OSError as exc:
                raise EdgekitError(f"{cfg.path}: data.inputs: {raw}: cannot read ({exc.strerror})") from None
    for key in ignored_keys(cfg):
        if (str(cfg.path), key) not in _WARNED:  # once per process, not once per stage
            _WARNED.add((str(cfg.path), key))
            log.warning(f"{cfg.path}: {key} does not apply to data.source = {cfg.data.source!r}: ignored")


def check_model_dir_owner(cfg: ModelConfig, out: Path) -> None:
    """Refuse to write build/<model>/ when another config file that still declares the same
    model.name built it (a copied config that kept ``name``): it would overwrite that model."""
    owner = Path(out) / cfg.name / _OWNER_FILE
    if not owner.is_file():
        return
    try:
        recorded = Path(json.loads(owner.read_text(encoding="utf-8"))["config"])
    except (OSError, ValueError, KeyError, TypeError):
        return
    mine = cfg.path.resolve()
    if recorded == mine or not recorded.is_file():
        return
    try:
        other = load_config(recorded)
    except EdgekitError:
        return
    if other.name == cfg.name:
        raise EdgekitError(
            f"{cfg.path}: model.name {cfg.name!r} is already built in {Path(out) / cfg.name} from {recorded}; "
            f"give this config its own model.name (or remove that directory)")


def personal_dirs(cfg: ModelConfig, out: Path, kwargs: dict) -> tuple[Path, ...]:
    """The directories a fine-tuning run writes (``build/<model>_personal/``), else none."""
    if not kwargs.get("data"):
        return ()
    personal = Path(out) / f"{cfg.name}_personal"
    return (personal, personal / "data", personal / "train")


_BOOKKEEPING = {_OWNER_FILE, ".stamps", ".edgekit-build"}


def _remove_if_bookkeeping_only(made: list[Path]) -> None:
    """After a failed stage: remove the directories this run created that hold nothing but
    edgekit's bookkeeping (owner record, empty stamps, the build mark), deepest first, so a refusal
    leaves no empty ``build/<model>/`` behind. Anything else in them stays."""
    for d in sorted(made, key=lambda p: len(p.parts), reverse=True):
        try:
            entries = list(d.iterdir()) if d.is_dir() else None
        except OSError:
            continue
        if entries is None or any(e.name not in _BOOKKEEPING for e in entries):
            continue
        stamps = d / ".stamps"
        if stamps.is_dir() and any(stamps.iterdir()):
            continue
        shutil.rmtree(d, ignore_errors=True)


def _record_owner(cfg: ModelConfig, out: Path) -> None:
    write_json(Path(out) / cfg.name / _OWNER_FILE, {"config": str(cfg.path.resolve()), "model": cfg.name})
