"""Gather a model's report from the records the earlier stages wrote — never re-measure.

Every figure in the report either comes from disk (byte counts of the artifacts, read with
``stat``) or is copied from the stage record that measured it (read through the stage's typed reader:
:func:`~edgekit.train.records.read_train_record`, :func:`~edgekit.export.records.read_convert_record`,
:func:`~edgekit.verify.records.read_parity_record`). Copied figures carry their source as
``"<file relative to build/<model>/>#<JSON pointer>"`` in the row's ``sources`` map
(:mod:`edgekit.report.sources`), so a reader (and ``tests/test_report.py``) can resolve each one and check
the report against its source. Derived figures (compression ratios, drops vs fp32, bits per parameter)
are arithmetic on sourced figures and are listed under ``derived``.

Modules: this one (the whole report) over :mod:`~edgekit.report.variant_rows` (a row per variant),
:mod:`~edgekit.report.packaging` (the bundled variant), :mod:`~edgekit.report.environment` (timings,
versions) and :mod:`~edgekit.report.sources`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import edgekit
from edgekit.config.load import ModelConfig
from edgekit.core.errors import EdgekitError
from edgekit.core.layout import RELATIVE, ModelLayout
from edgekit.export.records import CONVERT_RECORD, read_convert_record
from edgekit.models.checkpoint import load_checkpoint
from edgekit.report.environment import environment, person_section, stage_times
from edgekit.report.packaging import packaging
from edgekit.report.sources import is_number, read_json
from edgekit.report.variant_rows import derive, gate_rows, parity_series, variant_row
from edgekit.tasks import task_for
from edgekit.tasks.real import load_real
from edgekit.train.records import TRAIN_RECORD, read_train_history, read_train_record
from edgekit.verify.records import PARITY_RECORD, read_parity_record

DATA_SUMMARY = RELATIVE.data_summary  # under build/<model>/ (the data stage's)


def collect(cfg: ModelConfig, build_dir: Path) -> dict[str, Any]:
    """The report of one model as a JSON-able dict. Raises one-line EdgekitErrors on bad input."""
    build_dir = Path(build_dir)
    model_dir = build_dir / cfg.name
    record = read_train_record(model_dir)
    history = read_train_history(model_dir)
    summary = read_json(model_dir / DATA_SUMMARY, DATA_SUMMARY.as_posix())
    convert = read_convert_record(model_dir)
    parity = read_parity_record(model_dir)
    task = task_for(cfg.model.type)
    classifier = task.role.has_labels
    test = record.test
    for key in task.required_test_metrics:
        if key not in test:
            raise EdgekitError(f"{model_dir / TRAIN_RECORD}: missing 'test.{key}'")
    module, meta = load_checkpoint(ModelLayout(model_dir).checkpoint, task_for)
    params = int(sum(p.numel() for p in module.parameters()))
    if is_number(record.params) and record.params != params:
        raise EdgekitError(f"{model_dir / TRAIN_RECORD}: params {record.params} differ from "
                           f"train/model.pt ({params}); re-run train")

    if not convert.variants and not parity.variants:
        raise EdgekitError(f"{model_dir / CONVERT_RECORD}: no per-variant entries")
    if not parity.variants:
        raise EdgekitError(f"{model_dir / PARITY_RECORD}: no per-variant results; re-run verify")
    names = [v for v in cfg.convert.variants if v in convert.variants or v in parity.variants]
    names += sorted((set(convert.variants) | set(parity.variants)) - set(names))

    fp32_torch = {"source": "train/metrics.json#/test"}
    for m in task.report_metrics:
        if is_number(test.get(m)):
            fp32_torch[m] = test[m]
    rows = [variant_row(n, model_dir, convert.variants.get(n), parity.variants.get(n), parity, params, classifier)
            for n in names]
    derive(rows, fp32_torch, classifier)
    pack = packaging(cfg, build_dir, rows)
    for r in rows:
        r["packaged"] = r["name"] == pack["variant"]
        cand = next((c for c in pack["candidates"] if c.get("variant") == r["name"]), None)
        r["package_status"] = cand.get("status") if cand else None
        r["package_reason"] = cand.get("reason") if cand else None

    repo = Path(edgekit.__file__).resolve().parent.parent  # the edgekit source that made this report
    return {
        "schema": 1,
        "model": cfg.name,
        "model_type": cfg.model.type,
        "role": task.role.name,
        "person": person_section(model_dir),
        "held_out_by_profile": record.extra.get("held_out_by_profile"),
        "coverage": coverage_section(task, record.to_json(), cfg.model.params),
        "real": [r.to_json() for r in load_real(model_dir)],
        "description": cfg.model.description,
        "params": params,
        "params_source": "train/model.pt (sum of parameter elements)",
        "data_fingerprint": meta.get("data_fingerprint"),
        "data": _data_summary(summary),
        "baseline": baseline_section(summary),
        "training": {
            "best_epoch": record.best_epoch,
            "epochs_run": record.epochs_run,
            "n_windows": record.n_windows,
            "n_subjects": record.n_subjects,
            "split": record.split,
            "warnings": record.warnings,
        },
        "fp32_torch": fp32_torch,
        "test_metrics": test,
        "history": history.epochs,
        "best_epoch": history.best_epoch,
        "variants": rows,
        "parity_series": parity_series(parity),
        "onnx_gates": gate_rows(parity.onnx.checks, "onnx"),
        "verify_passed": parity.passed,
        "verify_failures": parity.failures,
        "coreml_backend": _global_backend(rows),
        "packaging": pack,
        "stage_seconds": stage_times(model_dir),
        "environment": environment(repo),
    }


def coverage_section(task: Any, metrics: Any, model_params: Any = None) -> dict[str, Any] | None:
    """Coverage and accuracy per recording profile on held-out subjects (watch-shaped models), in the
    package README's words, and accuracy against the number of beats in a reading; ``None`` when the
    build measured none. ``metrics``: train/metrics.json as written (:meth:`TrainRecord.to_json`)."""
    from edgekit.package import coverage_rows  # noqa: PLC0415  (TODO: the package's coverage rows move below report)

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
