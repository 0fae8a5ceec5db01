"""Which Core ML variant a model ships: the verification and conversion reports of
``build/<model>/{verify,coreml}/`` read, the variants ranked, the smallest one that passed every
gate within the size budget chosen (:func:`select_variant`), and the chosen ``.mlpackage``'s spec
read (:func:`read_model_spec`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekit.core.errors import EdgekitError
from edgekit.core.fileio import sha256_file, sha256_tree
from edgekit.package.config import _one_line
from edgekit.package.swift_text import doc_text

#: Variant preference on a size tie (smaller index wins): less lossy first.
VARIANT_ORDER = ("fp32", "fp16", "int8", "w8a8", "palette6", "palette4")


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EdgekitError(f"{path}: {what} not found; run the earlier stages first (edgekit build)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EdgekitError(f"{path}: not valid JSON: {_one_line(exc)}") from None


def tree_bytes(path: Path) -> int:
    """Bytes of a file, or the sum over every file of a directory (what the app ships)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _variant_table(doc: Any) -> dict[str, dict]:
    """Per-variant entries of convert.json / parity.json, whatever their exact nesting."""
    if not isinstance(doc, dict):
        return {}
    for key in ("variants", "results", "per_variant"):
        inner = doc.get(key)
        if isinstance(inner, dict):
            return {str(k): v for k, v in inner.items() if isinstance(v, dict)}
        if isinstance(inner, list):
            table = {}
            for item in inner:
                if isinstance(item, dict) and isinstance(item.get("variant", item.get("name")), str):
                    table[item.get("variant", item.get("name"))] = item
            if table:
                return table
    return {k: v for k, v in doc.items() if isinstance(v, dict) and k in VARIANT_ORDER}


def _failed_checks(entry: dict) -> list[str]:
    """Names (with values where available) of the failed checks of one parity entry."""
    checks = entry.get("checks", entry.get("gates"))
    failed = []
    if isinstance(checks, dict):
        items = checks.items()
    elif isinstance(checks, list):
        items = [(c.get("name", c.get("check", f"check{i}")), c) for i, c in enumerate(checks) if isinstance(c, dict)]
    else:
        items = []
    for name, check in items:
        ok = check.get("passed", check.get("ok")) if isinstance(check, dict) else check
        if ok is False:
            detail = ""
            if isinstance(check, dict):
                value = next((check[k] for k in ("value", "measured", "max_abs_diff", "actual") if k in check), None)
                limit = next((check[k] for k in ("limit", "tolerance", "tol", "threshold", "max", "min") if k in check), None)
                if isinstance(value, (int, float)) and isinstance(limit, (int, float)):
                    detail = f" ({value:.4g} vs limit {limit:.4g})"
            failed.append(f"{name}{detail}")
    if not failed and entry.get("error"):
        failed.append(doc_text(entry["error"])[:120])
    return failed


@dataclass
class VariantChoice:
    variant: str
    path: Path
    bytes: int
    sha256: str
    parity: dict
    why: str
    candidates: list[dict]


def select_variant(name: str, model_dir: Path, max_kb: float) -> VariantChoice:
    """The smallest variant of ``model_dir`` that passed verification within ``max_kb``.

    Raises :class:`EdgekitError` (one line) when the verification report is missing or no variant
    qualifies; a variant whose .mlpackage changed after verification (hash recorded by verify
    differs) counts as unverified.
    """
    coreml = model_dir / "coreml"
    parity_path = model_dir / "verify" / "parity.json"
    parity = _read_json(parity_path, "verification report")
    convert_path = coreml / "convert.json"
    convert_doc = _read_json(convert_path, "conversion report") if convert_path.exists() else {}
    verified = _variant_table(parity)
    converted = _variant_table(convert_doc)
    if not verified:
        raise EdgekitError(f"{parity_path}: no per-variant results; re-run verify")
    checkpoint = model_dir / "train" / "model.pt"
    recorded_ckpt = parity.get("checkpoint_sha256") if isinstance(parity, dict) else None
    if isinstance(recorded_ckpt, str) and checkpoint.is_file() and sha256_file(checkpoint) != recorded_ckpt:
        raise EdgekitError(f"{parity_path}: verified a different checkpoint than {checkpoint.name} (retrained "
                           "since); re-run verify")
    budget = int(max_kb * 1024)
    rows: list[dict] = []
    for variant in sorted(verified, key=_variant_rank):
        entry = verified[variant]
        pkg = coreml / f"{variant}.mlpackage"
        row: dict[str, Any] = {"variant": variant, "passed": entry.get("passed") is True}
        if not pkg.is_dir():
            row.update(status="missing", reason=f"{pkg.name} not found")
            rows.append(row)
            continue
        row["bytes"] = tree_bytes(pkg)
        row["sha256"] = sha256_tree(pkg)
        recorded = entry.get("sha256") or entry.get("mlpackage_sha256") or converted.get(variant, {}).get("sha256")
        if entry.get("passed") is not True:
            failed = _failed_checks(entry)
            row.update(status="failed", reason="failed " + (", ".join(failed) if failed else "verification"))
        elif isinstance(recorded, str) and recorded != row["sha256"]:
            row.update(status="stale", reason="changed after verification (hash differs)")
        elif row["bytes"] > budget:
            row.update(status="over_budget", reason=f"{row['bytes'] / 1024:.1f} KB > {max_kb:g} KB budget")
        else:
            row.update(status="ok", reason="passed every gate within budget")
        rows.append(row)
    ok = [r for r in rows if r["status"] == "ok"]
    if not ok:
        detail = "; ".join(f"{r['variant']}: {r['reason']}" for r in rows) or "no variants"
        raise EdgekitError(f"{name}: no verified variant within max_kb={max_kb:g} ({detail})")
    best = min(ok, key=lambda r: (r["bytes"], _variant_rank(r["variant"])))
    others = [f"{r['variant']} {r['reason']}" for r in rows if r is not best and r["status"] != "ok"]
    why = (f"{best['variant']} is the smallest of the variants that passed every gate within "
           f"{max_kb:g} KB ({', '.join(r['variant'] for r in ok)})")
    if others:
        why += "; " + "; ".join(others)
    return VariantChoice(best["variant"], coreml / f"{best['variant']}.mlpackage", best["bytes"], best["sha256"],
                         verified[best["variant"]], why, rows)


def _variant_rank(variant: str) -> tuple[int, str]:
    return (VARIANT_ORDER.index(variant) if variant in VARIANT_ORDER else len(VARIANT_ORDER), variant)


def read_model_spec(mlpackage: Path) -> dict:
    """Input/output names and shapes, classifier labels and metadata from an .mlpackage's spec."""
    try:
        import coremltools as ct  # noqa: PLC0415 (heavy; only this stage needs it)

        spec = ct.utils.load_spec(str(mlpackage))
    except Exception as exc:  # coremltools raises many types for unreadable packages
        raise EdgekitError(f"{mlpackage}: cannot read the Core ML spec: {_one_line(exc)}") from None
    desc = spec.description
    inputs = []
    for feature in desc.input:
        shape = list(feature.type.multiArrayType.shape) if feature.type.HasField("multiArrayType") else []
        inputs.append({"name": feature.name, "shape": [int(s) for s in shape]})
    outputs = []
    for feature in desc.output:
        kind = feature.type.WhichOneof("Type")
        outputs.append({"name": feature.name, "kind": kind})
    meta = desc.metadata
    labels: list[str] = []
    program_kind = spec.WhichOneof("Type")
    if program_kind == "neuralNetworkClassifier":
        labels = list(spec.neuralNetworkClassifier.stringClassLabels.vector)
    return {
        "inputs": inputs,
        "outputs": outputs,
        "predicted_feature": desc.predictedFeatureName,
        "probabilities_feature": desc.predictedProbabilitiesName,
        "labels": labels,
        "author": meta.author,
        "license": meta.license,
        "version": meta.versionString,
        "description": meta.shortDescription,
        "user_defined": dict(sorted(meta.userDefined.items())),
    }
