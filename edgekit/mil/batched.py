"""Batched evaluation of a saved ML program: many inputs through each op at once.

The reference evaluator (:mod:`edgekit.mil.evaluator`) runs one fixed-shape input at a time, so
scoring a few thousand held-out windows means a few hundred thousand Python-level op calls (the
transformer's verify stage spent ~90 % of its time there). Here every per-input value carries a
leading batch axis of size B instead: each op runs once per batch, with its axis-like parameters
(``axis``, ``axes``, ``perm``, ``shape``, the ``slice_by_index`` bounds) shifted past that axis.
Weights and other values that do not depend on the input stay as they are and broadcast.

The same op implementations compute the values (float64, each output rounded to its declared dtype),
so a batched run equals B single runs up to float64 summation order inside BLAS. Only ops whose
batch rule is known below are batched; a program holding any other op (control flow, recurrent
ops, gathers) is :func:`batchable` ``False`` and is evaluated one input at a time. Parity on the
fixtures is always checked with the one-at-a-time evaluator; this path scores held-out sets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from edgekit.core.errors import EdgekitError
from edgekit.mil.evaluator import ReferenceEvaluator, _apply, _Step
from edgekit.mil.ops import Call, axis_norm

# ops that broadcast their operands element-wise and have no axis parameter
_ELEMENTWISE = frozenset({
    "add", "sub", "mul", "real_div", "pow", "maximum", "minimum", "floor_div", "mod", "equal", "not_equal",
    "less", "less_equal", "greater", "greater_equal", "logical_and", "logical_or", "logical_xor", "logical_not",
    "abs", "acos", "asin", "atan", "atanh", "ceil", "cos", "cosh", "erf", "exp", "exp2", "floor", "log", "round",
    "rsqrt", "sign", "sin", "sinh", "sqrt", "square", "tan", "tanh", "inverse", "relu", "relu6", "sigmoid",
    "silu", "softplus", "softsign", "clip", "threshold", "cast", "leaky_relu", "elu", "sigmoid_hard",
    "scaled_tanh", "linear_activation", "clamped_relu", "gelu", "select", "quantize", "dequantize",
})
# ops whose named parameters are axes of the per-input value (shifted by one for the batch axis)
_AXIS_PARAMS = {
    "softmax": ("axis",), "concat": ("axis",), "split": ("axis",), "stack": ("axis",), "layer_norm": ("axes",),
    "expand_dims": ("axes",), "squeeze": ("axes",), "cumsum": ("axis",), "reduce_argmax": ("axis",),
    "reduce_argmin": ("axis",), "quantize": ("axis",), "dequantize": ("axis",),
    **{f"reduce_{r}": ("axes",) for r in ("mean", "max", "min", "sum", "prod", "l1_norm", "l2_norm",
                                           "sum_square", "log_sum", "log_sum_exp")},
}
_SPECIAL = frozenset({"linear", "matmul", "transpose", "reshape", "slice_by_index", "classify"})
BATCHABLE_OPS = _ELEMENTWISE | frozenset(_AXIS_PARAMS) | _SPECIAL


def batchable(evaluator: ReferenceEvaluator) -> bool:
    """Whether every per-input op of ``evaluator``'s program has a batch rule (and an implementation)."""
    return all(step.fn is not None and step.op.type in BATCHABLE_OPS and not step.op.blocks
               for step in evaluator._plan)


class Unbatchable(EdgekitError):
    """An op met operands its batch rule does not cover (for example a weight of higher rank): evaluate
    one input at a time instead."""


class BatchedEvaluator:
    """Run a :class:`ReferenceEvaluator`'s program on a batch: ``run({name: (B, *shape)})``.

    Returns ``{output name: (B, ...)}``; a classifier's probabilities come back as ``(B, n_classes)``
    in label order and its top label as a ``(B,)`` object array, as B single runs would give them.
    """

    def __init__(self, evaluator: ReferenceEvaluator) -> None:
        if not batchable(evaluator):
            missing = sorted({s.op.type for s in evaluator._plan if s.op.type not in BATCHABLE_OPS})
            raise Unbatchable(f"{evaluator.program.path}: no batch rule for op(s) {', '.join(missing)}")
        self.evaluator = evaluator

    def run(self, inputs: Mapping[str, Any], chunk: int = 512) -> dict[str, np.ndarray]:
        """All inputs, ``chunk`` at a time (bounds memory); see the class docstring."""
        ev = self.evaluator
        n = {len(np.asarray(v)) for v in inputs.values()}
        if len(n) != 1:
            raise EdgekitError(f"{ev.program.path}: batched inputs differ in length: {sorted(n)}")
        total = n.pop()
        parts: list[dict[str, np.ndarray]] = []
        for lo in range(0, total, chunk):
            parts.append(self._run_chunk({k: np.asarray(v)[lo:lo + chunk] for k, v in inputs.items()}))
        if not parts:
            return {}
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def _run_chunk(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        ev = self.evaluator
        env: dict[str, Any] = dict(ev._static)
        batched: set[str] = set()
        b = None
        for name, ttype in ev.program.inputs.items():
            if name not in inputs:
                raise EdgekitError(f"{ev.program.path}: input '{name}' not given")
            arr = np.asarray(inputs[name])
            if ttype.shape is not None and all(d is not None for d in ttype.shape) and arr.shape[1:] != ttype.shape:
                raise EdgekitError(f"{ev.program.path}: input '{name}' has shape {arr.shape[1:]} per item, the "
                                   f"model takes {ttype.shape}")
            env[name] = arr.astype(ttype.np_dtype)
            batched.add(name)
            b = len(arr)
        for step in ev._plan:
            _run_step(step, env, batched, b)
        out: dict[str, np.ndarray] = {}
        for name in ev.program.outputs:
            if name not in env:
                raise EdgekitError(f"{ev.program.path}: output '{name}' never computed")
            value = env[name]
            if isinstance(value, list):  # classify's dictionaries, one per item
                value = np.array([[d[k] for k in (ev.labels or list(d))] for d in value], dtype=np.float64)
            elif name not in batched:  # does not depend on the input: the same for every item
                value = np.broadcast_to(value, (b,) + np.shape(value)).copy()
            out[name] = value
        return out


class _BatchCall(Call):
    """A :class:`Call` whose declared output shapes carry the batch axis."""

    def __init__(self, op: Any, args: dict[str, list[Any]], b: int) -> None:
        super().__init__(op, args)
        self.b = b

    def out_shape(self, i: int = 0) -> tuple:
        shape = super().out_shape(i)
        return None if shape is None else (self.b,) + tuple(shape)


def _run_step(step: _Step, env: dict[str, Any], batched: set[str], b: int) -> None:
    op = step.op
    args = step.bind(env)
    has_batch = {param: [is_var and ref in batched for is_var, ref in bindings] for param, bindings in step.inputs}
    if not any(f for flags in has_batch.values() for f in flags):  # input-independent: one plain run
        step.run(env)
        return
    if op.type == "classify":
        probs = np.asarray(args["probabilities"][0])
        rows = [_apply(step.fn, op, {**args, "probabilities": [probs[i]]}) for i in range(b)]
        labels = np.array([r[0] for r in rows], dtype=object).reshape(b)
        (label_name, _), (dict_name, _) = op.outputs
        env[label_name], env[dict_name] = labels, [r[1] for r in rows]
        batched.update((label_name, dict_name))
        return
    _shift(op, args, has_batch, b)
    values = _apply(step.fn, op, args, _BatchCall(op, args, b))
    if len(values) != len(step.outputs):
        raise EdgekitError(f"op {op.type} ({op.name}): {len(values)} outputs, program declares {len(op.outputs)}")
    for (name, ttype, target), value in zip(step.outputs, values):
        env[name] = target.conform(op, name, ttype, value, batch=b)
        batched.add(name)


def _per_item_rank(op, args: dict[str, list[Any]], has_batch: dict[str, list[bool]]) -> int:
    ranks = {np.ndim(v) - 1 for p, vals in args.items() for v, f in zip(vals, has_batch.get(p, [])) if f}
    if len(ranks) != 1:
        raise Unbatchable(f"op {op.type} ({op.name}): batched operands of different ranks {sorted(ranks)}")
    return ranks.pop()


def _shift(op, args: dict[str, list[Any]], has_batch: dict[str, list[bool]], b: int) -> None:
    """Rewrite ``args`` in place so the op computes on values with a leading batch axis."""
    t = op.type
    rank = _per_item_rank(op, args, has_batch)
    # input-independent operands broadcast against the batch from the right: none may outrank the items
    for p, vals in args.items():
        for v, f in zip(vals, has_batch.get(p, [])):
            if not f and isinstance(v, np.ndarray) and v.ndim > rank and p not in ("weight",):
                raise Unbatchable(f"op {t} ({op.name}): operand '{p}' of rank {v.ndim} outranks the per-item "
                                   f"rank {rank}; no batch rule")
    if t in _AXIS_PARAMS:
        for p in _AXIS_PARAMS[t]:
            given = p in args and bool(args[p]) and args[p][0] is not None
            if not given:  # an absent axis means "all axes" or "axis 0" of the item: say so explicitly
                if t == "layer_norm" or (t.startswith("reduce_") and p == "axes"):
                    args[p] = [np.arange(rank, dtype=np.int64)]
                elif t == "cumsum":
                    args[p] = [np.asarray(0, dtype=np.int64)]
                elif t == "squeeze":
                    raise Unbatchable(f"op squeeze ({op.name}): no batch rule without axes")
                else:  # defaults that count from the end (softmax, arg-reductions) or per-tensor (quantize)
                    continue
            if p in args and args[p] and args[p][0] is not None:
                v = np.asarray(args[p][0])
                flat = v.reshape(-1)
                # axes of stack and expand_dims refer to the output, which has more dimensions
                out_rank = rank + (1 if t == "stack" else len(flat) if t == "expand_dims" else 0)
                shifted = [axis_norm(int(a), out_rank) + 1 for a in flat]
                args[p] = [np.asarray(shifted if v.ndim else shifted[0], dtype=np.int64)]
        if t == "concat":  # input-independent parts get the batch axis too
            args["values"] = [v if f else np.broadcast_to(np.asarray(v), (b,) + np.shape(v))
                              for v, f in zip(args["values"], has_batch["values"])]
    elif t == "transpose":
        perm = [axis_norm(int(a), rank) + 1 for a in np.asarray(args["perm"][0]).reshape(-1)]
        args["perm"] = [np.asarray([0] + perm, dtype=np.int64)]
    elif t == "reshape":
        if not has_batch["x"][0] or (len(has_batch.get("shape", [])) and has_batch["shape"][0]):
            raise Unbatchable(f"op reshape ({op.name}): no batch rule for an input-dependent shape")
        args["shape"] = [np.asarray([b] + [int(d) for d in np.asarray(args["shape"][0]).reshape(-1)],
                                    dtype=np.int64)]
    elif t == "slice_by_index":
        r = rank

        def pre(name: str, first: Any, default: Any) -> None:
            v = np.asarray(args[name][0]).reshape(-1) if name in args and args[name] else np.full(r, default)
            args[name] = [np.concatenate([[first], v]).astype(v.dtype if v.size else type(first))]

        pre("begin", 0, 0)
        pre("end", b, 0)
        pre("stride", 1, 1)
        pre("begin_mask", True, False)
        pre("end_mask", True, False)
        pre("squeeze_mask", False, False)
    elif t == "matmul":
        for p in ("x", "y"):
            if not has_batch[p][0] and np.ndim(args[p][0]) > rank:
                raise Unbatchable(f"op matmul ({op.name}): no batch rule for a weight of higher rank")
    elif t == "linear" or t in _ELEMENTWISE:
        pass
    else:  # pragma: no cover - BATCHABLE_OPS and the rules above are kept in step
        raise Unbatchable(f"op {t} ({op.name}): no batch rule")


__all__ = ["BATCHABLE_OPS", "BatchedEvaluator", "Unbatchable", "batchable"]
