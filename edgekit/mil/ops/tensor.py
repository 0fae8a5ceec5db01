"""Shape, indexing and reduction MIL ops."""

from __future__ import annotations

import numpy as np

from edgekit.mil.ops import Call, axis_norm, register


def _x(c: Call, name: str = "x") -> np.ndarray:
    return np.asarray(c.get(name))


def _declared(c: Call) -> tuple | None:
    shape = c.out_shape()
    return shape if shape is not None and all(d is not None for d in shape) else None


@register("reshape")
def _reshape(c: Call):
    x = _x(c)
    target = c.ints("shape")
    shape = [x.shape[i] if d == 0 and len(target) == x.ndim else d for i, d in enumerate(target)]
    out = x.reshape(shape)
    declared = _declared(c)
    if declared is not None and tuple(out.shape) != tuple(declared):
        raise c.fail(f"reshape gives {out.shape}, program declares {declared}")
    return out


@register("transpose")
def _transpose(c: Call):
    return np.transpose(_x(c), c.ints("perm"))


@register("squeeze")
def _squeeze(c: Call):
    x = _x(c)
    axes = c.ints("axes", None)
    if axes is None:
        return np.squeeze(x)
    return np.squeeze(x, axis=tuple(axis_norm(a, x.ndim) for a in axes))


@register("expand_dims")
def _expand_dims(c: Call):
    x = _x(c)
    out_rank = x.ndim + len(c.ints("axes"))
    return np.expand_dims(x, tuple(axis_norm(a, out_rank) for a in c.ints("axes")))


@register("flatten2d")
def _flatten2d(c: Call):
    x = _x(c)
    axis = axis_norm(int(c.scalar("axis", 1)), x.ndim)
    return x.reshape(int(np.prod(x.shape[:axis])), -1)


@register("concat")
def _concat(c: Call):
    values = [np.asarray(v) for v in c.many("values")]
    axis = axis_norm(int(c.scalar("axis")), values[0].ndim)
    if bool(c.scalar("interleave", False)):
        # interleave: take one slice of each input in turn along axis
        parts = np.stack(values, axis=axis + 1)
        shape = list(values[0].shape)
        shape[axis] *= len(values)
        return parts.reshape(shape)
    return np.concatenate(values, axis=axis)


@register("stack")
def _stack(c: Call):
    values = [np.asarray(v) for v in c.many("values")]
    return np.stack(values, axis=axis_norm(int(c.scalar("axis")), values[0].ndim + 1))


@register("split")
def _split(c: Call):
    x = _x(c)
    axis = axis_norm(int(c.scalar("axis")), x.ndim)
    sizes = c.ints("split_sizes", None)
    if sizes is None:
        n = int(c.scalar("num_splits"))
        return tuple(np.split(x, n, axis=axis))
    return tuple(np.split(x, np.cumsum(sizes)[:-1], axis=axis))


@register("slice_by_index")
def _slice_by_index(c: Call):
    x = _x(c)
    r = x.ndim
    begin, end = c.ints("begin"), c.ints("end")
    stride = c.ints("stride", None) or [1] * r
    bmask = [bool(b) for b in np.asarray(c.get("begin_mask", np.zeros(r, bool))).reshape(-1)]
    emask = [bool(b) for b in np.asarray(c.get("end_mask", np.zeros(r, bool))).reshape(-1)]
    smask = [bool(b) for b in np.asarray(c.get("squeeze_mask", np.zeros(r, bool))).reshape(-1)]
    index = []
    for i in range(r):
        if smask[i]:
            index.append(begin[i])
            continue
        index.append(slice(None if bmask[i] else begin[i], None if emask[i] else end[i], stride[i]))
    return x[tuple(index)]


@register("slice_by_size")
def _slice_by_size(c: Call):
    x = _x(c)
    begin, size = c.ints("begin"), c.ints("size")
    index = []
    for i, (b, s) in enumerate(zip(begin, size)):
        b = axis_norm(b, x.shape[i])
        index.append(slice(b, None if s == -1 else b + s))
    return x[tuple(index)]


@register("gather")
def _gather(c: Call):
    x = _x(c)
    idx = np.asarray(c.get("indices")).astype(np.int64)
    axis = axis_norm(int(c.scalar("axis", 0)), x.ndim)
    batch_dims = int(c.scalar("batch_dims", 0))
    idx = np.where(idx < 0, idx + x.shape[axis], idx)
    if batch_dims == 0:
        return np.take(x, idx, axis=axis)
    if batch_dims == 1 and axis >= 1:
        return np.stack([np.take(x[b], idx[b], axis=axis - 1) for b in range(x.shape[0])])
    raise c.fail(f"gather with batch_dims={batch_dims} not supported")


@register("gather_along_axis")
def _gather_along_axis(c: Call):
    x = _x(c)
    axis = axis_norm(int(c.scalar("axis", 0)), x.ndim)
    idx = np.asarray(c.get("indices")).astype(np.int64)
    idx = np.where(idx < 0, idx + x.shape[axis], idx)
    return np.take_along_axis(x, idx, axis=axis)


@register("tile")
def _tile(c: Call):
    return np.tile(_x(c), c.ints("reps"))


@register("pad")
def _pad(c: Call):
    x = _x(c)
    pad = c.ints("pad")
    mode = str(c.scalar("mode", "constant"))
    n = len(pad) // 2
    widths = [(0, 0)] * (x.ndim - n) + [(pad[2 * i], pad[2 * i + 1]) for i in range(n)]
    if mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=c.scalar("constant_val", 0.0))
    if mode == "reflect":
        return np.pad(x, widths, mode="reflect")
    if mode == "replicate":
        return np.pad(x, widths, mode="edge")
    raise c.fail(f"unknown pad mode {mode!r}")


@register("shape")
def _shape(c: Call):
    return np.array(_x(c).shape, dtype=np.int32)


@register("select")
def _select(c: Call):
    return np.where(np.asarray(c.get("cond"), bool), c.get("a"), c.get("b"))


@register("fill")
def _fill(c: Call):
    return np.full(c.ints("shape"), c.scalar("value", 0.0))


@register("fill_like")
def _fill_like(c: Call):
    return np.full(np.asarray(c.get("ref_tensor")).shape, c.scalar("value", 0.0))


@register("range_1d")
def _range_1d(c: Call):
    return np.arange(c.scalar("start"), c.scalar("end"), c.scalar("step"))


@register("reverse")
def _reverse(c: Call):
    x = _x(c)
    axes = c.ints("axes", None)
    return np.flip(x, axis=None if axes is None else tuple(axes))


@register("cumsum")
def _cumsum(c: Call):
    x = np.asarray(c.get("x"), np.float64)
    axis = axis_norm(int(c.scalar("axis", 0)), x.ndim)
    if bool(c.scalar("reverse", False)):
        x = np.flip(x, axis)
    out = np.cumsum(x, axis=axis)
    if bool(c.scalar("exclusive", False)):
        out = out - x
    return np.flip(out, axis) if bool(c.scalar("reverse", False)) else out


@register("band_part")
def _band_part(c: Call):
    x = _x(c)
    lower, upper = int(c.scalar("lower", -1)), int(c.scalar("upper", -1))
    m, n = x.shape[-2:]
    i = np.arange(m)[:, None]
    j = np.arange(n)[None, :]
    keep = ((lower < 0) | (i - j <= lower)) & ((upper < 0) | (j - i <= upper))
    return np.where(keep, x, 0)


# ---------------------------------------------------------------- reductions


def _axes(c: Call, x: np.ndarray):
    axes = c.ints("axes", None)
    return None if axes is None else tuple(axis_norm(a, x.ndim) for a in axes)


def _reduce(fn):
    def run(c: Call):
        x = np.asarray(c.get("x"), np.float64)
        with np.errstate(all="ignore"):
            return fn(x, axis=_axes(c, x), keepdims=bool(c.scalar("keep_dims", False)))

    return run


def _log_sum_exp(x, axis, keepdims):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


_REDUCTIONS = {
    "reduce_mean": np.mean,
    "reduce_sum": np.sum,
    "reduce_max": np.max,
    "reduce_min": np.min,
    "reduce_prod": np.prod,
    "reduce_l1_norm": lambda x, axis, keepdims: np.sum(np.abs(x), axis=axis, keepdims=keepdims),
    "reduce_l2_norm": lambda x, axis, keepdims: np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims)),
    "reduce_sum_square": lambda x, axis, keepdims: np.sum(x * x, axis=axis, keepdims=keepdims),
    "reduce_log_sum": lambda x, axis, keepdims: np.log(np.sum(x, axis=axis, keepdims=keepdims)),
    "reduce_log_sum_exp": _log_sum_exp,
}
for _name, _fn in _REDUCTIONS.items():
    register(_name)(_reduce(_fn))


def _arg(fn):
    def run(c: Call):
        x = np.asarray(c.get("x"))
        axis = axis_norm(int(c.scalar("axis", -1)), x.ndim)
        out = fn(x, axis=axis)
        return np.expand_dims(out, axis) if bool(c.scalar("keep_dims", False)) else out

    return run


register("reduce_argmax")(_arg(np.argmax))
register("reduce_argmin")(_arg(np.argmin))


_SCATTER_MODES = {
    "update": lambda old, new: new,
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.divide,
    "max": np.maximum,
    "min": np.minimum,
}


@register("scatter")
def _scatter(c: Call):
    """data with ``updates`` combined into the slices ``indices`` select along ``axis``."""
    data = np.array(c.get("data"), dtype=np.float64 if np.issubdtype(np.asarray(c.get("data")).dtype, np.floating) else None)
    idx = np.asarray(c.get("indices")).astype(np.int64).reshape(-1)
    axis = axis_norm(int(c.scalar("axis", 0)), data.ndim)
    mode = str(c.scalar("mode", "add"))
    if mode not in _SCATTER_MODES:
        raise c.fail(f"unknown scatter mode {mode!r}")
    updates = np.asarray(c.get("updates"), data.dtype)
    updates = updates.reshape(data.shape[:axis] + (idx.size,) + data.shape[axis + 1 :])
    idx = np.where(idx < 0, idx + data.shape[axis], idx)
    moved = np.moveaxis(data, axis, 0)
    upd = np.moveaxis(updates, axis, 0)
    for k, i in enumerate(idx):
        moved[i] = _SCATTER_MODES[mode](moved[i], upd[k])
    return np.moveaxis(moved, 0, axis)
