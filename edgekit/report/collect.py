"""Gather a model's report from the files the earlier stages wrote — never re-measure.

Every figure in the report either comes from disk (byte counts of the artifacts, read with
``stat``) or is copied from the stage file that measured it. Copied figures carry their source as
``"<file relative to build/<model>/>#<JSON pointer>"`` in the row's ``sources`` map, so a reader (and
``tests/test_report.py``) can resolve each one and check the report against its source. Derived
figures (compression ratios, drops vs fp32, bits per parameter) are arithmetic on sourced figures and
are listed under ``derived``.
"""

from __future__ import annotations

import json
import math
import platform
import subprocess
from pathlib import Path
from typing import Any

from edgekit.config.load import ModelConfig
from edgekit.core.errors import EdgekitError
from edgekit.models.checkpoint import load_checkpoint
from edgekit.tasks import task_for
from edgekit.tasks.real import load_real

#: Bits each compressed parameter is stored with, by variant family (the size floor's bits).
NOMINAL_BITS = {"fp32": 32, "fp16": 16, "int8": 8, "w8a8": 8, "palette6": 6, "palette4": 4}
PRECISION_TEXT = {"fp32": "fp32", "fp16": "fp16", "int8": "int8 weights", "w8a8": "int8 weights + activations",
                  "palette6": "6-bit palette", "palette4": "4-bit palette"}
WEIGHT_BLOB = Path("Data/com.apple.CoreML/weights/weight.bin")
STAGE_ORDER = ("data", "train", "convert", "verify", "evaluate", "report")
REQUIRED = {
    "metrics": "train/metrics.json",
    "history": "train/history.json",
    "checkpoint": "train/model.pt",
    "data_summary": "data/summary.json",
    "convert": "coreml/convert.json",
    "parity": "verify/parity.json",
}


# ---------------------------------------------------------------------------------------------
# reading


def read_json(path: Path, what: str) -> Any:
    """A stage's JSON file, or a one-line :class:`EdgekitError` naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EdgekitError(f"{path}: {what} not found; run the earlier stages first (edgekit build)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EdgekitError(f"{path}: unreadable {what}: {_one_line(exc)}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise EdgekitError(f"{path}: {what} is not valid JSON: {_one_line(exc)}") from None


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def pointer_escape(key: str) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def resolve_pointer(doc: Any, pointer: str) -> Any:
    """Value at an RFC 6901 JSON pointer (``/a/0/b``); ``KeyError`` when absent."""
    if pointer in ("", "/"):
        return doc
    cur = doc
    for raw in pointer.lstrip("/").split("/"):
        key = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(cur, list):
            cur = cur[int(key)]
        elif isinstance(cur, dict):
            cur = cur[key]
        else:
            raise KeyError(pointer)
    return cur


def resolve_source(model_dir: Path, source: str, _cache: dict | None = None) -> Any:
    """Value a ``"file#pointer"`` source names (file relative to ``model_dir``)."""
    rel, _, pointer = source.partition("#")
    cache = _cache if _cache is not None else {}
    if rel not in cache:
        cache[rel] = json.loads((model_dir / rel).read_text(encoding="utf-8"))
    return resolve_pointer(cache[rel], pointer)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


class Sourced:
    """Look up figures in one JSON document and remember where each came from."""

    def __init__(self, rel: str, doc: Any) -> None:
        self.rel, self.doc = rel, doc

    def at(self, pointer: str) -> Any:
        try:
            return resolve_pointer(self.doc, pointer)
        except (KeyError, IndexError, ValueError, TypeError):
            return None

    def first(self, base: str, *paths: str, kind: str = "number") -> tuple[Any, str | None]:
        """First value of the right kind under ``base`` + one of ``paths`` → (value, source)."""
        for p in paths:
            pointer = f"{base}/{p}" if p else base
            v = self.at(pointer)
            if (kind == "number" and _is_number(v)) or (kind == "bool" and isinstance(v, bool)) or (
                kind == "str" and isinstance(v, str)) or (kind == "any" and v is not None):
                return v, f"{self.rel}#{pointer}"
        return None, None


def variant_entries(doc: Any) -> dict[str, str]:
    """Per-variant entries of convert.json / parity.json → {variant: JSON pointer of its entry}.

    Accepts ``{"variants": {name: {...}}}``, ``{"variants": [{"variant"|"name": ...}]}`` and a
    top-level ``{name: {...}}`` keyed by known variant names.
    """
    if not isinstance(doc, dict):
        return {}
    for key in ("variants", "results", "per_variant"):
        inner = doc.get(key)
        if isinstance(inner, dict):
            return {str(k): f"/{key}/{pointer_escape(k)}" for k, v in inner.items() if isinstance(v, dict)}
        if isinstance(inner, list):
            out = {}
            for i, item in enumerate(inner):
                if isinstance(item, dict):
                    name = item.get("variant", item.get("name"))
                    if isinstance(name, str):
                        out[name] = f"/{key}/{i}"
            if out:
                return out
    return {k: f"/{pointer_escape(k)}" for k, v in doc.items() if isinstance(v, dict) and k in NOMINAL_BITS}


def tree_bytes(path: Path) -> int:
    """Bytes of every file under a directory (what the app ships), or of one file."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in sorted(path.rglob("*")) if p.is_file())


# ---------------------------------------------------------------------------------------------
# per-variant rows


def _gate_list(entry_src: Sourced, base: str) -> list[dict]:
    """Each verification gate of a parity entry: name, passed, value, limit (+ source)."""
    checks, ptr = entry_src.first(base, "checks", "gates", kind="any")
    gates: list[dict] = []
    if isinstance(checks, dict):
        items = [(str(k), v, f"{ptr.split('#')[1]}/{pointer_escape(k)}") for k, v in checks.items()]
    elif isinstance(checks, list):
        items = []
        for i, c in enumerate(checks):
            name = c.get("name", c.get("check", f"check{i}")) if isinstance(c, dict) else f"check{i}"
            items.append((str(name), c, f"{ptr.split('#')[1]}/{i}"))
    else:
        return gates
    for name, check, pointer in items:
        gate: dict[str, Any] = {"name": name, "source": f"{entry_src.rel}#{pointer}"}
        if isinstance(check, bool):
            gate["passed"] = check
        elif isinstance(check, dict):
            ok = check.get("passed", check.get("ok"))
            gate["passed"] = ok if isinstance(ok, bool) else None
            for out_key, keys in (("value", ("value", "measured", "max_abs_diff", "actual")),
                                  ("limit", ("limit", "tolerance", "tol", "threshold", "max", "min"))):
                v = next((check[k] for k in keys if k in check), None)
                if _is_number(v):
                    gate[out_key] = v
            for extra in ("figure", "comparison", "backend", "metric", "detail", "reason"):
                if isinstance(check.get(extra), str):
                    gate[extra] = check[extra]
        else:
            gate["passed"] = None
        gates.append(gate)
    return gates


# key paths, relative to a parity variant entry, tried in order (verify/parity.py's schema first)
_PARITY_PATHS = {
    "coreml_max_abs_diff": ("max_abs_diff", "figures/max_abs_diff", "coreml/max_abs_diff"),
    "coreml_top1_agreement": ("top1_agreement", "figures/top1_agreement", "coreml/top1_agreement"),
    "coreml_top1_agreement_test": ("figures/top1_agreement_test",),
    "coreml_runtime_max_abs_diff": ("coreml_runtime/CPU_ONLY/max_abs_diff", "coreml_runtime/ALL/max_abs_diff"),
    "coreml_runtime_top1_agreement": ("coreml_runtime/CPU_ONLY/top1_agreement", "coreml_runtime/ALL/top1_agreement"),
}
# onnxruntime parity: per variant where verify ran a variant's own ONNX, else the model-level fp32 export
_ONNX_PATHS = {
    "onnx_max_abs_diff": ("onnx/max_abs_diff", "onnxruntime/max_abs_diff"),
    "onnx_top1_agreement": ("onnx/top1_agreement", "onnxruntime/top1_agreement", "onnx/figures/top1_agreement"),
}
_BACKEND_PATHS = ("backend", "coreml/backend", "figures/backend")
_ACC_PATHS = {
    "accuracy": ("accuracy", "figures/accuracy", "test/accuracy"),
    "macro_f1": ("macro_f1", "figures/macro_f1", "test/macro_f1"),
    "mae": ("mae", "figures/mae", "test/mae"),
}
_DROP_PATHS = {
    "accuracy": ("accuracy_drop", "figures/accuracy_drop", "test/accuracy_drop"),
    "macro_f1": ("macro_f1_drop", "figures/macro_f1_drop", "test/macro_f1_drop"),
    "mae": ("mae_change", "figures/mae_change", "test/mae_change"),
}
_FP32_REF_PATHS = {
    "accuracy": ("figures/accuracy_fp32_torch", "accuracy_fp32_torch"),
    "macro_f1": ("figures/macro_f1_fp32_torch", "macro_f1_fp32_torch"),
    "mae": ("figures/mae_fp32_torch", "mae_fp32_torch"),
}


def _variant_row(name: str, model_dir: Path, convert: Sourced, conv_ptr: str | None, parity: Sourced,
                 par_ptr: str | None, params: int, classifier: bool) -> dict[str, Any]:
    pkg = model_dir / "coreml" / f"{name}.mlpackage"
    row: dict[str, Any] = {"name": name, "sources": {}, "derived": []}
    src = row["sources"]

    def take(field: str, value: Any, source: str | None) -> None:
        row[field] = value
        if source is not None:
            src[field] = source

    # identity and size (bytes from disk; stored bits per parameter as convert measured them)
    row["precision"] = PRECISION_TEXT.get(name, name)
    row["bits"] = NOMINAL_BITS.get(name)
    for field, keys in (("method", ("method",)),):
        v, s = convert.first(conv_ptr, *keys, kind="str") if conv_ptr else (None, None)
        take(field, v, s)
    for field, keys in (("convert_recorded_bytes", ("bytes_total", "bytes")),
                        ("convert_recorded_weight_bytes", ("weight_bytes",)),
                        ("bits_per_param", ("bits_per_param", "bits_per_parameter")),
                        ("coreml_params", ("params",)),
                        ("coreml_params_compressed", ("params_compressed",))):
        v, s = convert.first(conv_ptr, *keys) if conv_ptr else (None, None)
        take(field, v, s)
    row["path"] = f"coreml/{name}.mlpackage"
    if not pkg.is_dir():
        raise EdgekitError(f"{pkg}: Core ML package of variant {name!r} not found (listed in "
                           f"{'coreml/convert.json' if conv_ptr else 'verify/parity.json'})")
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
        if _is_number(rec) and rec != row[disk]:
            notes.append(f"convert.json records {field.split('_', 2)[2].replace('_', ' ')} {rec}, disk has {row[disk]}")
    row["size_note"] = "; ".join(notes) or None

    # held-out accuracy and parity (from verify)
    metric_names = ("accuracy", "macro_f1") if classifier else ("mae",)
    for field in (*metric_names, *_PARITY_PATHS, *_ONNX_PATHS, "coreml_backend"):
        row[field] = None
    row.update(gates=[], passed=False, verify_note=None)
    if par_ptr is None:
        row["verify_note"] = "not in verify/parity.json"
        return row
    for m in metric_names:
        v, s = parity.first(par_ptr, *_ACC_PATHS[m])
        take(m, v, s)
        d, s = parity.first(par_ptr, *_DROP_PATHS[m])
        if d is not None:
            take(f"{m}_drop_recorded", d, s)
        r, s = parity.first(par_ptr, *_FP32_REF_PATHS[m])
        if r is not None:
            take(f"{m}_fp32_torch_verify", r, s)
    for field, paths in _PARITY_PATHS.items():
        if classifier or "top1" not in field:
            take(field, *parity.first(par_ptr, *paths))
    # onnxruntime: this variant's own ONNX if verify ran one, else the fp32 export (model level)
    own = {f: parity.first(par_ptr, *paths) for f, paths in _ONNX_PATHS.items()}
    if any(v is not None for v, _ in own.values()):
        for f, (v, s) in own.items():
            take(f, v, s)
        row["onnx_model"] = "this variant's ONNX"
    elif name == "fp32":
        for f, paths in _ONNX_PATHS.items():
            take(f, *parity.first("", *(p for p in paths if p.startswith(("onnx/", "onnxruntime/")))))
        row["onnx_model"] = "onnx/model.onnx (fp32 export)"
    else:
        row["onnx_model"] = None  # no ONNX of a quantized variant exists
    if not classifier:
        row["onnx_top1_agreement"] = None
        src.pop("onnx_top1_agreement", None)
    backend, s = parity.first(par_ptr, *_BACKEND_PATHS, kind="str")
    take("coreml_backend", backend, s)
    if row.get("coreml_runtime_max_abs_diff") is not None:
        row["coreml_backend"] = f"{backend} + coreml-runtime" if backend else "coreml-runtime"
    row["gates"] = _gate_list(parity, par_ptr)
    passed, s = parity.first(par_ptr, "passed", "ok", kind="bool")
    take("passed", bool(passed), s)
    err, s = parity.first(par_ptr, "error", kind="str")
    if err:
        take("verify_error", err, s)
    return row


def _derive(rows: list[dict], fp32_torch: dict[str, float], classifier: bool) -> None:
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
            if _is_number(recorded):
                r[f"{m}_drop"] = recorded
                r["sources"][f"{m}_drop"] = r["sources"][f"{m}_drop_recorded"]
                continue
            base, v = fp32_torch.get(m), r.get(m)
            r[f"{m}_drop"] = ((base - v) if classifier else (v - base)) if _is_number(v) and _is_number(base) else None
            r["derived"].append(f"{m}_drop")


# ---------------------------------------------------------------------------------------------
# packaging (which variant the Swift package bundles, and why)


def package_config_for(cfg: ModelConfig) -> Path:
    """``edgekit.toml`` beside the model's ``configs/`` directory."""
    return cfg.path.resolve().parent.parent / "edgekit.toml"


def packaging(cfg: ModelConfig, build_dir: Path, rows: list[dict]) -> dict[str, Any]:
    """The package stage's choice for this model.

    The choice is made by :func:`edgekit.package.select_variant` — the very function the package
    stage uses — with the model's ``max_kb`` from ``edgekit.toml``. When ``build/ios/<Package>`` exists,
    the bundled ``.mlpackage`` is also identified on disk by content hash.
    """
    out: dict[str, Any] = {"variant": None, "why": None, "max_kb": None, "candidates": [],
                           "bundled_on_disk": None, "package": None, "source": None}
    pc = package_config_for(cfg)
    if not pc.is_file():
        out["why"] = "no edgekit.toml beside configs/: this model is not packaged"
        return out
    try:
        from edgekit.package import load_package_config, select_variant
    except ImportError as exc:
        out["why"] = f"package stage unavailable ({_one_line(exc)})"
        return out
    pkg_cfg = load_package_config(pc)
    entry = next((m for m in pkg_cfg.models if Path(m.config).resolve() == cfg.path.resolve()), None)
    out["package"] = pkg_cfg.name
    if entry is None:
        out["why"] = f"not listed in {pc.name}: not packaged"
        return out
    out["max_kb"] = entry.max_kb
    out["source"] = f"edgekit.package.select_variant with max_kb={entry.max_kb:g} from {pc.name}"
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
    from edgekit.core.fileio import sha256_tree

    res = build_dir / "ios" / package / "Sources" / package / "Resources"
    if not res.is_dir():
        return None
    bundled = {sha256_tree(p) for p in sorted(res.glob("*.mlpackage"))}
    for r in rows:
        if sha256_tree(build_dir / model / r["path"]) in bundled:
            return r["name"]
    return None


# ---------------------------------------------------------------------------------------------
# environment and timings


def stage_times(model_dir: Path) -> dict[str, float | None]:
    """Wall time of each stage's last successful run (``.stamps/<stage>.json`` "seconds")."""
    out: dict[str, float | None] = {}
    for stage in STAGE_ORDER:
        p = model_dir / ".stamps" / f"{stage}.json"
        if not p.is_file():
            out[stage] = None
            continue
        rec = read_json(p, "stage stamp")
        secs = rec.get("seconds") if isinstance(rec, dict) else None
        if not _is_number(secs):
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
    from importlib import metadata

    import edgekit

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
    from edgekit.core.fileio import sha256_file

    path = model_dir / "person" / "person.json"
    if not path.is_file():
        return None
    doc = read_json(path, "person scenario")
    if not isinstance(doc, dict) or not isinstance(doc.get("result"), dict):
        raise EdgekitError(f"{path}: expected a JSON object with a 'result' object (edgekit evaluate --person)")
    ckpt = model_dir / "train" / "model.pt"
    current = sha256_file(ckpt) if ckpt.is_file() else None
    return {**doc["result"], "date": doc.get("date"), "config_fingerprint": doc.get("config_fingerprint"),
            "stale": current != doc.get("checkpoint_sha256")}


# ---------------------------------------------------------------------------------------------
# the whole model report


def collect(cfg: ModelConfig, build_dir: Path) -> dict[str, Any]:
    """The report of one model as a JSON-able dict. Raises one-line EdgekitErrors on bad input."""
    build_dir = Path(build_dir)
    model_dir = build_dir / cfg.name
    docs = {k: read_json(model_dir / rel, rel) for k, rel in REQUIRED.items() if not rel.endswith(".pt")}
    for k, rel in REQUIRED.items():
        if rel.endswith(".json") and not isinstance(docs[k], dict):
            raise EdgekitError(f"{model_dir / rel}: expected a JSON object, got {type(docs[k]).__name__}")
    metrics, history = docs["metrics"], docs["history"]
    task = task_for(cfg.model.type)
    classifier = task.classifier
    test = metrics.get("test")
    if not isinstance(test, dict):
        raise EdgekitError(f"{model_dir / REQUIRED['metrics']}: missing 'test' metrics object")
    for key in task.required_test_metrics:
        if key not in test:
            raise EdgekitError(f"{model_dir / REQUIRED['metrics']}: missing 'test.{key}'")
    if not isinstance(history.get("epochs"), list):
        raise EdgekitError(f"{model_dir / REQUIRED['history']}: missing 'epochs' list")
    module, meta = load_checkpoint(model_dir / REQUIRED["checkpoint"])
    params = int(sum(p.numel() for p in module.parameters()))
    if _is_number(metrics.get("params")) and metrics["params"] != params:
        raise EdgekitError(f"{model_dir / REQUIRED['metrics']}: params {metrics['params']} differ from "
                           f"train/model.pt ({params}); re-run train")

    convert = Sourced(REQUIRED["convert"], docs["convert"])
    parity = Sourced(REQUIRED["parity"], docs["parity"])
    conv_entries = variant_entries(docs["convert"])
    par_entries = variant_entries(docs["parity"])
    if not conv_entries and not par_entries:
        raise EdgekitError(f"{model_dir / REQUIRED['convert']}: no per-variant entries")
    if not par_entries:
        raise EdgekitError(f"{model_dir / REQUIRED['parity']}: no per-variant results; re-run verify")
    names = [v for v in cfg.convert.variants if v in conv_entries or v in par_entries]
    names += sorted((set(conv_entries) | set(par_entries)) - set(names))

    fp32_torch = {"source": "train/metrics.json#/test"}
    for m in task.report_metrics:
        if _is_number(test.get(m)):
            fp32_torch[m] = test[m]
    rows = [_variant_row(n, model_dir, convert, conv_entries.get(n), parity, par_entries.get(n), params, classifier)
            for n in names]
    _derive(rows, fp32_torch, classifier)
    pack = packaging(cfg, build_dir, rows)
    for r in rows:
        r["packaged"] = r["name"] == pack["variant"]
        cand = next((c for c in pack["candidates"] if c.get("variant") == r["name"]), None)
        r["package_status"] = cand.get("status") if cand else None
        r["package_reason"] = cand.get("reason") if cand else None

    parity_series = _parity_series(parity, par_entries)
    onnx_gates = _gate_list(parity, "/onnx") if isinstance(docs["parity"].get("onnx"), dict) else []
    verify_passed, _ = parity.first("", "passed", kind="bool")
    import edgekit

    repo = Path(edgekit.__file__).resolve().parent.parent  # the edgekit source that made this report
    return {
        "schema": 1,
        "model": cfg.name,
        "model_type": cfg.model.type,
        "role": task.role,
        "person": person_section(model_dir),
        "held_out_by_profile": metrics.get("held_out_by_profile"),
        "coverage": coverage_section(task, metrics, cfg.model.params),
        "real": [r.to_json() for r in load_real(model_dir)],
        "description": cfg.model.description,
        "params": params,
        "params_source": "train/model.pt (sum of parameter elements)",
        "data_fingerprint": meta.get("data_fingerprint"),
        "data": _data_summary(docs["data_summary"]),
        "baseline": baseline_section(docs["data_summary"]),
        "training": {
            "best_epoch": metrics.get("best_epoch"),
            "epochs_run": metrics.get("epochs_run"),
            "n_windows": metrics.get("n_windows"),
            "n_subjects": metrics.get("n_subjects"),
            "split": metrics.get("split"),
            "warnings": [w for w in metrics.get("warnings", []) if isinstance(w, str)],
        },
        "fp32_torch": fp32_torch,
        "test_metrics": test,
        "history": history["epochs"],
        "best_epoch": history.get("best_epoch"),
        "variants": rows,
        "parity_series": parity_series,
        "onnx_gates": onnx_gates,
        "verify_passed": verify_passed,
        "verify_failures": [f for f in docs["parity"].get("failures", []) if isinstance(f, str)],
        "coreml_backend": _global_backend(rows),
        "packaging": pack,
        "stage_seconds": stage_times(model_dir),
        "environment": environment(repo),
    }


def coverage_section(task: Any, metrics: Any, model_params: Any = None) -> dict[str, Any] | None:
    """Coverage and accuracy per recording profile on held-out subjects (watch-shaped models), in the
    package README's words, and accuracy against the number of beats in a reading; ``None`` when the
    build measured none."""
    from edgekit.package import coverage_rows

    metrics = metrics if isinstance(metrics, dict) else {}
    rows = coverage_rows(task, metrics)
    curve = metrics.get("accuracy_vs_beats") if isinstance(metrics.get("accuracy_vs_beats"), list) else []
    if not rows and not curve:
        return None
    min_beats = getattr(task.params(model_params), "min_beats", None) if model_params is not None else None
    return {"rows": rows, "accuracy_vs_beats": curve, "min_beats": min_beats,
            "source": "train/metrics.json (coverage, per_profile, accuracy_vs_beats; held-out subjects)"}


def baseline_section(summary: Any) -> dict[str, Any] | None:
    """The wearer's own baseline per subject of a build from files (data/summary.json "baseline",
    written by the data stage), or None (a synthetic build has none)."""
    base = summary.get("baseline") if isinstance(summary, dict) else None
    if not isinstance(base, dict) or not base:
        return None
    return {"subjects": {str(k): v for k, v in base.items() if isinstance(v, dict)},
            "source": "data/summary.json#/baseline"}


def _data_summary(summary: dict) -> dict:
    keys = ("source", "synthetic", "note", "subjects", "days", "seed", "clean", "n_beats_in", "n_beats_clean",
            "n_corrected", "n_out_of_bounds", "n_windows", "n_excluded_artifact", "class_counts", "n_subjects",
            "window_beats", "n_series")
    return {k: summary[k] for k in keys if k in summary}


def _global_backend(rows: list[dict]) -> str | None:
    backends = sorted({r["coreml_backend"] for r in rows if r.get("coreml_backend")})
    return ", ".join(backends) if backends else None


def _parity_series(parity: Sourced, entries: dict[str, str]) -> dict[str, dict[str, list[float]]]:
    """Per-fixture |Δ| vs torch, where verify recorded them (for the error-distribution plot)."""
    out: dict[str, dict[str, list[float]]] = {}
    for name, ptr in entries.items():
        for backend, paths in (("coreml", ("per_fixture_max_abs_diff", "coreml/per_fixture_max_abs_diff",
                                           "coreml/abs_diffs")),
                               ("onnxruntime", ("onnx/per_fixture_max_abs_diff", "onnx/abs_diffs"))):
            v, _ = parity.first(ptr, *paths, kind="any")
            if isinstance(v, dict):
                v = [v[k] for k in sorted(v)]
            if isinstance(v, list) and v and all(_is_number(x) for x in v):
                out.setdefault(name, {})[backend] = [float(x) for x in v]
    v, _ = parity.first("", "onnx/per_fixture_max_abs_diff", kind="any")
    if isinstance(v, dict):
        v = [v[k] for k in sorted(v)]
    if isinstance(v, list) and v and all(_is_number(x) for x in v) and "fp32" in out:
        out["fp32"]["onnxruntime"] = [float(x) for x in v]
    return out
