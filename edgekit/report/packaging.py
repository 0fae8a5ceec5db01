"""Which variant the Swift package bundles for a model, and why (the report's "packaging" section)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgekit.config.load import ModelConfig
from edgekit.config.package import load_package_config
from edgekit.core.errors import EdgekitError
from edgekit.core.fileio import sha256_tree
from edgekit.verify.selection import select_variant


def package_config_for(cfg: ModelConfig) -> Path:
    """``edgekit.toml`` beside the model's ``configs/`` directory."""
    return cfg.path.resolve().parent.parent / "edgekit.toml"


def packaging(cfg: ModelConfig, build_dir: Path, rows: list[dict]) -> dict[str, Any]:
    """The package stage's choice for this model.

    The choice is made by :func:`edgekit.verify.selection.select_variant` — the very function the package
    stage uses — with the model's ``max_kb`` from ``edgekit.toml``. When ``build/ios/<Package>`` exists,
    the bundled ``.mlpackage`` is also identified on disk by content hash.
    """
    out: dict[str, Any] = {"variant": None, "why": None, "max_kb": None, "candidates": [],
                           "bundled_on_disk": None, "package": None, "source": None}
    pc = package_config_for(cfg)
    if not pc.is_file():
        out["why"] = "no edgekit.toml beside configs/: this model is not packaged"
        return out
    pkg_cfg = load_package_config(pc)
    entry = next((m for m in pkg_cfg.models if Path(m.config).resolve() == cfg.path.resolve()), None)
    out["package"] = pkg_cfg.name
    if entry is None:
        out["why"] = f"not listed in {pc.name}: not packaged"
        return out
    out["max_kb"] = entry.max_kb
    out["source"] = f"edgekit.verify.selection.select_variant with max_kb={entry.max_kb:g} from {pc.name}"
    try:
        choice = select_variant(cfg.name, Path(build_dir) / cfg.name, entry.max_kb)
    except EdgekitError as exc:
        out["why"] = f"no variant bundled: {exc}"
        return out
    out["variant"] = choice.variant
    out["why"] = choice.why
    out["candidates"] = [{k: c.get(k) for k in ("variant", "status", "reason", "bytes")} for c in choice.candidates]
    out["bundled_on_disk"] = bundled_on_disk(Path(build_dir), pkg_cfg.name, cfg.name, rows)
    return out


def bundled_on_disk(build_dir: Path, package: str, model: str, rows: list[dict]) -> str | None:
    """Variant of ``model`` whose bytes are in ``build/ios/<package>``'s resources (by hash), if any."""
    res = build_dir / "ios" / package / "Sources" / package / "Resources"
    if not res.is_dir():
        return None
    bundled = {sha256_tree(p) for p in sorted(res.glob("*.mlpackage"))}
    for r in rows:
        if sha256_tree(build_dir / model / r["path"]) in bundled:
            return r["name"]
    return None
