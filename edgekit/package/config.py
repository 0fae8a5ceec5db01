"""``edgekit.toml`` as the package stage reads it: :mod:`edgekit.config.package` with Swift's reserved words
refused as the module name."""

from __future__ import annotations

from pathlib import Path

from edgekit.config.package import COMPUTE_UNITS, PackageConfig, PackageModel
from edgekit.config.package import load_package_config as _load_package_config
from edgekit.package.swift_text import SWIFT_RESERVED

__all__ = ["COMPUTE_UNITS", "PackageConfig", "PackageModel", "load_package_config"]


def load_package_config(path: str | Path) -> PackageConfig:
    """Read and validate ``edgekit.toml``; the package name must be a Swift module name that is not a keyword.
    Raises :class:`~edgekit.core.errors.EdgekitError` with a one-line message."""
    return _load_package_config(path, reserved_names=SWIFT_RESERVED)
