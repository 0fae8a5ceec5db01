"""Outputs of one model through each backend of the verify stage: fp32 torch, onnxruntime, edgekit's NumPy
reference evaluator of a saved ML program (variants side by side in worker processes), and, on macOS,
the Core ML runtime.
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
from edgekit.core.errors import EdgekitError
from edgekit.core.layout import ModelLayout
from edgekit.export.runtime import import_coremltools
from edgekit.mil.batched import BatchedEvaluator, Unbatchable, batchable
from edgekit.mil.evaluator import ReferenceEvaluator
from edgekit.tasks import task_for
from edgekit.tasks.base import chain_windows, model_batch, model_input, program_run

CLASS_PROBS = "classLabel_probs"
CLASS_LABEL = "classLabel"
SCORE = "fatigue_score"


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


def torch_outputs(module: Any, X: np.ndarray, classifier: bool, batch: int = 256, task: Any = None) -> Outputs:
    outs = []
    with torch.no_grad():
        for i in range(0, len(X), batch):
            x = torch.as_tensor(model_batch(X[i : i + batch]), dtype=torch.float32)
            outs.append(module(x).double().numpy())
    y = np.concatenate(outs) if outs else np.zeros((0, 1))
    return Outputs(_values(task, classifier, y))


def onnx_outputs(path: Path, X: np.ndarray, classifier: bool, task: Any = None, length: int | None = None) -> Outputs:
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


def evaluate_variants(model_dir: Path, variants: list[str], X_fix: np.ndarray, X_test: np.ndarray | None,
                       classifier: bool, model_type: str, workers: int
                       ) -> dict[str, tuple[Outputs, Outputs | None] | EdgekitError]:
    """:func:`_variant_outputs` of every variant, side by side in ``workers`` processes (0: one per CPU
    core, at most one per variant). Each variant's figures are computed alone, so they do not depend on
    how many run at once."""
    n = min(len(variants), workers or os.cpu_count() or 1)
    packages = {v: ModelLayout(model_dir).mlpackage(v) for v in variants}
    # forked workers on Linux only: they run NumPy alone (no torch, whose OpenMP pool a fork does not
    # carry over; OpenBLAS re-initialises after fork). macOS (Core ML, Objective-C runtime) and other
    # systems evaluate one variant after another; spawn would re-run a caller's unguarded main script.
    if n <= 1 or not sys.platform.startswith("linux"):
        return {v: _variant_outputs(packages[v], X_fix, X_test, classifier, model_type) for v in variants}
    with ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = {v: pool.submit(_variant_outputs, packages[v], X_fix, X_test, classifier, model_type)
                   for v in variants}
        return {v: f.result() for v, f in futures.items()}


def runtime_outputs(package: Path, X: np.ndarray, classifier: bool, units: str, labels: list[str]) -> Outputs:
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
