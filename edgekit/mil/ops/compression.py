"""Weight-decompression (``constexpr_*``) and activation quantization (``quantize``/``dequantize``) ops.

These are what coremltools' ``ct.optimize.coreml`` emits: int8 linear quantization
(``constexpr_affine_dequantize``, iOS16; ``constexpr_blockwise_shift_scale``, iOS18), palettization
(``constexpr_lut_to_dense``, both the iOS16 packed-bytes form and the iOS18 typed, grouped form),
sparsity, and W8A8 activation quantize/dequantize pairs (iOS17).
"""

from __future__ import annotations

import numpy as np

from edgekit.mil.blob import unpack_bits
from edgekit.mil.ops import Call, axis_norm, register

_INT_RANGES = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767), "uint16": (0, 65535)}


def _along_axis(p: np.ndarray, rank: int, axis: int | None) -> np.ndarray:
    """A scalar or per-channel vector parameter broadcast along ``axis`` of a rank-``rank`` tensor."""
    p = np.asarray(p, np.float64)
    if p.ndim == 0 or axis is None:
        return p
    shape = [1] * rank
    shape[axis_norm(axis, rank)] = p.size
    return p.reshape(shape)


@register("constexpr_affine_dequantize")
def _affine_dequantize(c: Call):
    """scale · (quantized_data − zero_point), scale/zero_point scalar or per-channel along ``axis``."""
    q = np.asarray(c.get("quantized_data"), np.float64)
    axis = int(c.scalar("axis"))
    zp = _along_axis(c.get("zero_point"), q.ndim, axis)
    scale = _along_axis(c.get("scale"), q.ndim, axis)
    return scale * (q - zp)


@register("constexpr_cast")
def _constexpr_cast(c: Call):
    return np.asarray(c.get("source_val")).astype(c.out_dtype())


def _repeat_blocks(p: np.ndarray, shape: tuple[int, ...], c: Call) -> np.ndarray:
    for axis, (d, s) in enumerate(zip(shape, p.shape)):
        if d % s:
            raise c.fail(f"dimension {axis}: {d} not divisible by {s} blocks")
        if d != s:
            p = np.repeat(p, d // s, axis=axis)
    return p


@register("constexpr_blockwise_shift_scale")
def _blockwise_shift_scale(c: Call):
    """scale[block] · (data − offset[block]); block size = data.shape / scale.shape per dim."""
    data = np.asarray(c.get("data"), np.float64)
    scale = _repeat_blocks(np.asarray(c.get("scale"), np.float64), data.shape, c)
    offset = c.get("offset", None)
    if offset is not None:
        data = data - _repeat_blocks(np.asarray(offset, np.float64), data.shape, c)
    return scale * data


@register("constexpr_lut_to_dense")
def _lut_to_dense(c: Call):
    lut = np.asarray(c.get("lut"))
    if c.has("shape"):  # iOS16: one LUT, indices packed LSB first in uint8 bytes
        shape = c.ints("shape")
        nbits = int(np.log2(lut.size))
        if 2**nbits != lut.size:
            raise c.fail(f"LUT size {lut.size} is not a power of two")
        idx = unpack_bits(np.asarray(c.get("indices"), np.uint8).tobytes(), nbits, int(np.prod(shape)))
        return lut.reshape(-1)[idx.astype(np.int64)].reshape(shape)
    # iOS18: indices typed (uint1..uint8), lut (*groups, NUM_PALETTES, VECTOR_SIZE)
    idx = np.asarray(c.get("indices")).astype(np.int64)
    k = idx.ndim
    if lut.ndim != k + 2:
        raise c.fail(f"LUT rank {lut.ndim} does not match indices rank {k} + 2")
    grid = []
    for axis in range(k):
        groups = lut.shape[axis]
        if idx.shape[axis] % groups:
            raise c.fail(f"indices dim {axis} ({idx.shape[axis]}) not divisible by {groups} LUT groups")
        g = np.arange(idx.shape[axis]) // (idx.shape[axis] // groups)
        grid.append(g.reshape([-1 if a == axis else 1 for a in range(k)]))
    vals = lut[tuple(grid) + (idx,)]  # indices.shape + (VECTOR_SIZE,)
    vsize = lut.shape[-1]
    if vsize == 1:
        return vals[..., 0]
    vaxis = axis_norm(int(c.scalar("vector_axis")), k)
    vals = np.moveaxis(vals, -1, vaxis + 1)
    shape = list(idx.shape)
    shape[vaxis] *= vsize
    return vals.reshape(shape)


@register("constexpr_sparse_to_dense")
def _sparse_to_dense(c: Call):
    data = np.asarray(c.get("nonzero_data"))
    if c.has("shape"):  # iOS16: mask packed in uint8 bytes
        shape = c.ints("shape")
        mask = unpack_bits(np.asarray(c.get("mask"), np.uint8).tobytes(), 1, int(np.prod(shape))).astype(bool)
    else:
        mask_arr = np.asarray(c.get("mask"))
        shape = list(mask_arr.shape)
        mask = mask_arr.reshape(-1).astype(bool)
    out = np.zeros(int(np.prod(shape)), dtype=data.dtype)
    if mask.sum() != data.size:
        raise c.fail(f"mask selects {int(mask.sum())} elements, nonzero_data holds {data.size}")
    out[mask] = data.reshape(-1)
    return out.reshape(shape)


@register("quantize")
def _quantize(c: Call):
    """clip(round(x / scale) + zero_point) to the range of ``output_dtype`` (int8 or uint8)."""
    x = np.asarray(c.get("input"), np.float64)
    axis = c.scalar("axis", None)
    axis = None if axis is None else int(axis)
    dtype = str(c.scalar("output_dtype"))
    if dtype not in _INT_RANGES:
        raise c.fail(f"unsupported output_dtype {dtype!r}")
    scale = _along_axis(c.get("scale"), x.ndim, axis)
    q = np.round(x / scale)
    zp = c.get("zero_point", None)
    if zp is not None:
        q = q + _along_axis(zp, x.ndim, axis)
    lo, hi = _INT_RANGES[dtype]
    return np.clip(q, lo, hi)


@register("dequantize")
def _dequantize(c: Call):
    """(q − zero_point) · scale."""
    q = np.asarray(c.get("input"), np.float64)
    axis = c.scalar("axis", None)
    axis = None if axis is None else int(axis)
    zp = c.get("zero_point", None)
    if zp is not None:
        q = q - _along_axis(zp, q.ndim, axis)
    return q * _along_axis(c.get("scale"), q.ndim, axis)
