"""One report row per Core ML variant: bytes from disk, figures from the convert and verify records.

Each copied figure's source is recorded in the row's ``sources`` map (:mod:`edgekit.report.sources`);
derived figures (bits per parameter of the blob, the size floor, compression and drops vs fp32) are
listed under ``derived``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgekit.core.errors import EdgekitError
from edgekit.core.layout import ModelLayout
from edgekit.export.records import CONVERT_RECORD, VariantBuild
from edgekit.report.sources import is_number, source
from edgekit.verify.records import HEADLINE_FIGURES, PARITY_RECORD, CheckRecord, ParityRecord, VariantParity
from edgekit.verify.selection import tree_bytes

#: Bits each compressed parameter is stored with, by variant family (the size floor's bits).
NOMINAL_BITS = {"fp32": 32, "fp16": 16, "int8": 8, "w8a8": 8, "palette6": 6, "palette4": 4}
PRECISION_TEXT = {"fp32": "fp32", "fp16": "fp16", "int8": "int8 weights", "w8a8": "int8 weights + activations",
                  "palette6": "6-bit palette", "palette4": "4-bit palette"}
WEIGHT_BLOB = Path("Data/com.apple.CoreML/weights/weight.bin")

# the convert record's figures a row copies: row field -> VariantBuild attribute
_CONVERT_FIELDS = {"convert_recorded_bytes": "bytes_total", "convert_recorded_weight_bytes": "weight_bytes",
                   "bits_per_param": "bits_per_param", "coreml_params": "params",
                   "coreml_params_compressed": "params_compressed"}
# held-out figures of a variant (verify): metric -> (its figure, the drop verify recorded, the fp32 torch figure)
_HELD_OUT = {"accuracy": ("accuracy", "accuracy_drop", "accuracy_fp32_torch"),
             "macro_f1": ("macro_f1", "macro_f1_drop", "macro_f1_fp32_torch"),
             "mae": ("mae", "mae_change", "mae_fp32_torch")}
# parity figures: row field -> figure of the reference evaluator's run
_PARITY_FIGURES = {"coreml_max_abs_diff": "max_abs_diff", "coreml_top1_agreement": "top1_agreement",
                   "coreml_top1_agreement_test": "top1_agreement_test"}


def gate_rows(checks: list[CheckRecord], *keys: str) -> list[dict]:
    """Each verification gate: name, passed, value, limit, figure, comparison, backend (+ source).
    ``keys``: where the checks sit in verify/parity.json (``"variants", "fp16"`` or ``"onnx"``)."""
    gates = []
    for i, c in enumerate(checks):
        gate: dict[str, Any] = {"name": c.name, "source": source(PARITY_RECORD, *keys, "checks", i),
                                "passed": c.passed, "figure": c.figure, "comparison": c.comparison,
                                "backend": c.backend}
        if is_number(c.value):
            gate["value"] = c.value
        if is_number(c.tolerance):
            gate["limit"] = c.tolerance
        gates.append(gate)
    return gates


def variant_row(name: str, model_dir: Path, conv: VariantBuild | None, par: VariantParity | None,
                parity: ParityRecord, params: int, classifier: bool) -> dict[str, Any]:
    """The row of variant ``name`` (``conv``/``par``: its convert and verify entries, None when absent)."""
    pkg = ModelLayout(model_dir).mlpackage(name)
    row: dict[str, Any] = {"name": name, "sources": {}, "derived": []}
    src = row["sources"]

    def take(field: str, value: Any, where: str | None) -> None:
        row[field] = value
        if where is not None and value is not None:
            src[field] = where

    # identity and size (bytes from disk; stored bits per parameter as convert measured them)
    row["precision"] = PRECISION_TEXT.get(name, name)
    row["bits"] = NOMINAL_BITS.get(name)
    conv_keys = ("variants", name)
    take("method", conv.method if conv else None, source(CONVERT_RECORD, *conv_keys, "method"))
    for field, attr in _CONVERT_FIELDS.items():
        v = getattr(conv, attr) if conv else None
        take(field, v if is_number(v) else None, source(CONVERT_RECORD, *conv_keys, attr))
    row["path"] = f"coreml/{name}.mlpackage"
    if not pkg.is_dir():
        raise EdgekitError(f"{pkg}: Core ML package of variant {name!r} not found (listed in "
                           f"{CONVERT_RECORD.as_posix() if conv else PARITY_RECORD.as_posix()})")
    row["bytes_total"] = tree_bytes(pkg)
    blob = pkg / WEIGHT_BLOB
    row["weight_blob"] = str(WEIGHT_BLOB)
    row["weight_bytes"] = blob.stat().st_size if blob.is_file() else 0
    row["params"] = params
    row["bits_per_param_blob"] = 8 * row["weight_bytes"] / params if params else None
    row["floor_bytes"] = params * row["bits"] / 8 if row["bits"] else None
    row["derived"] += ["bits_per_param_blob", "floor_bytes"]
    notes = []
    for field, disk in (("convert_recorded_bytes", "bytes_total"), ("convert_recorded_weight_bytes", "weight_bytes")):
        rec = row.get(field)
        if is_number(rec) and rec != row[disk]:
            notes.append(f"convert.json records {field.split('_', 2)[2].replace('_', ' ')} {rec}, disk has {row[disk]}")
    row["size_note"] = "; ".join(notes) or None

    # held-out accuracy and parity (from verify)
    metric_names = ("accuracy", "macro_f1") if classifier else ("mae",)
    for field in (*metric_names, *_PARITY_FIGURES, "coreml_runtime_max_abs_diff", "coreml_runtime_top1_agreement",
                  "onnx_max_abs_diff", "onnx_top1_agreement", "coreml_backend"):
        row[field] = None
    row.update(gates=[], passed=False, verify_note=None)
    if par is None:
        row["verify_note"] = "not in verify/parity.json"
        return row
    keys = ("variants", name)

    def figure(name_: str) -> tuple[Any, str]:
        """A figure of this variant and its source (the headline copy where verify writes one)."""
        v = par.figure(name_)
        at = (name_,) if name_ in HEADLINE_FIGURES else ("figures", name_)
        return (v if is_number(v) else None), source(PARITY_RECORD, *keys, *at)

    for m in metric_names:
        value, drop, ref = _HELD_OUT[m]
        take(m, *figure(value))
        d, s = figure(drop)
        if d is not None:
            take(f"{m}_drop_recorded", d, s)
        r, s = figure(ref)
        if r is not None:
            take(f"{m}_fp32_torch_verify", r, s)
    for field, fig in _PARITY_FIGURES.items():
        if classifier or "top1" not in field:
            take(field, *figure(fig))
    for field, fig in (("coreml_runtime_max_abs_diff", "max_abs_diff"),
                       ("coreml_runtime_top1_agreement", "top1_agreement")):
        if classifier or "top1" not in field:
            runtime = par.coreml_runtime or {}
            units = next((u for u in ("CPU_ONLY", "ALL") if is_number((runtime.get(u) or {}).get(fig))), None)
            take(field, runtime[units][fig] if units else None,
                 source(PARITY_RECORD, *keys, "coreml_runtime", units, fig) if units else None)
    # onnxruntime: the fp32 export (model level); no ONNX of a quantized variant exists
    if name == "fp32":
        take("onnx_max_abs_diff", parity.onnx.max_abs_diff if is_number(parity.onnx.max_abs_diff) else None,
             source(PARITY_RECORD, "onnx", "max_abs_diff"))
        row["onnx_model"] = "onnx/model.onnx (fp32 export)"
    else:
        row["onnx_model"] = None
    backend = par.backend
    take("coreml_backend", backend, source(PARITY_RECORD, *keys, "backend"))
    if row.get("coreml_runtime_max_abs_diff") is not None:
        row["coreml_backend"] = f"{backend} + coreml-runtime" if backend else "coreml-runtime"
    row["gates"] = gate_rows(par.checks, *keys)
    take("passed", par.passed, source(PARITY_RECORD, *keys, "passed"))
    if par.error:
        take("verify_error", par.error, source(PARITY_RECORD, *keys, "error"))
    return row


def derive(rows: list[dict], fp32_torch: dict[str, float], classifier: bool) -> None:
    """Compression vs fp32, and held-out drops vs the fp32 torch model.

    A drop verify recorded is used as is; otherwise it is the difference of the variant's figure (from
    verify) and the fp32 torch figure (from train/metrics.json). Positive = worse than fp32 torch.
    """
    ref = next((r for r in rows if r["name"] == "fp32"), None)
    for r in rows:
        r["compression_vs_fp32"] = ref["bytes_total"] / r["bytes_total"] if ref and r["bytes_total"] else None
        r["weight_compression_vs_fp32"] = (ref["weight_bytes"] / r["weight_bytes"]
                                          if ref and r["weight_bytes"] else None)
        r["derived"] += ["compression_vs_fp32", "weight_compression_vs_fp32"]
        for m in (("accuracy", "macro_f1") if classifier else ("mae",)):
            recorded = r.get(f"{m}_drop_recorded")
            if is_number(recorded):
                r[f"{m}_drop"] = recorded
                r["sources"][f"{m}_drop"] = r["sources"][f"{m}_drop_recorded"]
                continue
            base, v = fp32_torch.get(m), r.get(m)
            r[f"{m}_drop"] = ((base - v) if classifier else (v - base)) if is_number(v) and is_number(base) else None
            r["derived"].append(f"{m}_drop")


def parity_series(parity: ParityRecord) -> dict[str, dict[str, list[float]]]:
    """Per-fixture |Δ| vs torch of each variant's program, where verify recorded them (for the
    error-distribution plot)."""
    out: dict[str, dict[str, list[float]]] = {}
    for name, entry in parity.variants.items():
        per = entry.per_fixture_max_abs_diff
        values = [per[k] for k in sorted(per)] if isinstance(per, dict) else []
        if values and all(is_number(x) for x in values):
            out[name] = {"coreml": [float(x) for x in values]}
    return out
