"""MIL operation implementations for the NumPy reference evaluator.

Each op is a function ``fn(call: Call) -> array | tuple`` registered under its MIL type name with
:func:`register`. Floating-point ops compute in float64 and the evaluator rounds every output to the
dtype the program declares (fp16 or fp32), which is where Core ML rounds too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from edgekit.core.errors import EdgekitError

OpFn = Callable[["Call"], Any]
OPS: dict[str, OpFn] = {}
_MISSING = object()


def register(*names: str) -> Callable[[OpFn], OpFn]:
    """Register an op implementation under one or more MIL op type names."""

    def deco(fn: OpFn) -> OpFn:
        for n in names:
            OPS[n] = fn
        return fn

    return deco


class Call:
    """The bound inputs of one op invocation, as NumPy values."""

    def __init__(self, op: Any, args: dict[str, list[Any]]) -> None:
        self.op = op
        self.args = args

    def has(self, name: str) -> bool:
        return name in self.args and len(self.args[name]) > 0

    def get(self, name: str, default: Any = _MISSING) -> Any:
        """The single value bound to parameter ``name`` (or ``default`` when unbound)."""
        if not self.has(name):
            if default is _MISSING:
                raise EdgekitError(f"op {self.op.type} ({self.op.name}): required input '{name}' missing")
            return default
        vals = self.args[name]
        if len(vals) != 1:
            raise EdgekitError(f"op {self.op.type} ({self.op.name}): input '{name}' bound {len(vals)} times")
        return vals[0]

    def many(self, name: str) -> list[Any]:
        """All values bound to a variadic parameter (``values`` of concat, stack)."""
        return list(self.args.get(name, []))

    def f(self, name: str, default: Any = _MISSING) -> np.ndarray:
        """Input ``name`` as float64 (compute precision of the reference evaluator)."""
        v = self.get(name, default)
        return None if v is None else np.asarray(v, dtype=np.float64)

    def scalar(self, name: str, default: Any = _MISSING) -> Any:
        v = self.get(name, default)
        if isinstance(v, np.ndarray):
            return v.item() if v.ndim == 0 or v.size == 1 else v
        return v

    def ints(self, name: str, default: Any = _MISSING) -> list[int] | None:
        v = self.get(name, default)
        return None if v is None else [int(i) for i in np.asarray(v).reshape(-1)]

    def out_dtype(self, i: int = 0) -> np.dtype:
        return self.op.outputs[i][1].np_dtype

    def out_shape(self, i: int = 0) -> tuple:
        return self.op.outputs[i][1].shape

    def fail(self, message: str) -> EdgekitError:
        return EdgekitError(f"op {self.op.type} ({self.op.name}): {message}")


def axis_norm(axis: int, rank: int) -> int:
    return axis + rank if axis < 0 else axis


# importing the modules registers their ops
from edgekit.mil.ops import (  # noqa: E402,F401
    classify,
    compression,
    elementwise,
    nn,
    recurrent,
    tensor,
)
