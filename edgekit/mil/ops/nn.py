"""Neural-network MIL ops: linear, matmul, normalizations, convolution and pooling."""

from __future__ import annotations

import math

import numpy as np

from edgekit.mil.ops import Call, axis_norm, register


@register("linear")
def _linear(c: Call):
    """x (..., D_in) · weight (D_out, D_in)ᵀ + bias (D_out,)."""
    x, w = c.f("x"), c.f("weight")
    out = x @ w.T
    b = c.f("bias", None)
    return out if b is None else out + b


@register("matmul")
def _matmul(c: Call):
    x, y = c.f("x"), c.f("y")
    if bool(c.scalar("transpose_x", False)) and x.ndim >= 2:
        x = np.swapaxes(x, -1, -2)
    if bool(c.scalar("transpose_y", False)) and y.ndim >= 2:
        y = np.swapaxes(y, -1, -2)
    return np.matmul(x, y)


@register("einsum")
def _einsum(c: Call):
    values = [np.asarray(v, np.float64) for v in c.many("values")]
    return np.einsum(str(c.scalar("equation")), *values)


def _norm_param(c: Call, name: str, x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray | None:
    p = c.f(name, None)
    if p is None:
        return None
    if p.ndim == len(axes) and axes == tuple(range(x.ndim - len(axes), x.ndim)):
        return p
    shape = [x.shape[i] if i in axes else 1 for i in range(x.ndim)]
    return p.reshape(shape)


@register("layer_norm")
def _layer_norm(c: Call):
    x = c.f("x")
    axes_v = c.ints("axes", None)
    axes = tuple(range(x.ndim)) if axes_v is None else tuple(sorted(axis_norm(a, x.ndim) for a in axes_v))
    eps = float(c.scalar("epsilon", 1e-5))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    out = (x - mean) / np.sqrt(var + eps)
    gamma, beta = _norm_param(c, "gamma", x, axes), _norm_param(c, "beta", x, axes)
    if gamma is not None:
        out = out * gamma
    if beta is not None:
        out = out + beta
    return out


def _channel(p: np.ndarray | None, ndim: int) -> np.ndarray | None:
    return None if p is None else p.reshape((1, -1) + (1,) * (ndim - 2))


def _scale_shift(c: Call, out: np.ndarray, ndim: int) -> np.ndarray:
    """Apply the optional per-channel ``gamma`` (scale) and ``beta`` (shift) of a norm op."""
    gamma, beta = _channel(c.f("gamma", None), ndim), _channel(c.f("beta", None), ndim)
    if gamma is not None:
        out = out * gamma
    if beta is not None:
        out = out + beta
    return out


@register("batch_norm")
def _batch_norm(c: Call):
    x = c.f("x")
    mean, var = _channel(c.f("mean"), x.ndim), _channel(c.f("variance"), x.ndim)
    out = (x - mean) / np.sqrt(var + float(c.scalar("epsilon", 1e-5)))
    return _scale_shift(c, out, x.ndim)


@register("instance_norm")
def _instance_norm(c: Call):
    x = c.f("x")
    axes = tuple(range(2, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    out = (x - mean) / np.sqrt(var + float(c.scalar("epsilon", 1e-5)))
    return _scale_shift(c, out, x.ndim)


# ---------------------------------------------------------------- convolution and pooling


def _padding(c: Call, spatial: tuple[int, ...], kernel: list[int], strides: list[int], dilations: list[int]):
    """Per spatial dim (before, after) padding for pad_type valid | same | same_lower | custom."""
    pad_type = str(c.scalar("pad_type", "valid"))
    n = len(spatial)
    if pad_type == "valid":
        return [(0, 0)] * n
    if pad_type == "custom":
        pad = c.ints("pad", None) or [0] * (2 * n)
        return [(pad[2 * i], pad[2 * i + 1]) for i in range(n)]
    if pad_type in ("same", "same_lower"):
        out = []
        for d, k, s, dil in zip(spatial, kernel, strides, dilations):
            eff = (k - 1) * dil + 1
            total = max((math.ceil(d / s) - 1) * s + eff - d, 0)
            small, big = total // 2, total - total // 2
            out.append((small, big) if pad_type == "same" else (big, small))
        return out
    raise c.fail(f"unknown pad_type {pad_type!r}")


def _windows(x: np.ndarray, kernel: list[int], strides: list[int], dilations: list[int]) -> np.ndarray:
    """(N, C, *out, *K) view of every (dilated) kernel window of the padded input."""
    n = len(kernel)
    eff = [(k - 1) * d + 1 for k, d in zip(kernel, dilations)]
    win = np.lib.stride_tricks.sliding_window_view(x, eff, axis=tuple(range(2, 2 + n)))
    index = (slice(None), slice(None))
    index += tuple(slice(None, None, s) for s in strides)
    index += tuple(slice(None, None, d) for d in dilations)
    return win[index]


@register("conv")
def _conv(c: Call):
    """x (N, C_in, *D), weight (C_out, C_in/groups, *K) → (N, C_out, *D_out)."""
    x, w = c.f("x"), c.f("weight")
    n = x.ndim - 2
    strides = c.ints("strides", None) or [1] * n
    dilations = c.ints("dilations", None) or [1] * n
    groups = int(c.scalar("groups", 1))
    kernel = list(w.shape[2:])
    pads = _padding(c, x.shape[2:], kernel, strides, dilations)
    x = np.pad(x, [(0, 0), (0, 0)] + pads)
    win = _windows(x, kernel, strides, dilations)  # (N, C_in, *out, *K)
    cin_g = x.shape[1] // groups
    cout_g = w.shape[0] // groups
    letters = "defghijk"[:n]
    klet = "pqrstuvw"[:n]
    outs = []
    for g in range(groups):
        wg = w[g * cout_g : (g + 1) * cout_g]
        xg = win[:, g * cin_g : (g + 1) * cin_g]
        outs.append(np.einsum(f"nc{letters}{klet},oc{klet}->no{letters}", xg, wg, optimize=True))
    out = np.concatenate(outs, axis=1)
    b = c.f("bias", None)
    if b is not None:
        out = out + b.reshape((1, -1) + (1,) * n)
    return out


def _pool(c: Call, kind: str):
    x = c.f("x")
    n = x.ndim - 2
    kernel = c.ints("kernel_sizes")
    strides = c.ints("strides", None) or [1] * n
    dil = [1] * n
    pads = _padding(c, x.shape[2:], kernel, strides, dil)
    if bool(c.scalar("ceil_mode", False)):
        grown = []
        for d, k, s, (b, a) in zip(x.shape[2:], kernel, strides, pads):
            extra = (-(d + b + a - k)) % s
            grown.append((b, a + extra))
        pads = grown
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x, [(0, 0), (0, 0)] + pads, constant_values=fill)
    win = _windows(xp, kernel, strides, dil)
    axes = tuple(range(-n, 0))
    if kind == "max":
        return win.max(axis=axes)
    total = win.sum(axis=axes)
    if bool(c.scalar("exclude_padding_from_average", False)):
        ones = np.pad(np.ones_like(x), [(0, 0), (0, 0)] + pads)
        count = _windows(ones, kernel, strides, dil).sum(axis=axes)
        return total / count
    return total / float(np.prod(kernel))


register("max_pool")(lambda c: _pool(c, "max"))
register("avg_pool")(lambda c: _pool(c, "avg"))
