"""NumPy reference evaluator of saved Core ML ML programs.

Linux has no Core ML runtime, so edgekit executes the saved program itself: every operation of the
``main`` function in order, float ops computed in float64 and each output rounded to the dtype the
program declares (fp16 or fp32), which is where Core ML rounds. Weight-decompression ops are
evaluated from the stored compressed data, so a corrupted ``weight.bin`` shows up in the outputs.
An op the evaluator does not implement is an :class:`~edgekit.core.errors.EdgekitError` naming the op.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.core.errors import EdgekitError
from edgekit.mil.ops import OPS, Call
from edgekit.mil.program import Operation, Program, load_program

Observer = Callable[[Operation, list[Any]], None]
MAX_LOOP_ITERATIONS = 1_000_000
_STATIC_PREFIX = "constexpr_"


class ReferenceEvaluator:
    """Load an ``.mlpackage`` once, then run it on many inputs.

    ``run({"rr_sequence": x})`` returns ``{output name: ndarray}``. A classifier's probability
    dictionary comes back as an array in label order (``labels``), its top label as a 0-d str array.
    """

    def __init__(self, package: str | Path | Program) -> None:
        self.program = package if isinstance(package, Program) else load_program(package)
        missing = sorted({op.type for op in _walk(self.program.operations)} - set(OPS) - _CONTROL_FLOW)
        if missing:
            raise EdgekitError(
                f"{self.program.path}: reference evaluator does not implement MIL op(s) {', '.join(missing)}"
            )
        self.labels: list[str] | None = None
        self._static: dict[str, Any] = {}
        for op in self.program.operations:  # weights: evaluate consts and decompression once
            if op.type == "const" or op.type.startswith(_STATIC_PREFIX):
                self._exec(op, self._static, None)
            if op.type == "classify":
                classes = op.inputs.get("classes", [])
                if classes and classes[0][0] == "value":
                    self.labels = [str(s) for s in np.asarray(classes[0][1]).reshape(-1)]
        # the per-input part of the program, parsed once: what run() does per op without looking
        # anything up again (same ops, same order, same rounding and checks as _exec)
        self._plan = [_Step(op) for op in self.program.operations
                      if not (op.outputs and op.outputs[0][0] in self._static)]
        self.defaults = _input_defaults(self.program)

    @property
    def optional_inputs(self) -> list[str]:
        """Inputs the program declares optional, with the value used when one is not given."""
        return list(self.defaults)

    @property
    def input_names(self) -> list[str]:
        return list(self.program.inputs)

    def run(self, inputs: Mapping[str, Any], observer: Observer | None = None) -> dict[str, np.ndarray]:
        env = dict(self._static)
        for name, ttype in self.program.inputs.items():
            if name not in inputs and name not in self.defaults:
                raise EdgekitError(f"{self.program.path}: input '{name}' not given")
            arr = np.asarray(inputs[name]) if name in inputs else self.defaults[name]
            if ttype.shape is not None and all(d is not None for d in ttype.shape) and arr.shape != ttype.shape:
                raise EdgekitError(
                    f"{self.program.path}: input '{name}' has shape {arr.shape}, the model takes {ttype.shape}"
                )
            env[name] = arr.astype(ttype.np_dtype)
        for step in self._plan:
            if step.fn is None or observer is not None:  # control flow, missing op, observed runs
                self._exec(step.op, env, observer)
            else:
                step.run(env)
        out: dict[str, np.ndarray] = {}
        for name in self.program.outputs:
            if name not in env:
                raise EdgekitError(f"{self.program.path}: output '{name}' never computed")
            value = env[name]
            if isinstance(value, dict):
                value = np.array([value[k] for k in (self.labels or list(value))], dtype=np.float64)
            out[name] = value
        return out

    # ------------------------------------------------------------------ internals

    def _resolve(self, op: Operation, env: Mapping[str, Any]) -> dict[str, list[Any]]:
        # constexpr ops of iOS16 carry their constant operands as attributes
        args: dict[str, list[Any]] = {k: [v] for k, v in op.attributes.items() if k != "name"}
        for param, bindings in op.inputs.items():
            vals = []
            for kind, ref in bindings:
                if kind == "var":
                    if ref not in env:
                        raise EdgekitError(f"op {op.type} ({op.name}): input '{param}' refers to unknown '{ref}'")
                    vals.append(env[ref])
                else:
                    vals.append(ref)
            args[param] = vals
        return args

    def _exec(self, op: Operation, env: dict[str, Any], observer: Observer | None) -> None:
        if op.type == "const":
            values: list[Any] = [op.attributes["val"]]
        elif op.type == "while_loop":
            values = self._while_loop(op, env, observer)
        elif op.type == "cond":
            values = self._cond(op, env, observer)
        else:
            fn = OPS.get(op.type)
            if fn is None:
                raise EdgekitError(f"reference evaluator does not implement MIL op '{op.type}' ({op.name})")
            values = _apply(fn, op, self._resolve(op, env))
        if len(values) != len(op.outputs):
            raise EdgekitError(f"op {op.type} ({op.name}): {len(values)} outputs, program declares {len(op.outputs)}")
        for (name, ttype), value in zip(op.outputs, values):
            env[name] = _conform(op, name, ttype, value)
        if observer is not None:
            observer(op, [env[name] for name, _ in op.outputs])

    def _run_block(self, block, env: dict[str, Any], args: list[Any], observer) -> list[Any]:
        scope = dict(env)
        for (name, ttype), value in zip(block.inputs, args):
            scope[name] = _conform(None, name, ttype, value)
        for op in block.operations:
            self._exec(op, scope, observer)
        return [scope[name] for name in block.outputs]

    def _while_loop(self, op: Operation, env: dict[str, Any], observer) -> list[Any]:
        if len(op.blocks) != 2:
            raise EdgekitError(f"op while_loop ({op.name}): expected a condition and a body block")
        state = self._resolve(op, env).get("loop_vars", [])
        for _ in range(MAX_LOOP_ITERATIONS):
            (keep_going,) = self._run_block(op.blocks[0], env, state, observer)
            if not bool(np.asarray(keep_going).reshape(-1)[0]):
                return state
            state = self._run_block(op.blocks[1], env, state, observer)
        raise EdgekitError(f"op while_loop ({op.name}): more than {MAX_LOOP_ITERATIONS} iterations")

    def _cond(self, op: Operation, env: dict[str, Any], observer) -> list[Any]:
        pred = bool(np.asarray(self._resolve(op, env)["pred"][0]).reshape(-1)[0])
        return self._run_block(op.blocks[0 if pred else 1], env, [], observer)


_CONTROL_FLOW = {"const", "while_loop", "cond"}


def _apply(fn, op: Operation, args: dict[str, list[Any]], call: Call | None = None) -> list[Any]:
    """Call one op's implementation (on ``call``, default ``Call(op, args)``); its outputs as a list.
    Failures become one-line EdgekitErrors."""
    try:
        result = fn(call if call is not None else Call(op, args))
    except EdgekitError:
        raise
    except (ValueError, IndexError, TypeError, KeyError) as exc:
        raise EdgekitError(f"op {op.type} ({op.name}) failed: {exc}") from None
    return list(result) if isinstance(result, tuple) else [result]


class _Step:
    """One op of the per-input program with its bindings and output types resolved up front.

    ``run(env)`` is ``ReferenceEvaluator._exec`` for a plain op (not const / control flow)."""

    __slots__ = ("op", "fn", "attrs", "inputs", "outputs")

    def __init__(self, op: Operation) -> None:
        self.op = op
        self.fn = None if op.type in _CONTROL_FLOW else OPS.get(op.type)
        self.attrs = {k: v for k, v in op.attributes.items() if k != "name"}
        self.inputs = [(param, [(kind == "var", ref) for kind, ref in bindings])
                       for param, bindings in op.inputs.items()]
        self.outputs = [(name, ttype, _Target(ttype)) for name, ttype in op.outputs]

    def bind(self, env: Mapping[str, Any]) -> dict[str, list[Any]]:
        """The op's arguments: its attributes, and each input's values looked up in ``env``."""
        op = self.op
        args: dict[str, list[Any]] = {k: [v] for k, v in self.attrs.items()}
        for param, bindings in self.inputs:
            vals = []
            for is_var, ref in bindings:
                if is_var:
                    if ref not in env:
                        raise EdgekitError(f"op {op.type} ({op.name}): input '{param}' refers to unknown '{ref}'")
                    vals.append(env[ref])
                else:
                    vals.append(ref)
            args[param] = vals
        return args

    def run(self, env: dict[str, Any]) -> None:
        op = self.op
        values = _apply(self.fn, op, self.bind(env))
        if len(values) != len(self.outputs):
            raise EdgekitError(f"op {op.type} ({op.name}): {len(values)} outputs, program declares {len(op.outputs)}")
        for (name, ttype, target), value in zip(self.outputs, values):
            env[name] = target.conform(op, name, ttype, value)


class _Target:
    """:func:`_conform` for one declared type, with the dtype questions answered once."""

    __slots__ = ("tensor", "dtype", "to_int", "shape")

    def __init__(self, ttype) -> None:
        self.tensor = ttype.kind == "tensor"
        self.dtype = ttype.np_dtype if self.tensor else None
        self.to_int = self.tensor and self.dtype != object and np.issubdtype(self.dtype, np.integer)
        shape = ttype.shape
        self.shape = tuple(shape) if shape is not None and all(d is not None for d in shape) else None

    def conform(self, op: Operation, name: str, ttype, value: Any, batch: int | None = None) -> Any:
        """``value`` rounded to the declared dtype, its shape checked (``batch``: a leading batch axis
        of that size comes first, :mod:`edgekit.mil.batched`)."""
        if not self.tensor:
            return value
        arr = np.asarray(value)
        if self.dtype != object:
            if self.to_int and arr.dtype.kind == "f":
                arr = np.rint(arr)
            with np.errstate(over="ignore", invalid="ignore"):
                arr = arr.astype(self.dtype)
        shape = self.shape if batch is None or self.shape is None else (batch,) + self.shape
        if shape is not None and arr.shape != shape:
            raise EdgekitError(f"op {op.type} ({op.name}): output '{name}' has shape {arr.shape}, program "
                               f"declares {self.shape}" + ("" if batch is None else f" per item of a batch of {batch}"))
        return arr


def _walk(ops: list[Operation]):
    for op in ops:
        yield op
        for block in op.blocks:
            yield from _walk(block.operations)


def _conform(op: Operation | None, name: str, ttype, value: Any) -> Any:
    """Round/cast ``value`` to its declared dtype and check its declared shape."""
    if ttype.kind != "tensor":
        return value
    target = ttype.np_dtype
    arr = np.asarray(value)
    if target != object:
        if np.issubdtype(target, np.integer) and np.issubdtype(arr.dtype, np.floating):
            arr = np.rint(arr)
        with np.errstate(over="ignore", invalid="ignore"):
            arr = arr.astype(target)
    shape = ttype.shape
    if shape is not None and all(d is not None for d in shape) and arr.shape != tuple(shape):
        where = f"op {op.type} ({op.name})" if op is not None else "block input"
        raise EdgekitError(f"{where}: output '{name}' has shape {arr.shape}, program declares {tuple(shape)}")
    return arr


def _input_defaults(program: Program) -> dict[str, np.ndarray]:
    """The optional multi-array inputs of the model description and the value each takes when not
    given (Core ML's ``defaultOptionalValue``: one number filling the input's shape)."""
    out: dict[str, np.ndarray] = {}
    for feature in program.spec.description.input:
        t = feature.type
        if not t.isOptional or t.WhichOneof("Type") != "multiArrayType" or feature.name not in program.inputs:
            continue
        m = t.multiArrayType
        which = m.WhichOneof("defaultOptionalValue")
        if which is None:
            continue
        ttype = program.inputs[feature.name]
        out[feature.name] = np.full(tuple(int(d) for d in m.shape), getattr(m, which), ttype.np_dtype)
    return out


def run_mlprogram(path: str | Path, inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Evaluate a saved ``.mlpackage`` on ``inputs`` with the NumPy reference evaluator."""
    return ReferenceEvaluator(path).run(inputs)
