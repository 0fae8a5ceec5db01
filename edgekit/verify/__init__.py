"""Verification: the parity stage, and the public name of the NumPy reference evaluator.

* :func:`run_mlprogram` — evaluate a saved ``.mlpackage`` on ``{"rr_sequence": array}``
  (:mod:`edgekit.mil.evaluator`).
* :func:`run` — the ``verify`` stage: fixtures through torch, onnxruntime and every Core ML variant.
"""

from __future__ import annotations

import importlib
from typing import Any

# deferred: the evaluator's ops pull in scipy.special (about 0.15 s), which the stage records in this
# package (read by `edgekit predict` and `forecast` at start-up) do not need (PEP 562 attributes).
_EVALUATOR = ("ReferenceEvaluator", "run_mlprogram")


def __getattr__(name: str) -> Any:
    if name in _EVALUATOR:
        return getattr(importlib.import_module("edgekit.mil.evaluator"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run(cfg, build_dir):  # noqa: ANN001 - thin lazy wrapper (parity imports torch/onnxruntime)
    """The ``verify`` stage; see :func:`edgekit.verify.parity.run`."""
    from edgekit.verify.parity import run as _run  # deferred: parity imports torch and onnxruntime

    return _run(cfg, build_dir)


__all__ = ["ReferenceEvaluator", "run", "run_mlprogram"]
