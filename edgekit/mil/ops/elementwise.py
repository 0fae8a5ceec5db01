"""Element-wise MIL ops: binary arithmetic/comparison, unary math, activations, cast."""

from __future__ import annotations

import numpy as np
from scipy import special

from edgekit.mil.ops import Call, axis_norm, register

# ---------------------------------------------------------------- binary (numpy broadcasting)

_BINARY = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "real_div": np.divide,
    "pow": np.power,
    "maximum": np.maximum,
    "minimum": np.minimum,
    "floor_div": lambda x, y: np.floor(np.divide(x, y)),
    "mod": np.mod,
    "equal": np.equal,
    "not_equal": np.not_equal,
    "less": np.less,
    "less_equal": np.less_equal,
    "greater": np.greater,
    "greater_equal": np.greater_equal,
}
_LOGICAL = {"logical_and": np.logical_and, "logical_or": np.logical_or, "logical_xor": np.logical_xor}


def _binary(fn):
    def run(c: Call):
        x, y = c.get("x"), c.get("y")
        if np.issubdtype(np.asarray(x).dtype, np.floating) or np.issubdtype(np.asarray(y).dtype, np.floating):
            x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        elif fn is np.divide:
            x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        else:
            x, y = np.asarray(x, np.int64), np.asarray(y, np.int64)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return fn(x, y)

    return run


for _name, _fn in _BINARY.items():
    register(_name)(_binary(_fn))
for _name, _fn in _LOGICAL.items():
    register(_name)(lambda c, _fn=_fn: _fn(np.asarray(c.get("x"), bool), np.asarray(c.get("y"), bool)))

# ---------------------------------------------------------------- unary math

_UNARY = {
    "abs": np.abs,
    "acos": np.arccos,
    "asin": np.arcsin,
    "atan": np.arctan,
    "atanh": np.arctanh,
    "ceil": np.ceil,
    "cos": np.cos,
    "cosh": np.cosh,
    "erf": special.erf,
    "exp": np.exp,
    "exp2": np.exp2,
    "floor": np.floor,
    "round": np.round,  # half to even: 0.5 → 0, as MIL documents
    "sign": np.sign,
    "sin": np.sin,
    "sinh": np.sinh,
    "sqrt": np.sqrt,
    "square": np.square,
    "tan": np.tan,
    "tanh": np.tanh,
    "identity": lambda x: x,
    # activations without parameters
    "relu": lambda x: np.maximum(x, 0.0),
    "relu6": lambda x: np.clip(x, 0.0, 6.0),
    "sigmoid": special.expit,
    "silu": lambda x: x * special.expit(x),
    "softsign": lambda x: x / (1.0 + np.abs(x)),
    "softplus": lambda x: np.logaddexp(0.0, x),
}

for _name, _fn in _UNARY.items():

    def _run(c: Call, _fn=_fn):
        x = c.get("x")
        if not np.issubdtype(np.asarray(x).dtype, np.floating) and _fn in (np.abs, np.sign, np.square):
            return _fn(np.asarray(x))
        with np.errstate(all="ignore"):
            return _fn(np.asarray(x, np.float64))

    register(_name)(_run)


@register("logical_not")
def _logical_not(c: Call):
    return np.logical_not(np.asarray(c.get("x"), bool))


@register("log")
def _log(c: Call):
    with np.errstate(all="ignore"):
        return np.log(c.f("x") + c.scalar("epsilon", 1e-45))


@register("inverse")
def _inverse(c: Call):
    with np.errstate(all="ignore"):
        return 1.0 / (c.f("x") + c.scalar("epsilon", 1e-4))


@register("rsqrt")
def _rsqrt(c: Call):
    with np.errstate(all="ignore"):
        return 1.0 / np.sqrt(c.f("x") + c.scalar("epsilon", 1e-12))


@register("clip")
def _clip(c: Call):
    return np.minimum(np.maximum(c.f("x"), c.scalar("alpha")), c.scalar("beta"))


@register("threshold")
def _threshold(c: Call):
    return np.maximum(c.f("x"), c.scalar("alpha"))


@register("cast")
def _cast(c: Call):
    x = np.asarray(c.get("x"))
    target = c.out_dtype()
    if np.issubdtype(target, np.integer) and np.issubdtype(x.dtype, np.floating):
        x = np.trunc(x)  # float → int casts truncate toward zero
    return x.astype(target)


# ---------------------------------------------------------------- parameterised activations


@register("leaky_relu")
def _leaky_relu(c: Call):
    x = c.f("x")
    return np.where(x >= 0, x, c.scalar("alpha", 0.01) * x)


@register("elu")
def _elu(c: Call):
    x = c.f("x")
    return np.where(x > 0, x, c.scalar("alpha", 1.0) * np.expm1(np.minimum(x, 0.0)))


@register("sigmoid_hard")
def _sigmoid_hard(c: Call):
    return np.clip(c.scalar("alpha", 0.2) * c.f("x") + c.scalar("beta", 0.5), 0.0, 1.0)


@register("scaled_tanh")
def _scaled_tanh(c: Call):
    return c.scalar("alpha", 1.0) * np.tanh(c.scalar("beta", 1.0) * c.f("x"))


@register("linear_activation")
def _linear_activation(c: Call):
    return c.scalar("alpha") * c.f("x") + c.scalar("beta", 0.0)


@register("clamped_relu")
def _clamped_relu(c: Call):
    x = c.f("x")
    return np.minimum(np.where(x >= 0, x, c.scalar("alpha") * x), c.scalar("beta"))


@register("gelu")
def _gelu(c: Call):
    x = c.f("x")
    mode = str(c.scalar("mode", "EXACT"))
    if mode == "EXACT":
        return 0.5 * x * (1.0 + special.erf(x / np.sqrt(2.0)))
    if mode == "TANH_APPROXIMATION":
        return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)))
    if mode == "SIGMOID_APPROXIMATION":
        return x * special.expit(1.702 * x)
    raise c.fail(f"unknown gelu mode {mode!r}")


def _per_channel(c: Call, name: str, x: np.ndarray) -> np.ndarray:
    """A per-channel parameter (C,) broadcast along axis 1 of ``x`` (N, C, ...)."""
    p = c.f(name)
    if p.ndim == 1 and x.ndim >= 2:
        return p.reshape((1, -1) + (1,) * (x.ndim - 2))
    return p


@register("prelu")
def _prelu(c: Call):
    x = c.f("x")
    return np.where(x >= 0, x, _per_channel(c, "alpha", x) * x)


@register("softplus_parametric")
def _softplus_parametric(c: Call):
    x = c.f("x")
    return _per_channel(c, "alpha", x) * np.logaddexp(0.0, _per_channel(c, "beta", x) * x)


@register("softmax")
def _softmax(c: Call):
    x = c.f("x")
    axis = axis_norm(int(c.scalar("axis", -1)), x.ndim)
    z = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)
