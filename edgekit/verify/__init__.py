"""Verification: the NumPy reference evaluator of Core ML ML programs and the parity stage.

* :func:`run_mlprogram` — evaluate a saved ``.mlpackage`` on ``{"rr_sequence": array}``.
* :func:`run` — the ``verify`` stage: fixtures through torch, onnxruntime and every Core ML variant.
"""

from __future__ import annotations

from edgekit.mil.evaluator import ReferenceEvaluator, run_mlprogram


def run(cfg, build_dir):  # noqa: ANN001 - thin lazy wrapper (parity imports torch/onnxruntime)
    """The ``verify`` stage; see :func:`edgekit.verify.parity.run`."""
    from edgekit.verify.parity import run as _run

    return _run(cfg, build_dir)


__all__ = ["ReferenceEvaluator", "run", "run_mlprogram"]
