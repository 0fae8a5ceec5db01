"""``edgekit.toml``: the ``[package]`` table and its ``[[package.models]]``, read and validated (no torch).

The package stage adds Swift's reserved words (:func:`edgekit.package.config.load_package_config`); the
report reads the size budgets here.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from collections.abc import Collection
from pathlib import Path

from edgekit.core.errors import EdgekitError

#: Core ML compute units a model may ask for (``MLComputeUnits`` case names).
COMPUTE_UNITS = ("all", "cpuOnly", "cpuAndGPU", "cpuAndNeuralEngine")

_VERSION_RE = re.compile(r"^\d+(\.\d+){0,2}$")
_MODULE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class PackageModel:
    """One ``[[package.models]]`` entry."""

    config: Path  # resolved path of the model's build config
    max_kb: float  # size budget of the shipped .mlpackage (KiB)
    compute_units: str | None = None  # MLComputeUnits case; None = per-type default


@dataclass(frozen=True)
class PackageConfig:
    path: Path
    name: str = "HRVKit"
    ios: str = "17.0"
    watchos: str = "10.0"
    macos: str = "14.0"
    models: tuple[PackageModel, ...] = field(default_factory=tuple)

    @property
    def core_name(self) -> str:
        return f"{self.name}Core"


_PACKAGE_KEYS = {"name", "ios", "watchos", "macos", "models"}
_MODEL_KEYS = {"config", "max_kb", "compute_units"}


def load_package_config(path: str | Path, reserved_names: Collection[str] = ()) -> PackageConfig:
    """Read and validate ``edgekit.toml`` (``reserved_names``: words the package name must not be). Raises
    :class:`EdgekitError` with a one-line message."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EdgekitError(f"{path}: package config not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise EdgekitError(f"{path}: not valid TOML: {_one_line(exc)}") from None
    pkg = raw.get("package")
    if not isinstance(pkg, dict):
        raise EdgekitError(f"{path}: missing [package] table")
    unknown = sorted(set(pkg) - _PACKAGE_KEYS)
    if unknown:
        raise EdgekitError(f"{path}: unknown key(s) {unknown} in [package]; known: {sorted(_PACKAGE_KEYS)}")
    name = pkg.get("name", "HRVKit")
    if not isinstance(name, str) or not _MODULE_RE.match(name) or name in reserved_names:
        raise EdgekitError(
            f"{path}: package.name must be a Swift module name (ASCII letters, digits, _; not a keyword), "
            f"got {name!r}"
        )
    versions = {}
    for key, default in (("ios", "17.0"), ("watchos", "10.0"), ("macos", "14.0")):
        value = pkg.get(key, default)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not _VERSION_RE.match(value):
            raise EdgekitError(f"{path}: package.{key} must be a version like \"17.0\", got {value!r}")
        versions[key] = value
    minimum = {"ios": 17, "watchos": 10, "macos": 14}
    for key, major in minimum.items():
        if int(versions[key].split(".")[0]) < major:
            raise EdgekitError(f"{path}: package.{key} must be {major}.0 or later (async Core ML API), "
                               f"got {versions[key]}")
    entries = pkg.get("models", [])
    if not isinstance(entries, list) or not entries:
        raise EdgekitError(f"{path}: no [[package.models]] entries")
    models = []
    for i, entry in enumerate(entries):
        where = f"{path}: package.models[{i}]"
        if not isinstance(entry, dict):
            raise EdgekitError(f"{where} must be a table")
        unknown = sorted(set(entry) - _MODEL_KEYS)
        if unknown:
            raise EdgekitError(f"{where}: unknown key(s) {unknown}; known: {sorted(_MODEL_KEYS)}")
        cfg = entry.get("config")
        if not isinstance(cfg, str) or not cfg:
            raise EdgekitError(f"{where} needs a 'config' path")
        max_kb = entry.get("max_kb")
        if isinstance(max_kb, bool) or not isinstance(max_kb, (int, float)) or not max_kb > 0 \
                or not math.isfinite(max_kb):
            raise EdgekitError(f"{where}: max_kb must be a positive number, got {max_kb!r}")
        units = entry.get("compute_units")
        if units is not None and units not in COMPUTE_UNITS:
            raise EdgekitError(f"{where}: compute_units must be one of {list(COMPUTE_UNITS)}, got {units!r}")
        models.append(PackageModel((path.parent / cfg).resolve(), float(max_kb), units))
    return PackageConfig(path, name, versions["ios"], versions["watchos"], versions["macos"], tuple(models))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
