"""Which Core ML variant a model ships: the verification and conversion records of
``build/<model>/{verify,coreml}/`` read (:mod:`edgekit.verify.records`, :mod:`edgekit.export.records`), the
variants ranked, the smallest one that passed every gate within the size budget chosen
(:func:`select_variant`: the package stage bundles it, the report shows it), and the chosen
``.mlpackage``'s spec read (:func:`read_model_spec`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekit.core.errors import EdgekitError
from edgekit.core.fileio import sha256_file, sha256_tree
from edgekit.core.layout import ModelLayout
from edgekit.export.records import CONVERT_RECORD, read_convert_record
from edgekit.export.runtime import import_coremltools
from edgekit.verify.records import PARITY_RECORD, VariantParity, read_parity_record

#: Variant preference on a size tie (smaller index wins): less lossy first.
VARIANT_ORDER = ("fp32", "fp16", "int8", "w8a8", "palette6", "palette4")


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def tree_bytes(path: Path) -> int:
    """Bytes of a file, or the sum over every file of a directory (what the app ships)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _failed_checks(entry: VariantParity) -> list[str]:
    """Names (with value vs limit) of the failed gates of one variant, else its error."""
    failed = [f"{c.name}" + (f" ({c.value:.4g} vs limit {c.tolerance:.4g})" if c.value is not None else "")
              for c in entry.checks if not c.passed]
    if not failed and entry.error:
        failed.append(_one_line(entry.error)[:120])
    return failed


@dataclass
class VariantChoice:
    variant: str
    path: Path
    bytes: int
    sha256: str
    parity: VariantParity  # the chosen variant's verification
    why: str
    candidates: list[dict]  # every verified variant: variant, passed, status, reason (bytes, sha256)


def select_variant(name: str, model_dir: Path, max_kb: float) -> VariantChoice:
    """The smallest variant of ``model_dir`` that passed verification within ``max_kb``.

    Raises :class:`EdgekitError` (one line) when the verification report is missing or no variant
    qualifies; a variant whose .mlpackage changed after verification (hash recorded by verify
    differs) counts as unverified.
    """
    coreml = model_dir / "coreml"
    parity_path = model_dir / PARITY_RECORD
    parity = read_parity_record(model_dir)
    converted = read_convert_record(model_dir).variants if (model_dir / CONVERT_RECORD).exists() else {}
    verified = parity.variants
    if not verified:
        raise EdgekitError(f"{parity_path}: no per-variant results; re-run verify")
    checkpoint = ModelLayout(model_dir).checkpoint
    if checkpoint.is_file() and sha256_file(checkpoint) != parity.checkpoint_sha256:
        raise EdgekitError(f"{parity_path}: verified a different checkpoint than {checkpoint.name} (retrained "
                           "since); re-run verify")
    budget = int(max_kb * 1024)
    rows: list[dict] = []
    for variant in sorted(verified, key=_variant_rank):
        entry = verified[variant]
        pkg = coreml / f"{variant}.mlpackage"
        row: dict[str, Any] = {"variant": variant, "passed": entry.passed}
        if not pkg.is_dir():
            row.update(status="missing", reason=f"{pkg.name} not found")
            rows.append(row)
            continue
        row["bytes"] = tree_bytes(pkg)
        row["sha256"] = sha256_tree(pkg)
        recorded = entry.sha256 or (converted[variant].sha256 if variant in converted else None)
        if not entry.passed:
            failed = _failed_checks(entry)
            row.update(status="failed", reason="failed " + (", ".join(failed) if failed else "verification"))
        elif recorded is not None and recorded != row["sha256"]:
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
        spec = import_coremltools().utils.load_spec(str(mlpackage))
    except Exception as exc:  # coremltools raises many types for unreadable packages
        raise EdgekitError(f"{mlpackage}: cannot read the Core ML spec: {(str(exc).strip().splitlines() or [type(exc).__name__])[0]}"
                           ) from None
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
