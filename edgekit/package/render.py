"""Rendering: the Jinja2 environment over the Swift package templates (package data read through
:mod:`importlib.resources`), :func:`render_package` and the stage itself, :func:`run_package`.
"""

from __future__ import annotations

import importlib.resources
import json
import shutil
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import jinja2

import edgekit
from edgekit import STRAIN_LABELS
from edgekit.config.load import ModelConfig, load_config
from edgekit.core.errors import EdgekitError
from edgekit.core.fileio import atomic_path, claim_build_dir
from edgekit.core.zones import GREEN_MIN, YELLOW_MIN
from edgekit.package.config import PackageConfig, load_package_config
from edgekit.package.context import ModelContext, _model_context
from edgekit.package.fixtures import build_fixtures
from edgekit.package.swift_text import (
    doc_text,
    md_code,
    md_text,
    swift_double,
    swift_identifier,
    swift_string,
    unique_identifiers,
)
from edgekit.tasks.roles import ROLES

#: Package-data directory of the Swift package templates (inside the edgekit package).
TEMPLATE_DIR = "swift_template"


def _environment():
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_template_source),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters.update(
        swift_string=swift_string,
        swift_ident=swift_identifier,
        doc=doc_text,
        md=md_text,
        md_code=md_code,
        swift_double=swift_double,
        kb=lambda b: f"{b / 1024:.1f}",
    )
    return env


def template_root() -> Traversable:
    """The Swift package templates: package data of the installed edgekit (``edgekit/swift_template``)."""
    return importlib.resources.files("edgekit") / TEMPLATE_DIR


def _template_node(name: str) -> Traversable:
    node = template_root()
    for part in name.split("/"):
        node = node / part
    return node


def _template_source(name: str) -> str | None:
    """Jinja2 source of template ``name`` (``/``-separated, relative to the templates), None if absent."""
    node = _template_node(name)
    return node.read_bytes().decode("utf-8") if node.is_file() else None


def _template_files() -> list[str]:
    """Every template file as a ``/``-separated path relative to the templates, sorted."""
    root = template_root()
    if not root.is_dir():
        raise EdgekitError(f"edgekit/{TEMPLATE_DIR}: Swift package templates not found (incomplete edgekit install)")
    found: list[str] = []

    def walk(node: Traversable, prefix: str) -> None:
        for child in node.iterdir():
            if child.name == "__pycache__":
                continue
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            elif child.is_file():
                found.append(f"{prefix}{child.name}")

    walk(root, "")
    return sorted(found)


def _out_relpath(rel: Path, pkg: PackageConfig) -> Path:
    mapping = {"HRVKit": pkg.name, "HRVKitCore": pkg.core_name, "HRVKitTests": f"{pkg.name}Tests",
               "HRVKitCoreTests": f"{pkg.core_name}Tests"}
    parts = [mapping.get(p, p) for p in rel.parts]
    if parts[-1].endswith(".j2"):
        parts[-1] = parts[-1][:-3]
    return Path(*parts)


def render_package(pkg: PackageConfig, models: list[ModelContext], fixtures: dict[str, Any], out: Path) -> None:
    """Render the templates and copy the models into ``out`` (an empty or new directory)."""
    env = _environment()
    by_role = {m.role: m for m in models}  # at most one of each (run_package)
    classifier = next((m for m in models if m.role_spec.has_labels), None)
    labels = classifier.labels if classifier else list(STRAIN_LABELS)
    context = {
        "package": pkg,
        "name": pkg.name,
        "core": pkg.core_name,
        "models": models,
        **{name: by_role.get(name) for name in ROLES},  # the templates' model of each role, by its name
        "workout": fixtures["_workout_constants"],
        "activity": fixtures["_activity"],
        "labels": labels,
        "label_idents": classifier.label_idents if classifier else unique_identifiers(labels, fallback="label"),
        "constants": fixtures["_constants"],
        "prep": fixtures["_preprocessing"],
        "role_titles": {r.name: r.title for r in ROLES.values()},
        "green_min": GREEN_MIN,
        "yellow_min": YELLOW_MIN,
        "edgekit_version": _edgekit_version(),
    }
    for name in _template_files():
        dest = out / _out_relpath(Path(*name.split("/")), pkg)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".j2"):
            text = env.get_template(name).render(context)
            dest.write_text(text, encoding="utf-8", newline="\n")
        else:
            dest.write_bytes(_template_node(name).read_bytes())
    resources = out / "Sources" / pkg.name / "Resources"
    resources.mkdir(parents=True, exist_ok=True)
    for m, path in fixtures.get("_mlpackages", []):
        shutil.copytree(path, resources / f"{m.resource}.mlpackage")
    for relname, doc in sorted(fixtures.items()):
        if relname.startswith("_"):
            continue
        dest = out / _out_relpath(Path(relname), pkg)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(json.dumps(doc, separators=(",", ":"), sort_keys=True, allow_nan=False) + "\n",
                        encoding="utf-8")


def _edgekit_version() -> str:
    return edgekit.__version__


def run_package(package_config_path: Path, build_dir: Path, *, package: PackageConfig | None = None,
                configs: list[ModelConfig] | None = None) -> dict:
    """The package stage: select, verify-check, render ``<build_dir>/ios/<name>/`` atomically.

    ``package``/``configs``: ``edgekit.toml`` and its models' configs (in its order) when the caller
    loaded them already (``edgekit build``); read from ``package_config_path`` otherwise.
    Returns a JSON-able summary: per model the bundled variant, its bytes and why it was chosen.
    """
    pkg = package if package is not None else load_package_config(package_config_path)
    cfgs = configs if configs is not None else [load_config(entry.config) for entry in pkg.models]
    build_dir = Path(build_dir)
    used: set[str] = set()
    models: list[ModelContext] = []
    extras = []
    by_role: dict[str, str] = {}
    seen_names: set[str] = set()
    for entry, model_cfg in zip(pkg.models, cfgs, strict=True):
        ctx, (cfg, choice) = _model_context(entry, model_cfg, build_dir, used)
        if ctx.name in seen_names:
            raise EdgekitError(f"{pkg.path}: model {ctx.name!r} listed twice")
        seen_names.add(ctx.name)
        other = by_role.setdefault(ctx.role, ctx.name)
        if other != ctx.name:
            raise EdgekitError(f"{pkg.path}: two {ctx.role} models ({other}, {ctx.name}); "
                               "the package bundles at most one of each")
        models.append(ctx)
        extras.append((cfg, choice))

    fixtures = build_fixtures(models, [cfg for cfg, _ in extras], build_dir)
    fixtures["_mlpackages"] = [(m, choice.path) for m, (_, choice) in zip(models, extras)]
    out_dir = claim_build_dir(build_dir) / "ios" / pkg.name
    with atomic_path(out_dir) as tmp:
        tmp.mkdir(parents=True)
        render_package(pkg, models, fixtures, tmp)
    return {
        "package": pkg.name,
        "path": str(out_dir),
        "models": {
            m.name: {"variant": m.variant, "bytes": m.bytes, "max_kb": m.max_kb, "sha256": m.sha256,
                     "why": m.why, "compute_units": m.compute_units, "accuracy": m.accuracy_text}
            for m in models
        },
    }
