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
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch

from edgekit import INPUT_NAME
from edgekit.core.errors import EdgekitError, GateError
from edgekit.core.fileio import sha256_file, sha256_tree
from edgekit.core.log import get_logger
from edgekit.export.records import CONVERT_RECORD, read_convert_record
from edgekit.export.runtime import import_coremltools, torch_threads
from edgekit.mil.batched import BatchedEvaluator, Unbatchable, batchable
from edgekit.mil.evaluator import ReferenceEvaluator
from edgekit.models.checkpoint import load_checkpoint
from edgekit.tasks import task_for
from edgekit.tasks.base import chain_windows, model_batch, model_input, program_run
from edgekit.tasks.metrics import classification_metrics
from edgekit.verify import fixtures as fixture_files
from edgekit.verify.records import CheckRecord, OnnxParity, ParityRecord, VariantParity, write_parity_record

log = get_logger(__name__)

CLASS_PROBS = "classLabel_probs"
CLASS_LABEL = "classLabel"
SCORE = "fatigue_score"
COMPRESSED = ("int8", "palette6", "palette4", "w8a8")


@dataclass
class Check:
    """One gate: a measured figure against its tolerance."""

    name: str
    figure: str
    value: float
    tolerance: float
    direction: str = "max"  # "max": value ≤ tolerance; "min": value ≥ tolerance
    backend: str = "reference-evaluator"

    @property
    def passed(self) -> bool:
        if not np.isfinite(self.value):
            return False
        return self.value <= self.tolerance if self.direction == "max" else self.value >= self.tolerance

    def record(self) -> CheckRecord:
        """The gate as verify/parity.json holds it."""
        return CheckRecord(name=self.name, figure=self.figure, value=float(self.value), tolerance=self.tolerance,
                           comparison="<=" if self.direction == "max" else ">=", backend=self.backend,
                           passed=self.passed)

    def line(self, model: str, variant: str) -> str:
        op = "≤" if self.direction == "max" else "≥"
        return f"{'✓' if self.passed else '✗'} {model} {variant}: {self.figure} = {self.value:.4g} {op} {self.tolerance:g}"


@dataclass
class Outputs:
    """Model outputs over a set of inputs: probabilities (K, C) or scores (K,)."""

    values: np.ndarray
    labels: list[str] = field(default_factory=list)  # classifier top labels, when the backend gives them


def _values(task: Any, classifier: bool, y: np.ndarray) -> np.ndarray:
    """Per-input values of a batch of raw outputs: (K, C) probabilities, (K,) scores, (K, T) series."""
    if classifier:
        return y
    return task.torch_outputs(y) if task is not None else y.reshape(-1)


def _torch_outputs(module: Any, X: np.ndarray, classifier: bool, batch: int = 256, task: Any = None) -> Outputs:
    outs = []
    with torch.no_grad():
        for i in range(0, len(X), batch):
            x = torch.as_tensor(model_batch(X[i : i + batch]), dtype=torch.float32)
            outs.append(module(x).double().numpy())
    y = np.concatenate(outs) if outs else np.zeros((0, 1))
    return Outputs(_values(task, classifier, y))


def _onnx_outputs(path: Path, X: np.ndarray, classifier: bool, task: Any = None, length: int | None = None) -> Outputs:
    """onnxruntime's outputs for each row of ``X``; a row longer than the model's ``length`` (a whole
    run of a model with state) goes window after window, the state carried."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    name = task.input_name if task is not None else INPUT_NAME
    state = {i.name: tuple(i.shape) for i in sess.get_inputs()}.get(getattr(task, "state_input", None))

    def window(w, s):
        feeds = {name: w}
        if state is not None:  # onnxruntime needs every input: zeros at the start of a run
            feeds[task.state_input] = s if s is not None else np.zeros(state, np.float32)
        out = sess.run(None, feeds)
        return out[0].reshape(-1), (out[1] if state is not None else None)

    rows = [window(model_input(x), None)[0] if length is None or len(x) == length
            else chain_windows(window, x, length).reshape(-1) for x in X]
    y = np.asarray(rows, np.float64)
    return Outputs(_values(task, classifier, y.reshape(len(X), -1) if len(X) else y))


def _evaluator_outputs(package: Path, X: np.ndarray, classifier: bool, task: Any = None,
                       batched: bool = False, length: int | None = None) -> Outputs:
    """The saved program's outputs for each row of ``X``: one input at a time, or (``batched``, for
    held-out sets) many at once through :class:`~edgekit.mil.batched.BatchedEvaluator` when every
    op of the program has a batch rule — same op implementations, same rounding."""
    ev = ReferenceEvaluator(package)
    vals, labels = [], []
    name = task.input_name if task is not None else INPUT_NAME
    outs: Any = None
    if batched and len(X) and batchable(ev):
        try:
            xb = np.stack([model_input(x) for x in X])  # (B, *input shape)
            both = BatchedEvaluator(ev).run({name: xb})
            outs = ({k: v[i] for k, v in both.items()} for i in range(len(X)))
        except Unbatchable:
            outs = None
    if outs is None and task is not None and length is not None and any(len(x) != length for x in X):
        # whole runs longer than the program's window: window after window, the state carried
        rows = [program_run(ev, task, np.asarray(x, np.float32), length) for x in X]
        return Outputs(task.torch_outputs(np.asarray(rows, np.float64).reshape(len(X), -1)))
    if outs is None:
        outs = (ev.run({name: model_input(x)}) for x in X)
    for out in outs:
        if classifier:
            vals.append(np.asarray(out[CLASS_PROBS], np.float64).reshape(-1))
            labels.append(str(np.asarray(out[CLASS_LABEL]).item()))
        elif task is not None:
            vals.append(task.program_outputs(out))
        else:
            vals.append(float(np.asarray(out[SCORE]).reshape(-1)[0]))
    if not classifier and task is not None:
        return Outputs(task.torch_outputs(np.asarray(vals, np.float64).reshape(len(X), -1)) if len(X) else
                       np.zeros((0,), np.float64))
    return Outputs(np.asarray(vals, np.float64), labels)


def _variant_outputs(package: Path, X_fix: np.ndarray, X_test: np.ndarray | None, classifier: bool,
                     model_type: str) -> tuple[Outputs, Outputs | None] | EdgekitError:
    """One variant's reference-evaluator outputs on the fixtures (one at a time) and the held-out
    set (batched); an :class:`EdgekitError` is returned, not raised, so a worker process hands it back."""
    task = task_for(model_type)
    length = X_fix.shape[1]
    try:
        got_fix = _evaluator_outputs(package, X_fix, classifier, task)
        got_test = (_evaluator_outputs(package, X_test, classifier, task, batched=True, length=length)
                    if X_test is not None else None)
    except EdgekitError as exc:
        return exc
    return got_fix, got_test


def _evaluate_variants(model_dir: Path, variants: list[str], X_fix: np.ndarray, X_test: np.ndarray | None,
                       classifier: bool, model_type: str, workers: int
                       ) -> dict[str, tuple[Outputs, Outputs | None] | EdgekitError]:
    """:func:`_variant_outputs` of every variant, side by side in ``workers`` processes (0: one per CPU
    core, at most one per variant). Each variant's figures are computed alone, so they do not depend on
    how many run at once."""
    n = min(len(variants), workers or os.cpu_count() or 1)
    packages = {v: model_dir / "coreml" / f"{v}.mlpackage" for v in variants}
    # forked workers on Linux only: they run NumPy alone (no torch, whose OpenMP pool a fork does not
    # carry over; OpenBLAS re-initialises after fork). macOS (Core ML, Objective-C runtime) and other
    # systems evaluate one variant after another; spawn would re-run a caller's unguarded main script.
    if n <= 1 or not sys.platform.startswith("linux"):
        return {v: _variant_outputs(packages[v], X_fix, X_test, classifier, model_type) for v in variants}
    with ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = {v: pool.submit(_variant_outputs, packages[v], X_fix, X_test, classifier, model_type)
                   for v in variants}
        return {v: f.result() for v, f in futures.items()}


def _runtime_outputs(package: Path, X: np.ndarray, classifier: bool, units: str, labels: list[str]) -> Outputs:
    """Predictions of the real Core ML runtime (macOS only)."""
    ct = import_coremltools()
    model = ct.models.MLModel(str(package), compute_units=getattr(ct.ComputeUnit, units))
    vals, top = [], []
    for x in X:
        out = model.predict({INPUT_NAME: model_input(x)})
        if classifier:
            probs = out[CLASS_PROBS]
            vals.append([float(probs[k]) for k in labels])
            top.append(str(out[CLASS_LABEL]))
        else:
            vals.append(float(np.asarray(out[SCORE]).reshape(-1)[0]))
    return Outputs(np.asarray(vals, np.float64), top)


def runtime_available() -> bool:
    """True where coremltools can predict (macOS with coremltools' native Core ML bindings)."""
    if sys.platform != "darwin":
        return False
    try:  # a probe: coremltools' native bindings exist only where Core ML does
        importlib.import_module("coremltools.libcoremlpython")
        return True
    except ImportError:
        return False


# --------------------------------------------------------------------------------------------


def _max_abs(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape != b.shape:
        return float("inf")
    d = np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))
    return float(np.nanmax(d)) if d.size and not np.isnan(d).any() else (float("inf") if d.size else 0.0)


def _mean_observed(a: np.ndarray) -> float:
    """Mean over finite entries (targets may mark absent steps NaN); plain mean when all are finite."""
    a = np.asarray(a, np.float64)
    finite = np.isfinite(a)
    return float(np.mean(a)) if finite.all() else float(np.mean(a[finite])) if finite.any() else float("nan")


def _macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    labels = [str(k) for k in range(n_classes)]  # only their count matters
    return classification_metrics(np.asarray(y_true), np.asarray(y_pred), labels)["macro_f1"]


def variant_checks(variant: str, classifier: bool, gates: Any, ref_fix: Outputs, got_fix: Outputs,
                   ref_test: Outputs | None, got_test: Outputs | None, y_test: np.ndarray | None,
                   backend: str = "reference-evaluator") -> tuple[list[Check], dict]:
    """Checks of one variant's outputs against fp32 torch, and the figures behind them."""
    checks: list[Check] = []
    figures: dict[str, Any] = {}
    d_fix = _max_abs(ref_fix.values, got_fix.values)
    figures["max_abs_diff"] = d_fix
    if classifier:
        top_ref_fix = ref_fix.values.argmax(axis=1)
        top_fix = got_fix.values.argmax(axis=1) if got_fix.values.ndim == 2 else np.full(len(top_ref_fix), -1)
        if variant == "fp32":
            checks.append(Check("fp32_probabilities", "max |Δp| Core ML vs torch (fixtures)", d_fix,
                                gates.fp32_coreml_tol, backend=backend))
        elif variant == "fp16":
            checks.append(Check("fp16_probabilities", "max |Δp| Core ML vs torch (fixtures)", d_fix,
                                gates.fp16_tol, backend=backend))
        if got_fix.labels:
            names = ref_fix.labels
            label_ok = float(np.mean([names[int(i)] == lab for i, lab in zip(top_fix, got_fix.labels)])) if names else 1.0
            checks.append(Check("label_matches_probabilities", "fraction of fixtures whose classLabel is the "
                                "argmax of classLabel_probs", label_ok, 1.0, "min", backend))
        agree_parts = [top_fix == top_ref_fix]
        if ref_test is not None and got_test is not None and len(got_test.values):
            top_ref_test = ref_test.values.argmax(axis=1)
            top_test = got_test.values.argmax(axis=1)
            agree_parts.append(top_test == top_ref_test)
            acc_ref = float(np.mean(top_ref_test == y_test))
            acc = float(np.mean(top_test == y_test))
            # macro-F1 as train/metrics.json defines it, so the fp32 row matches the fp32 torch figure
            f1_ref, f1 = (_macro_f1(y_test, top, ref_test.values.shape[1]) for top in (top_ref_test, top_test))
            figures.update(accuracy=acc, accuracy_fp32_torch=acc_ref, accuracy_drop=acc_ref - acc,
                           macro_f1=f1, macro_f1_fp32_torch=f1_ref, macro_f1_drop=f1_ref - f1,
                           top1_agreement_test=float(np.mean(top_test == top_ref_test)),
                           test_windows=int(len(y_test)))
            checks.append(Check("accuracy_drop", "test-set accuracy drop vs fp32 torch (fraction)", acc_ref - acc,
                                gates.max_accuracy_drop, backend=backend))
        agree = float(np.mean(np.concatenate(agree_parts)))
        figures["top1_agreement"] = agree
        figures["top1_agreement_fixtures"] = float(np.mean(agree_parts[0]))
        if variant in COMPRESSED or variant not in ("fp32", "fp16"):
            checks.append(Check("top1_agreement", "top-1 agreement with fp32 torch (fixtures + test set)", agree,
                                gates.min_top1_agreement, "min", backend))
    else:
        if variant == "fp32":
            checks.append(Check("fp32_score", "max |Δscore| Core ML vs torch, points (fixtures)", d_fix,
                                gates.fp32_score_tol, backend=backend))
        elif variant == "fp16":
            checks.append(Check("fp16_score", "max |Δscore| Core ML vs torch / 100 (fixtures)", d_fix / 100.0,
                                gates.fp16_tol, backend=backend))
        drift_parts = [np.abs(got_fix.values - ref_fix.values)] if got_fix.values.shape == ref_fix.values.shape else []
        if ref_test is not None and got_test is not None and len(got_test.values):
            diff = np.abs(got_test.values - ref_test.values)
            mae_ref = _mean_observed(np.abs(ref_test.values - y_test))
            mae = _mean_observed(np.abs(got_test.values - y_test))
            figures.update(mae=mae, mae_fp32_torch=mae_ref, mae_change=mae - mae_ref,
                           mae_drift_test=float(np.mean(diff)), test_windows=int(len(y_test)))
            drift = float(np.mean(diff))
            figure = "MAE drift: mean |Δscore| vs fp32 torch, points (test set)"
        else:
            drift = float(np.mean(np.concatenate(drift_parts))) if drift_parts else float("inf")
            figure = "MAE drift: mean |Δscore| vs fp32 torch, points (fixtures)"
        figures["mae_drift"] = drift
        checks.append(Check("mae_drift", figure, drift, gates.max_mae_drift, backend=backend))
    return checks, figures


def _state_checks(variant: str, gates: Any, scale: float, ref_test: Outputs, got_test: Outputs,
                  figures: dict) -> list[Check]:
    """A model with state, on whole held-out runs (several windows, the state carried from each to the
    next): the largest difference from fp32 torch over the run, held to the variant's fixture gate
    (fp32: ``fp32_score_tol`` points; fp16: ``fp16_tol`` × the output scale; compressed variants:
    reported, gated by the MAE drift)."""
    d = _max_abs(ref_test.values, got_test.values)
    figures["max_abs_diff_carried_state"] = d
    figure = "max |Δ| Core ML vs torch, whole held-out runs with the state carried across windows"
    if variant == "fp32":
        return [Check("fp32_state", figure + ", points", d, gates.fp32_score_tol)]
    if variant == "fp16":
        return [Check("fp16_state", figure + f" / {scale:g}", d / scale, gates.fp16_tol)]
    return []


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
    module, meta = load_checkpoint(model_dir / "train" / "model.pt", task_for)
    model_type = meta.get("model_type", cfg.model.type)
    task = task_for(model_type)
    classifier = task.classifier
    length = task.input_length(module.config.to_dict())
    names, X_fix, source = _fixtures(cfg, model_type, length)
    labels = task.labels(meta)
    gates = cfg.verify

    test_path = model_dir / "train" / "test_set.npz"
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
    ref_fix = _torch_outputs(module, X_fix, classifier, task=task)
    ref_fix.labels = labels
    ref_test = _torch_outputs(module, X_test, classifier, task=task) if X_test is not None else None

    failures: list[str] = []

    # ONNX
    onnx_path = model_dir / "onnx" / "model.onnx"
    scale = task.parity_scale
    if onnx_path.is_file():
        onnx_out = _onnx_outputs(onnx_path, X_fix, classifier, task, length)
        d = _max_abs(ref_fix.values, onnx_out.values) / scale
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
        checkpoint_sha256=sha256_file(model_dir / "train" / "model.pt"),
        backends=["torch", "onnxruntime", "reference-evaluator"], onnx=onnx)
    if onnx_path.is_file() and task.state_input and X_test is not None and X_test.shape[1] > length:
        # the recurrent state carried across windows: whole held-out runs, window after window
        runs = X_test[:8]
        d_runs = _max_abs(_torch_outputs(module, runs, classifier, task=task).values,
                          _onnx_outputs(onnx_path, runs, classifier, task, length).values) / scale
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
    present = [v for v in cfg.convert.variants if (model_dir / "coreml" / f"{v}.mlpackage").is_dir()]
    evaluated = _evaluate_variants(model_dir, present, X_fix, X_test, classifier, model_type, gates.workers)
    for variant in cfg.convert.variants:
        package = model_dir / "coreml" / f"{variant}.mlpackage"
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
            checks += _state_checks(variant, gates, scale, ref_test, got_test, figures)
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
                    rt = _runtime_outputs(package, X_fix, classifier, units, labels)
                    rt_test = _runtime_outputs(package, X_test, classifier, units, labels) if X_test is not None else None
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



