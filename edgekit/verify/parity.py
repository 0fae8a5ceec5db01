"""The ``verify`` stage: three-way parity (torch, onnxruntime, Core ML) and accuracy per variant.

Fixture inputs (``fixtures/<model>.json``: :func:`edgekit.verify.fixtures.fixtures_path` says which) go
through the fp32 torch checkpoint, the ONNX model and every Core ML variant; the held-out test set
(``train/test_set.npz``) measures accuracy and macro-F1 (classifier) or MAE (forecaster) of every
variant against fp32 torch. Core ML figures come from edgekit's NumPy reference evaluator of the saved
program (``reference-evaluator``); on macOS the Core ML runtime is run as well (``coreml-runtime``,
CPU_ONLY and ALL) and held to the same gates.

Gates (``[verify]``): classifier probabilities — fp32 ≤ ``fp32_coreml_tol``, fp16 ≤ ``fp16_tol``,
compressed variants top-1 agreement ≥ ``min_top1_agreement``; every variant accuracy drop ≤
``max_accuracy_drop``. Forecaster score (0–100 points) — fp32 ≤ ``fp32_score_tol`` points, fp16 ≤
``fp16_tol`` × 100 points, every variant mean |Δscore| vs fp32 torch (MAE drift) ≤ ``max_mae_drift``.
ONNX vs torch ≤ ``fp32_onnx_tol`` (× 100 for scores). Writes ``verify/parity.json`` and raises
:class:`~edgekit.core.errors.GateError` naming the variant and figure when a gate fails.

Modules: this stage over :mod:`~edgekit.verify.gates` (checks and figures) over
:mod:`~edgekit.verify.backends` (outputs per backend) and :mod:`~edgekit.verify.fixtures`, over
:mod:`~edgekit.verify.records` (``verify/parity.json``); :mod:`~edgekit.verify.selection` picks the variant
to ship from the records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgekit.core.errors import EdgekitError, GateError
from edgekit.core.fileio import sha256_file, sha256_tree
from edgekit.core.layout import ModelLayout
from edgekit.core.log import get_logger
from edgekit.export.records import CONVERT_RECORD, read_convert_record
from edgekit.export.runtime import torch_threads
from edgekit.models.checkpoint import load_checkpoint
from edgekit.tasks import task_for
from edgekit.verify import fixtures as fixture_files
from edgekit.verify.backends import (evaluate_variants, onnx_outputs, runtime_available, runtime_outputs,
                                     torch_outputs)
from edgekit.verify.gates import Check, max_abs, state_checks, variant_checks
from edgekit.verify.records import OnnxParity, ParityRecord, VariantParity, write_parity_record

log = get_logger(__name__)

CLASS_PROBS = "classLabel_probs"
CLASS_LABEL = "classLabel"
SCORE = "fatigue_score"
COMPRESSED = ("int8", "palette6", "palette4", "w8a8")


def _fixtures(cfg: Any, model_type: str, length: int) -> tuple[list[str], np.ndarray, str]:
    """(case names, inputs, source) of the parity fixtures (:func:`edgekit.verify.fixtures.fixtures_path`).

    A project's own ``fixtures/<model>.json`` must fit the model; a shipped default that does not fit
    (a config reusing a default model's name with another window) gives way to generated fixtures.
    """
    path = fixture_files.fixtures_path(cfg)
    if path == fixture_files.user_fixtures_path(cfg):
        names, X = fixture_files.load(path, length)
        return names, X, str(path.name)
    if path.is_file() and fixture_files.fits(path, model_type, length):
        names, X = fixture_files.load(path, length)
        return names, X, f"edgekit/{fixture_files.SHIPPED_DIR}/{path.name}"
    cases = fixture_files.cases_for(model_type, length)
    key = task_for(model_type).input_name
    return [c["name"] for c in cases], np.asarray([c[key] for c in cases], np.float32), "generated"


def run(cfg: Any, build_dir: Path) -> dict:
    """Verify every converted variant of ``cfg``'s model; write ``verify/parity.json``."""
    with torch_threads(1):
        return _run(cfg, build_dir)


def _integrity_check(model_dir: Path, variant: str, sha256: str) -> Check | None:
    """The package verified is the one the convert stage wrote: its SHA-256 against convert.json.

    A package edited after conversion fails here even where its altered weights happen to stay
    within the numeric gates. ``None`` when there is no convert.json (a hand-made build tree).
    """
    if not (model_dir / CONVERT_RECORD).is_file():
        return None
    try:
        expected = read_convert_record(model_dir).variants[variant].sha256
    except (EdgekitError, KeyError):  # unreadable, or without this variant: not what convert wrote
        expected = None
    return Check("package_integrity", "package bytes equal what convert wrote (sha256 vs convert.json)",
                 1.0 if expected == sha256 else 0.0, 1.0, "min", backend="sha256")


def _run(cfg: Any, build_dir: Path) -> dict:
    model_dir = Path(build_dir) / cfg.name
    layout = ModelLayout(model_dir)
    module, meta = load_checkpoint(layout.checkpoint, task_for)
    model_type = meta.get("model_type", cfg.model.type)
    task = task_for(model_type)
    classifier = task.role.has_labels
    length = task.input_length(module.config.to_dict())
    names, X_fix, source = _fixtures(cfg, model_type, length)
    labels = task.labels(meta)
    gates = cfg.verify

    test_path = layout.test_set
    X_test = y_test = None
    if test_path.is_file():
        with np.load(test_path, allow_pickle=False) as z:
            X_test, y_test = np.asarray(z["X"], np.float32), np.asarray(z["y"])
        if X_test.ndim == 3 and X_test.shape[-1] == 1:
            X_test = X_test[..., 0]
        cap = task.parity_test_windows
        if cap and X_test.ndim >= 2 and X_test.shape[1] > length:  # whole runs: the cap counts program windows
            cap = max(8, cap // -(-X_test.shape[1] // length))
        if cap and len(X_test) > cap:  # evenly spaced held-out windows (the evaluator steps every window)
            keep = np.unique(np.linspace(0, len(X_test) - 1, cap).round().astype(int))
            X_test, y_test = X_test[keep], y_test[keep]
    ref_fix = torch_outputs(module, X_fix, classifier, task=task)
    ref_fix.labels = labels
    ref_test = torch_outputs(module, X_test, classifier, task=task) if X_test is not None else None

    failures: list[str] = []

    # ONNX
    onnx_path = layout.onnx
    scale = task.parity_scale
    if onnx_path.is_file():
        onnx_out = onnx_outputs(onnx_path, X_fix, classifier, task, length)
        d = max_abs(ref_fix.values, onnx_out.values) / scale
        chk = Check("onnx", "max |Δ| onnxruntime vs torch (fixtures" + (")" if classifier else ", score/100)"),
                    d, gates.fp32_onnx_tol, backend="onnxruntime")
        onnx = OnnxParity(passed=chk.passed, checks=[chk.record()], sha256=sha256_file(onnx_path),
                          max_abs_diff=d * scale)
    else:
        chk = Check("onnx", "onnx/model.onnx present", 0.0, 1.0, "min", backend="onnxruntime")
        onnx = OnnxParity(passed=False, checks=[chk.record()], error="onnx/model.onnx missing")
    report = ParityRecord(
        model=cfg.name, model_type=model_type, fixtures=source, fixture_count=len(names),
        test_set="train/test_set.npz" if X_test is not None else None,
        test_windows=int(len(X_test)) if X_test is not None else 0,
        checkpoint_sha256=sha256_file(layout.checkpoint),
        backends=["torch", "onnxruntime", "reference-evaluator"], onnx=onnx)
    if onnx_path.is_file() and task.state_input and X_test is not None and X_test.shape[1] > length:
        # the recurrent state carried across windows: whole held-out runs, window after window
        runs = X_test[:8]
        d_runs = max_abs(torch_outputs(module, runs, classifier, task=task).values,
                          onnx_outputs(onnx_path, runs, classifier, task, length).values) / scale
        state_chk = Check("onnx_state", "max |Δ| onnxruntime vs torch, whole held-out runs with the state carried "
                          "across windows (score/100)", d_runs, gates.fp32_onnx_tol, backend="onnxruntime")
        onnx.checks.append(state_chk.record())
        onnx.passed = onnx.passed and state_chk.passed
        log.info(state_chk.line(cfg.name, "onnx"))
        if not state_chk.passed:
            failures.append(f"onnx {state_chk.figure} = {state_chk.value:.4g}")
    log.info(chk.line(cfg.name, "onnx"))
    if not chk.passed:
        failures.append(f"onnx {chk.figure} = {chk.value:.4g}")

    runtime = runtime_available()
    if runtime:
        report.backends.append("coreml-runtime")
    present = [v for v in cfg.convert.variants if layout.mlpackage(v).is_dir()]
    evaluated = evaluate_variants(model_dir, present, X_fix, X_test, classifier, model_type, gates.workers)
    for variant in cfg.convert.variants:
        package = layout.mlpackage(variant)
        entry = VariantParity(path=f"coreml/{variant}.mlpackage", backend="reference-evaluator", passed=False,
                              checks=[])
        report.variants[variant] = entry
        if not package.is_dir():
            entry.error = f"{package.name} missing; run convert"
            failures.append(f"{variant} package missing")
            log.info(f"✗ {cfg.name} {variant}: {package.name} missing")
            continue
        entry.sha256 = sha256_tree(package)
        entry.bytes = sum(f.stat().st_size for f in package.rglob("*") if f.is_file())
        try:
            got = evaluated[variant]
            if isinstance(got, EdgekitError):
                raise got
            got_fix, got_test = got
        except EdgekitError as exc:
            entry.error = str(exc)
            failures.append(f"{variant}: {exc}")
            log.info(f"✗ {cfg.name} {variant}: {exc}")
            continue
        checks, figures = variant_checks(variant, classifier, gates, ref_fix, got_fix, ref_test, got_test, y_test)
        if task.state_input and got_test is not None and X_test is not None and X_test.shape[1] > length:
            checks += state_checks(variant, gates, scale, ref_test, got_test, figures)
        integrity = _integrity_check(model_dir, variant, entry.sha256)
        if integrity is not None:
            checks.insert(0, integrity)
        entry.figures = figures
        entry.per_fixture_max_abs_diff = {
            n: float(np.max(np.abs(np.atleast_1d(got_fix.values[i] - ref_fix.values[i])))) for i, n in enumerate(names)
        }
        if runtime:
            entry.coreml_runtime = {}
            for units in ("CPU_ONLY", "ALL"):
                try:
                    rt = runtime_outputs(package, X_fix, classifier, units, labels)
                    rt_test = runtime_outputs(package, X_test, classifier, units, labels) if X_test is not None else None
                    rt_checks, rt_fig = variant_checks(variant, classifier, gates, ref_fix, rt, ref_test, rt_test,
                                                       y_test, backend=f"coreml-runtime:{units}")
                    checks += rt_checks
                    entry.coreml_runtime[units] = rt_fig
                except Exception as exc:  # runtime failures: record, fail the variant
                    checks.append(Check(f"coreml_runtime_{units}", f"Core ML runtime ({units}) predicts", 0.0, 1.0,
                                        "min", backend=f"coreml-runtime:{units}"))
                    entry.errors = (entry.errors or []) + [f"{units}: {exc}"]
        entry.checks = [c.record() for c in checks]
        entry.passed = all(c.passed for c in checks)
        for c in checks:
            log.info(c.line(cfg.name, variant))
            if not c.passed:
                failures.append(f"{variant} {c.figure} = {c.value:.4g} (tolerance {c.tolerance:g})")
    report.passed = not failures
    report.failures = failures
    write_parity_record(model_dir, report)
    if failures:
        raise GateError(f"{cfg.name}: verification failed: " + "; ".join(failures)
                        + f" — to change it: remove the variant from convert.variants in {cfg.path}, keep more "
                          "layers at higher precision (convert.palette_keep_int8, convert.w8a8_float_inputs, "
                          "convert.fp16_keep_fp32), or, only if that drift is acceptable for your use, widen the "
                          "tolerance in [verify]; the other variants are still packaged")
    return {"passed": True, "variants": {v: e.figure("max_abs_diff") for v, e in report.variants.items()}}



