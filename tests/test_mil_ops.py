"""Each MIL op of the reference evaluator against torch (or NumPy) on random inputs.

Every test builds a one-op MIL program with coremltools' builder, saves it as an ``.mlpackage``
with no graph passes (so the op under test is what gets serialized), and evaluates it with
:class:`edgekit.verify.ReferenceEvaluator` — the same path the parity stage uses.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from edgekit.export.runtime import import_coremltools, quiet
from edgekit.core.errors import EdgekitError
from edgekit.verify import ReferenceEvaluator

ct = import_coremltools()
from coremltools.converters.mil import Builder as mb  # noqa: E402
from coremltools.converters.mil.mil import types  # noqa: E402

RNG = np.random.default_rng(1234)
TOL = 1e-5


def run_program(tmp_path, build, inputs: dict[str, np.ndarray], target=None, expect_op: str | None = None):
    """Build ``build(**vars)`` as a MIL program over fp32 ``inputs``, save, evaluate; outputs list."""
    target = target or ct.target.iOS17
    specs = [mb.TensorSpec(shape=v.shape, dtype=types.fp32) for v in inputs.values()]
    names = list(inputs)

    args = ", ".join(names)
    scope: dict = {"build": build}
    exec(f"def main({args}):\n    return build({', '.join(f'{n}={n}' for n in names)})", scope)  # noqa: S102
    prog = mb.program(input_specs=specs, opset_version=target)(scope["main"])
    with quiet():
        model = ct.convert(prog, convert_to="mlprogram", compute_precision=ct.precision.FLOAT32,
                           pass_pipeline=ct.PassPipeline.EMPTY, skip_model_load=True,
                           minimum_deployment_target=target)
    path = tmp_path / f"op{len(list(tmp_path.iterdir()))}.mlpackage"
    model.save(str(path))
    ev = ReferenceEvaluator(path)
    if expect_op is not None:
        assert expect_op in {op.type for op in ev.program.operations}, f"{expect_op} not serialized"
    out = ev.run({n: v for n, v in inputs.items()})
    return [out[n] for n in ev.program.outputs]


def rand(*shape, lo=-2.0, hi=2.0):
    return RNG.uniform(lo, hi, size=shape).astype(np.float32)


def t(a):
    return torch.as_tensor(np.asarray(a, np.float32))


def close(got, want, tol=TOL, msg=""):
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(want, np.float64), atol=tol, rtol=tol,
                               err_msg=msg)


# ------------------------------------------------------------------ element-wise binary

BINARY = {
    "add": torch.add, "sub": torch.sub, "mul": torch.mul, "real_div": torch.div,
    "maximum": torch.maximum, "minimum": torch.minimum, "pow": torch.pow,
    "floor_div": lambda a, b: torch.floor(a / b), "mod": torch.remainder,
}


def test_binary(tmp_path):
    x, y = rand(2, 3, 4), rand(3, 4)
    xp, yp = rand(2, 3, 4, lo=0.5, hi=2.0), rand(3, 4, lo=0.5, hi=2.0)
    names = sorted(BINARY)

    def build(x, y, xp, yp):
        return tuple(getattr(mb, n)(x=xp, y=yp) if n in POSITIVE else getattr(mb, n)(x=x, y=y) for n in names)

    got = run_program(tmp_path, build, {"x": x, "y": y, "xp": xp, "yp": yp})
    for n, g in zip(names, got):
        a, b = (xp, yp) if n in POSITIVE else (x, y)
        close(g, BINARY[n](t(a), t(b)), msg=n)


POSITIVE = ("pow", "real_div", "floor_div", "mod")


COMPARE = {"equal": torch.eq, "not_equal": torch.ne, "less": torch.lt, "less_equal": torch.le,
           "greater": torch.gt, "greater_equal": torch.ge}


def test_compare(tmp_path):
    x, y = np.round(rand(3, 5)), np.round(rand(3, 5))
    names = sorted(COMPARE)
    got = run_program(tmp_path, lambda x, y: tuple(mb.cast(x=getattr(mb, n)(x=x, y=y), dtype="fp32") for n in names),
                      {"x": x, "y": y})
    for n, g in zip(names, got):
        close(g, COMPARE[n](t(x), t(y)).float(), msg=n)


@pytest.mark.parametrize("name", ["logical_and", "logical_or", "logical_xor"])
def test_logical(tmp_path, name):
    x, y = rand(4, 6), rand(4, 6)

    def build(x, y):
        return mb.cast(x=getattr(mb, name)(x=mb.greater(x=x, y=0.0), y=mb.less(x=y, y=0.3)), dtype="fp32")

    (got,) = run_program(tmp_path, build, {"x": x, "y": y}, expect_op=name)
    ref = getattr(torch, name)(t(x) > 0, t(y) < 0.3).float()
    close(got, ref)


def test_logical_not(tmp_path):
    x = rand(4, 6)
    (got,) = run_program(tmp_path, lambda x: mb.cast(x=mb.logical_not(x=mb.greater(x=x, y=0.0)), dtype="fp32"),
                         {"x": x}, expect_op="logical_not")
    close(got, (~(t(x) > 0)).float())


# ------------------------------------------------------------------ element-wise unary and activations

UNARY = {
    "abs": (torch.abs, (-2, 2)), "acos": (torch.acos, (-0.9, 0.9)), "asin": (torch.asin, (-0.9, 0.9)),
    "atan": (torch.atan, (-2, 2)), "atanh": (torch.atanh, (-0.9, 0.9)), "ceil": (torch.ceil, (-3, 3)),
    "cos": (torch.cos, (-3, 3)), "cosh": (torch.cosh, (-2, 2)), "erf": (torch.erf, (-2, 2)),
    "exp": (torch.exp, (-2, 2)), "exp2": (torch.exp2, (-2, 2)), "floor": (torch.floor, (-3, 3)),
    "round": (torch.round, (-3, 3)), "sign": (torch.sign, (-2, 2)), "sin": (torch.sin, (-3, 3)),
    "sinh": (torch.sinh, (-2, 2)), "sqrt": (torch.sqrt, (0.1, 4)), "square": (torch.square, (-2, 2)),
    "tan": (torch.tan, (-1, 1)), "tanh": (torch.tanh, (-3, 3)), "relu": (torch.relu, (-2, 2)),
    "relu6": (F.relu6, (-3, 9)), "sigmoid": (torch.sigmoid, (-5, 5)), "silu": (F.silu, (-4, 4)),
    "softsign": (F.softsign, (-3, 3)), "softplus": (F.softplus, (-4, 4)),
}


def test_unary(tmp_path):
    names = sorted(UNARY)
    inputs = {f"x_{n}": rand(3, 7, lo=UNARY[n][1][0], hi=UNARY[n][1][1]) for n in names}
    got = run_program(tmp_path, lambda **xs: tuple(getattr(mb, n)(x=xs[f"x_{n}"]) for n in names), inputs)
    for n, g in zip(names, got):
        close(g, UNARY[n][0](t(inputs[f"x_{n}"])), msg=n)


def test_log_inverse_rsqrt_with_epsilon(tmp_path):
    x = rand(2, 5, lo=0.1, hi=3)

    def build(x):
        return mb.log(x=x, epsilon=1e-3), mb.inverse(x=x, epsilon=1e-2), mb.rsqrt(x=x, epsilon=1e-4)

    got = run_program(tmp_path, build, {"x": x})
    close(got[0], torch.log(t(x) + 1e-3))
    close(got[1], 1.0 / (t(x) + 1e-2))
    close(got[2], torch.rsqrt(t(x) + 1e-4))


def test_clip_threshold(tmp_path):
    x = rand(4, 4, lo=-3, hi=3)
    got = run_program(tmp_path, lambda x: (mb.clip(x=x, alpha=-1.0, beta=1.5), mb.threshold(x=x, alpha=0.5)),
                      {"x": x})
    close(got[0], torch.clamp(t(x), -1.0, 1.5))
    close(got[1], torch.clamp(t(x), min=0.5))


def test_parameterised_activations(tmp_path):
    x = rand(2, 3, 5, lo=-3, hi=3)

    def build(x):
        return (mb.leaky_relu(x=x, alpha=0.1), mb.elu(x=x, alpha=0.7), mb.sigmoid_hard(x=x, alpha=0.3, beta=0.4),
                mb.scaled_tanh(x=x, alpha=1.5, beta=0.8), mb.linear_activation(x=x, alpha=2.0, beta=-1.0),
                mb.clamped_relu(x=x, alpha=0.2, beta=1.0))

    got = run_program(tmp_path, build, {"x": x})
    tx = t(x)
    close(got[0], F.leaky_relu(tx, 0.1))
    close(got[1], F.elu(tx, 0.7))
    close(got[2], torch.clamp(0.3 * tx + 0.4, 0, 1))
    close(got[3], 1.5 * torch.tanh(0.8 * tx))
    close(got[4], 2.0 * tx - 1.0)
    close(got[5], torch.clamp(torch.where(tx >= 0, tx, 0.2 * tx), max=1.0))


@pytest.mark.parametrize("mode,approx", [("EXACT", "none"), ("TANH_APPROXIMATION", "tanh")])
def test_gelu(tmp_path, mode, approx):
    x = rand(3, 8, lo=-4, hi=4)
    (got,) = run_program(tmp_path, lambda x: mb.gelu(x=x, mode=mode), {"x": x}, expect_op="gelu")
    close(got, F.gelu(t(x), approximate=approx))


def test_gelu_sigmoid_approximation(tmp_path):
    x = rand(3, 8, lo=-4, hi=4)
    (got,) = run_program(tmp_path, lambda x: mb.gelu(x=x, mode="SIGMOID_APPROXIMATION"), {"x": x})
    close(got, t(x) * torch.sigmoid(1.702 * t(x)))


def test_prelu_softplus_parametric(tmp_path):
    x = rand(1, 3, 4, 5, lo=-3, hi=3)
    a = rand(3, lo=0.05, hi=0.5)
    b = rand(3, lo=0.5, hi=2.0)
    got = run_program(tmp_path, lambda x: (mb.prelu(x=x, alpha=a), mb.softplus_parametric(x=x, alpha=a, beta=b)),
                      {"x": x})
    close(got[0], F.prelu(t(x), t(a)))
    close(got[1], t(a)[None, :, None, None] * F.softplus(t(b)[None, :, None, None] * t(x)))


@pytest.mark.parametrize("axis", [-1, 1])
def test_softmax(tmp_path, axis):
    x = rand(2, 4, 6, lo=-5, hi=5)
    (got,) = run_program(tmp_path, lambda x: mb.softmax(x=x, axis=axis), {"x": x}, expect_op="softmax")
    close(got, torch.softmax(t(x), dim=axis))


def test_cast_truncates_toward_zero(tmp_path):
    x = rand(3, 4, lo=-5, hi=5)
    (got,) = run_program(tmp_path, lambda x: mb.cast(x=mb.cast(x=x, dtype="int32"), dtype="fp32"), {"x": x},
                         expect_op="cast")
    close(got, t(x).to(torch.int32).float())


def test_cast_fp16_rounds(tmp_path):
    x = rand(3, 4, lo=-5, hi=5) * 1000
    (got,) = run_program(tmp_path, lambda x: mb.cast(x=mb.cast(x=x, dtype="fp16"), dtype="fp32"), {"x": x})
    close(got, t(x).half().float(), tol=0)


# ------------------------------------------------------------------ shape ops


def test_reshape_transpose_squeeze_expand(tmp_path):
    x = rand(2, 3, 4)

    def build(x):
        return (mb.reshape(x=x, shape=[4, -1]), mb.transpose(x=x, perm=[2, 0, 1]),
                mb.squeeze(x=mb.reshape(x=x, shape=[1, 2, 1, 12]), axes=[0, 2]),
                mb.expand_dims(x=x, axes=[0, -1]), mb.flatten2d(x=x, axis=2))

    got = run_program(tmp_path, build, {"x": x})
    tx = t(x)
    close(got[0], tx.reshape(4, -1))
    close(got[1], tx.permute(2, 0, 1))
    close(got[2], tx.reshape(2, 12))
    close(got[3], tx[None, ..., None])
    close(got[4], tx.reshape(6, 4))


def test_concat_stack_split(tmp_path):
    x, y = rand(2, 3, 4), rand(2, 3, 4)

    def build(x, y):
        a = mb.concat(values=[x, y], axis=1)
        b = mb.concat(values=[x, y], axis=2, interleave=True)
        c = mb.stack(values=[x, y], axis=1)
        s1, s2 = mb.split(x=a, num_splits=2, axis=1)
        s3, s4 = mb.split(x=x, split_sizes=[1, 3], axis=-1)
        return a, b, c, s1, s2, s3, s4

    got = run_program(tmp_path, build, {"x": x, "y": y})
    tx, ty = t(x), t(y)
    close(got[0], torch.cat([tx, ty], 1))
    close(got[1], torch.stack([tx, ty], dim=3).reshape(2, 3, 8))
    close(got[2], torch.stack([tx, ty], 1))
    close(got[3], tx)
    close(got[4], ty)
    close(got[5], tx[..., :1])
    close(got[6], tx[..., 1:])


def test_slicing(tmp_path):
    x = rand(4, 6, 5)

    def build(x):
        return (mb.slice_by_index(x=x, begin=[1, 0, 4], end=[4, 6, 0], stride=[2, 1, -2],
                                  begin_mask=[False, True, False], end_mask=[False, False, True]),
                mb.slice_by_index(x=x, begin=[0, -1, 0], end=[4, 0, 5], squeeze_mask=[False, True, False],
                                  end_mask=[True, False, True]),
                mb.slice_by_size(x=x, begin=[1, 2, 0], size=[2, -1, 3]))

    got = run_program(tmp_path, build, {"x": x})
    tx = t(x)
    close(got[0], tx[1:4:2, :, 4::-2] if False else torch.flip(tx[1:4:2, :, :], dims=[2])[:, :, 0::2])
    close(got[1], tx[:, -1, :])
    close(got[2], tx[1:3, 2:, 0:3])


def test_gather_family(tmp_path):
    x = rand(5, 4, 3)
    idx = np.array([4, 0, 2, -1], np.int32)
    along = RNG.integers(0, 4, size=(5, 2, 3)).astype(np.int32)

    def build(x):
        return (mb.gather(x=x, indices=idx, axis=0), mb.gather(x=x, indices=np.array([2, 1], np.int32), axis=-1),
                mb.gather_along_axis(x=x, indices=along, axis=1))

    got = run_program(tmp_path, build, {"x": x})
    tx = t(x)
    close(got[0], tx[[4, 0, 2, 4]])
    close(got[1], tx[..., [2, 1]])
    close(got[2], torch.gather(tx, 1, torch.as_tensor(along, dtype=torch.int64)))


def test_tile_pad_reverse_cumsum(tmp_path):
    x = rand(1, 2, 5)

    def build(x):
        return (mb.tile(x=x, reps=[2, 1, 3]), mb.pad(x=x, pad=[1, 2], mode="constant", constant_val=0.5),
                mb.pad(x=x, pad=[0, 0, 2, 1], mode="reflect"), mb.pad(x=x, pad=[2, 2], mode="replicate"),
                mb.reverse(x=x, axes=[2]), mb.cumsum(x=x, axis=2), mb.cumsum(x=x, axis=2, exclusive=True, reverse=True))

    got = run_program(tmp_path, build, {"x": x})
    tx = t(x)
    close(got[0], tx.repeat(2, 1, 3))
    close(got[1], F.pad(tx, (1, 2), value=0.5))
    close(got[2], torch.as_tensor(np.pad(x, [(0, 0), (0, 0), (2, 1)], mode="reflect")))
    close(got[3], F.pad(tx, (2, 2), mode="replicate"))
    close(got[4], torch.flip(tx, [2]))
    close(got[5], torch.cumsum(tx, 2))
    rev = torch.flip(torch.cumsum(torch.flip(tx, [2]), 2), [2]) - tx
    close(got[6], rev)


def test_select_shape_fill_like_band_part(tmp_path):
    x, y = rand(3, 4), rand(3, 4)

    def build(x, y):
        sel = mb.select(cond=mb.greater(x=x, y=y), a=x, b=y)
        shp = mb.cast(x=mb.shape(x=x), dtype="fp32")
        band = mb.band_part(x=x, lower=1, upper=0)
        return sel, shp, band

    got = run_program(tmp_path, build, {"x": x, "y": y})
    close(got[0], torch.maximum(t(x), t(y)))
    close(got[1], np.array([3, 4], np.float32))
    close(got[2], torch.tril(t(x)) - torch.tril(t(x), -2))


def test_scatter(tmp_path):
    x = rand(5, 3)
    upd = rand(2, 3)

    def build(x):
        return mb.scatter(data=x, indices=np.array([1, 3], np.int32), updates=upd, axis=0, mode="add")

    (got,) = run_program(tmp_path, build, {"x": x}, expect_op="scatter")
    want = x.copy()
    want[[1, 3]] += upd
    close(got, want)


REDUCE = {
    "reduce_mean": lambda a, d, k: a.mean(dim=d, keepdim=k), "reduce_sum": lambda a, d, k: a.sum(dim=d, keepdim=k),
    "reduce_max": lambda a, d, k: a.amax(dim=d, keepdim=k), "reduce_min": lambda a, d, k: a.amin(dim=d, keepdim=k),
    "reduce_prod": lambda a, d, k: a.prod(dim=d[0], keepdim=k) if len(d) == 1 else a.prod(d[0], k).prod(d[1] - (0 if k else 1), k),
    "reduce_l1_norm": lambda a, d, k: a.abs().sum(dim=d, keepdim=k),
    "reduce_l2_norm": lambda a, d, k: a.square().sum(dim=d, keepdim=k).sqrt(),
    "reduce_sum_square": lambda a, d, k: a.square().sum(dim=d, keepdim=k),
    "reduce_log_sum": lambda a, d, k: a.sum(dim=d, keepdim=k).log(),
    "reduce_log_sum_exp": lambda a, d, k: torch.logsumexp(a, dim=d, keepdim=k),
}


@pytest.mark.parametrize("keep", [False, True])
def test_reductions(tmp_path, keep):
    x = rand(2, 3, 4, lo=0.2, hi=1.5)
    names = sorted(REDUCE)
    got = run_program(tmp_path, lambda x: tuple(getattr(mb, n)(x=x, axes=[1], keep_dims=keep) for n in names),
                      {"x": x})
    for n, g in zip(names, got):
        close(g, REDUCE[n](t(x), [1], keep), msg=n)


def test_argmax_argmin(tmp_path):
    x = rand(3, 7)

    def build(x):
        return (mb.cast(x=mb.reduce_argmax(x=x, axis=1), dtype="fp32"),
                mb.cast(x=mb.reduce_argmin(x=x, axis=0, keep_dims=True), dtype="fp32"))

    got = run_program(tmp_path, build, {"x": x})
    close(got[0], t(x).argmax(1).float())
    close(got[1], t(x).argmin(0, keepdim=True).float())


# ------------------------------------------------------------------ nn ops


def test_linear_matmul(tmp_path):
    x, y = rand(2, 5, 4), rand(2, 6, 4)
    w, b = rand(3, 4), rand(3)

    def build(x, y):
        return (mb.linear(x=x, weight=w, bias=b), mb.matmul(x=x, y=y, transpose_y=True),
                mb.matmul(x=x, y=x, transpose_x=True), mb.linear(x=x, weight=w))

    got = run_program(tmp_path, build, {"x": x, "y": y})
    tx, ty = t(x), t(y)
    close(got[0], F.linear(tx, t(w), t(b)))
    close(got[1], tx @ ty.transpose(1, 2))
    close(got[2], tx.transpose(1, 2) @ tx)
    close(got[3], F.linear(tx, t(w)))


def test_layer_norm(tmp_path):
    x = rand(2, 5, 8, lo=-3, hi=3)
    g, b = rand(8), rand(8)
    g2 = rand(5, 8)

    def build(x):
        return (mb.layer_norm(x=x, axes=[-1], gamma=g, beta=b, epsilon=1e-5),
                mb.layer_norm(x=x, axes=[1, 2], gamma=g2, epsilon=1e-3))

    got = run_program(tmp_path, build, {"x": x}, expect_op="layer_norm")
    close(got[0], F.layer_norm(t(x), (8,), t(g), t(b), 1e-5))
    close(got[1], F.layer_norm(t(x), (5, 8), t(g2), None, 1e-3))


def test_batch_and_instance_norm(tmp_path):
    x = rand(2, 3, 6, lo=-3, hi=3)
    mean, var, g, b = rand(3), rand(3, lo=0.5, hi=2), rand(3), rand(3)

    def build(x):
        return (mb.batch_norm(x=x, mean=mean, variance=var, gamma=g, beta=b, epsilon=1e-4),
                mb.instance_norm(x=x, gamma=g, beta=b, epsilon=1e-5))

    got = run_program(tmp_path, build, {"x": x})
    close(got[0], F.batch_norm(t(x), t(mean), t(var), t(g), t(b), False, 0.0, 1e-4))
    close(got[1], F.instance_norm(t(x), weight=t(g), bias=t(b), eps=1e-5))


@pytest.mark.parametrize("stride,dilation,groups,pad_type", [
    (1, 1, 1, "valid"), (2, 1, 1, "custom"), (1, 2, 3, "same"), (3, 1, 1, "same"), (2, 1, 1, "same_lower"),
])
def test_conv1d(tmp_path, stride, dilation, groups, pad_type):
    x = rand(1, 6, 17)
    w, b = rand(9, 6 // groups, 3), rand(9)
    pad = [2, 1] if pad_type == "custom" else [0, 0]

    def build(x):
        return mb.conv(x=x, weight=w, bias=b, strides=[stride], dilations=[dilation], groups=groups,
                       pad_type=pad_type, pad=pad)

    (got,) = run_program(tmp_path, build, {"x": x}, expect_op="conv")
    tx = t(x)
    eff = (3 - 1) * dilation + 1
    if pad_type == "valid":
        p = (0, 0)
    elif pad_type == "custom":
        p = (2, 1)
    else:
        total = max((int(np.ceil(17 / stride)) - 1) * stride + eff - 17, 0)
        p = (total // 2, total - total // 2) if pad_type == "same" else (total - total // 2, total // 2)
    want = F.conv1d(F.pad(tx, p), t(w), t(b), stride=stride, dilation=dilation, groups=groups)
    close(got, want)


def test_conv2d(tmp_path):
    x = rand(1, 2, 7, 9)
    w = rand(4, 2, 3, 2)

    (got,) = run_program(tmp_path, lambda x: mb.conv(x=x, weight=w, strides=[2, 1], pad_type="custom",
                                                     pad=[1, 1, 0, 1]), {"x": x})
    close(got, F.conv2d(F.pad(t(x), (0, 1, 1, 1)), t(w), stride=(2, 1)))


def test_pools(tmp_path):
    x = rand(1, 3, 11)

    def build(x):
        return (mb.max_pool(x=x, kernel_sizes=[3], strides=[2], pad_type="valid"),
                mb.avg_pool(x=x, kernel_sizes=[3], strides=[2], pad_type="custom", pad=[1, 1],
                            exclude_padding_from_average=True),
                mb.avg_pool(x=x, kernel_sizes=[2], strides=[2], pad_type="valid", ceil_mode=True),
                mb.max_pool(x=x, kernel_sizes=[4], strides=[3], pad_type="valid", ceil_mode=True))

    got = run_program(tmp_path, build, {"x": x})
    tx = t(x)
    close(got[0], F.max_pool1d(tx, 3, 2))
    close(got[1], F.avg_pool1d(tx, 3, 2, padding=1, count_include_pad=False))
    close(got[2], F.avg_pool1d(F.pad(tx, (0, 1)), 2, 2) * torch.tensor([1.0] * 5 + [2.0]) if False
          else np.concatenate([F.avg_pool1d(tx[..., :10], 2, 2).numpy(), tx[..., 10:].numpy() / 2], axis=-1))
    close(got[3], F.max_pool1d(tx, 4, 3, ceil_mode=True))


# ------------------------------------------------------------------ recurrent ops


def _ifoz(w: torch.Tensor) -> np.ndarray:
    """torch LSTM gate order (i, f, g, o) → MIL (i, f, o, z)."""
    i, f, g, o = w.chunk(4, 0)
    return torch.cat([i, f, o, g], 0).detach().numpy()


@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("output_sequence", [True, False])
def test_lstm(tmp_path, direction, output_sequence):
    torch.manual_seed(0)
    s, b, i, h = 6, 2, 3, 5
    bi = direction == "bidirectional"
    lstm = torch.nn.LSTM(i, h, bidirectional=bi)
    x = rand(s, b, i)
    h0, c0 = rand(b, 2 * h if bi else h), rand(b, 2 * h if bi else h)
    p = dict(lstm.named_parameters())

    def build(x):
        kw = dict(weight_ih=_ifoz(p["weight_ih_l0"]), weight_hh=_ifoz(p["weight_hh_l0"]),
                  bias=_ifoz(p["bias_ih_l0"] + p["bias_hh_l0"]))
        if bi:
            kw.update(weight_ih_back=_ifoz(p["weight_ih_l0_reverse"]), weight_hh_back=_ifoz(p["weight_hh_l0_reverse"]),
                      bias_back=_ifoz(p["bias_ih_l0_reverse"] + p["bias_hh_l0_reverse"]))
        return mb.lstm(x=x, initial_h=h0, initial_c=c0, direction=direction, output_sequence=output_sequence, **kw)

    out, hn, cn = run_program(tmp_path, build, {"x": x}, expect_op="lstm")
    tx = t(x)
    if direction == "reverse":
        tx = torch.flip(tx, [0])
    if bi:
        hh = t(h0).reshape(b, 2, h).permute(1, 0, 2).contiguous()
        cc = t(c0).reshape(b, 2, h).permute(1, 0, 2).contiguous()
    else:
        hh, cc = t(h0)[None], t(c0)[None]
    ref, (rh, rc) = lstm(tx, (hh, cc))
    if direction == "reverse":
        ref = torch.flip(ref, [0])
    ref_h = rh.permute(1, 0, 2).reshape(b, -1)
    ref_c = rc.permute(1, 0, 2).reshape(b, -1)
    close(hn, ref_h)
    close(cn, ref_c)
    if output_sequence:
        close(out, ref)
    elif bi:
        close(out[0], torch.cat([ref[-1, :, :h], ref[0, :, h:]], -1))
    else:
        close(out[0], ref_h)


def test_rnn(tmp_path):
    torch.manual_seed(1)
    rnn = torch.nn.RNN(3, 4)
    x, h0 = rand(5, 2, 3), rand(2, 4)
    p = {k: v.detach().numpy() for k, v in rnn.named_parameters()}
    out, hn = run_program(tmp_path, lambda x: mb.rnn(x=x, initial_h=h0, weight_ih=p["weight_ih_l0"],
                                                     weight_hh=p["weight_hh_l0"], bias=p["bias_ih_l0"] + p["bias_hh_l0"],
                                                     output_sequence=True), {"x": x}, expect_op="rnn")
    ref, rh = rnn(t(x), t(h0)[None])
    close(out, ref)
    close(hn, rh[0])


def test_gru_follows_documented_formula(tmp_path):
    """MIL gru (no torch equivalent: MIL applies the reset gate to W_ho·h without its bias)."""
    torch.manual_seed(2)
    s, b, i, h = 5, 2, 3, 4
    w_ih, w_hh, bias = rand(3 * h, i), rand(3 * h, h), rand(3 * h)
    x, h0 = rand(s, b, i), rand(b, h)
    out, hn = run_program(tmp_path, lambda x: mb.gru(x=x, initial_h=h0, weight_ih=w_ih, weight_hh=w_hh, bias=bias,
                                                     output_sequence=True), {"x": x}, expect_op="gru")
    hh = t(h0)
    W_ir, W_io, W_iz = t(w_ih).chunk(3)
    W_hr, W_ho, W_hz = t(w_hh).chunk(3)
    b_r, b_o, b_z = t(bias).chunk(3)
    seq = []
    for step in range(s):
        xt = t(x)[step]
        r = torch.sigmoid(xt @ W_ir.T + hh @ W_hr.T + b_r)
        z = torch.sigmoid(xt @ W_iz.T + hh @ W_hz.T + b_z)
        o = torch.tanh(xt @ W_io.T + r * (hh @ W_ho.T) + b_o)
        hh = (1 - z) * o + z * hh
        seq.append(hh)
    close(out, torch.stack(seq))
    close(hn, hh)


# ------------------------------------------------------------------ decompression and activation quantization


def test_constexpr_affine_dequantize(tmp_path):
    q = RNG.integers(-128, 128, size=(6, 5)).astype(np.int8)
    scale = rand(6, lo=0.01, hi=0.1)
    zp = RNG.integers(-3, 3, size=6).astype(np.int8)

    def build(x):
        w = mb.constexpr_affine_dequantize(quantized_data=q, zero_point=zp, scale=scale, axis=0)
        return mb.linear(x=x, weight=w)

    x = rand(2, 5)
    (got,) = run_program(tmp_path, build, {"x": x}, target=ct.target.iOS16, expect_op="constexpr_affine_dequantize")
    w = scale[:, None] * (q.astype(np.float32) - zp[:, None])
    close(got, t(x) @ t(w).T)


def test_constexpr_affine_dequantize_per_tensor(tmp_path):
    """Scalar scale and zero point: what palette variants' int8 input layer is stored as."""
    q = RNG.integers(-127, 128, size=(6, 5)).astype(np.int8)

    def build(x):
        w = mb.constexpr_affine_dequantize(quantized_data=q, zero_point=np.int8(0), scale=np.float32(0.03), axis=0)
        return mb.linear(x=x, weight=w)

    x = rand(2, 5)
    (got,) = run_program(tmp_path, build, {"x": x}, target=ct.target.iOS17, expect_op="constexpr_affine_dequantize")
    close(got, t(x) @ t(0.03 * q.astype(np.float32)).T)


def test_mixed_precision_palette_program(tmp_path):
    """compress_weights(palette4, keep_int8=input layer): a LUT and an int8 tensor in one program, as
    the convert stage emits them, evaluated like torch with the same decompressed weights."""
    from edgekit.export.coreml import save_mlpackage, to_coreml
    from edgekit.export.quantize import compress_weights, select_layers

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3)).eval()
    x = torch.randn(1, 8)
    fp32 = to_coreml(net, x, "fp32", output_name="y")
    (first,) = select_layers(fp32, ["input"])
    assert first["layer"] == "input" and first["shape"] == [32, 8] and first["params"] == 256
    ev = ReferenceEvaluator(save_mlpackage(compress_weights(fp32, "palette4", [first["weight"]]), tmp_path / "m.mlpackage"))
    ops = {op.type for op in ev.program.operations}
    assert {"constexpr_lut_to_dense", "constexpr_affine_dequantize"} <= ops
    linears = [op for op in ev.program.operations if op.type == "linear"]
    producers = {name: op for op in ev.program.operations for name, _ in op.outputs}
    kinds = [producers[op.inputs["weight"][0][1]].type for op in linears]
    assert kinds == ["constexpr_affine_dequantize", "constexpr_lut_to_dense"]
    w1 = net[0].weight.detach().numpy()
    step = np.abs(w1).max() / 127
    dense = {n: v for n, v in ev._static.items() if isinstance(v, np.ndarray) and v.shape == w1.shape}
    (w1q,) = dense.values()
    assert np.abs(w1q - w1).max() <= step / 2 + 1e-6  # int8 per tensor: half a step at most
    w2q = next(v for v in ev._static.values() if isinstance(v, np.ndarray) and v.shape == (3, 32))
    assert len(np.unique(w2q)) <= 16  # 4-bit palette
    want = torch.relu(x @ t(w1q).T + net[0].bias) @ t(w2q).T + net[2].bias
    (got,) = [ev.run({"rr_sequence": x.numpy()})[n] for n in ev.program.outputs]
    close(got, want.detach(), tol=1e-4)


@pytest.mark.parametrize("nbits", [1, 2, 4, 6, 8])
def test_constexpr_lut_to_dense_ios16(tmp_path, nbits):
    from coremltools.optimize import _utils as optimize_utils

    shape = (7, 5)
    idx = RNG.integers(0, 2**nbits, size=int(np.prod(shape))).astype(np.uint8)
    lut = rand(2**nbits)
    packed = optimize_utils.pack_elements_into_bits(idx, nbits)

    def build(x):
        w = mb.constexpr_lut_to_dense(indices=packed, lut=lut, shape=np.array(shape, np.uint32))
        return mb.linear(x=x, weight=w)

    x = rand(1, 5)
    (got,) = run_program(tmp_path, build, {"x": x}, target=ct.target.iOS16, expect_op="constexpr_lut_to_dense")
    w = lut[idx].reshape(shape)
    close(got, t(x) @ t(w).T)


@pytest.mark.parametrize("dtype,nbits", [(types.uint4, 4), (types.uint6, 6), (types.uint2, 2), (types.uint3, 3)])
def test_constexpr_lut_to_dense_ios18_grouped(tmp_path, dtype, nbits):
    shape = (8, 6)
    idx = RNG.integers(0, 2**nbits, size=shape).astype(types.nptype_from_builtin(dtype))
    lut = rand(2, 1, 2**nbits, 1)  # two groups of rows, one LUT each

    def build(x):
        w = mb.constexpr_lut_to_dense(indices=idx, lut=lut)
        return mb.linear(x=x, weight=w)

    x = rand(1, 6)
    (got,) = run_program(tmp_path, build, {"x": x}, target=ct.target.iOS18, expect_op="constexpr_lut_to_dense")
    w = np.stack([lut[r // 4, 0, idx[r].astype(int), 0] for r in range(8)])
    close(got, t(x) @ t(w).T)


def test_constexpr_lut_to_dense_ios18_vector(tmp_path):
    idx = RNG.integers(0, 4, size=(3, 2)).astype(types.nptype_from_builtin(types.uint2))
    lut = rand(1, 1, 4, 2)

    def build(x):
        w = mb.constexpr_lut_to_dense(indices=idx, lut=lut, vector_axis=0)
        return mb.linear(x=x, weight=w)

    x = rand(1, 2)
    (got,) = run_program(tmp_path, build, {"x": x}, target=ct.target.iOS18)
    w = np.zeros((6, 2), np.float32)
    for r in range(3):
        for c in range(2):
            w[2 * r : 2 * r + 2, c] = lut[0, 0, int(idx[r, c])]
    close(got, t(x) @ t(w).T)


@pytest.mark.parametrize("dtype", [types.int8, types.int4, types.uint4])
def test_constexpr_blockwise_shift_scale(tmp_path, dtype):
    lo, hi = {types.int8: (-128, 128), types.int4: (-8, 8), types.uint4: (0, 16)}[dtype]
    np_t = types.nptype_from_builtin(dtype)
    data = RNG.integers(lo, hi, size=(4, 8)).astype(np_t)
    scale = rand(4, 2, lo=0.01, hi=0.2)
    offset = RNG.integers(lo // 2, hi // 2, size=(4, 2)).astype(np_t)

    def build(x):
        w = mb.constexpr_blockwise_shift_scale(data=data, scale=scale, offset=offset)
        return mb.linear(x=x, weight=w)

    x = rand(1, 8)
    (got,) = run_program(tmp_path, build, {"x": x}, target=ct.target.iOS18,
                         expect_op="constexpr_blockwise_shift_scale")
    w = np.repeat(scale, 4, axis=1) * (data.astype(np.float32) - np.repeat(offset, 4, axis=1).astype(np.float32))
    close(got, t(x) @ t(w).T)


def test_constexpr_sparse_to_dense_ios16(tmp_path):
    from coremltools.optimize import _utils as optimize_utils

    dense = rand(6, 4)
    mask = RNG.random((6, 4)) > 0.5
    dense[~mask] = 0
    packed = optimize_utils.pack_elements_into_bits(mask.reshape(-1).astype(np.uint8), 1)

    def build(x):
        w = mb.constexpr_sparse_to_dense(nonzero_data=dense[mask], mask=packed, shape=np.array([6, 4], np.uint32))
        return mb.linear(x=x, weight=w)

    x = rand(1, 4)
    (got,) = run_program(tmp_path, build, {"x": x}, target=ct.target.iOS16, expect_op="constexpr_sparse_to_dense")
    close(got, t(x) @ t(dense).T)


def test_constexpr_cast(tmp_path):
    w16 = rand(3, 4).astype(np.float16)

    def build(x):
        return mb.linear(x=x, weight=mb.constexpr_cast(source_val=w16, output_dtype="fp32"))

    x = rand(1, 4)
    (got,) = run_program(tmp_path, build, {"x": x}, target=ct.target.iOS16, expect_op="constexpr_cast")
    close(got, t(x) @ t(w16.astype(np.float32)).T)


@pytest.mark.parametrize("per_channel", [False, True])
def test_quantize_dequantize(tmp_path, per_channel):
    x = rand(2, 3, 4, lo=-3, hi=3)
    scale = rand(3, lo=0.01, hi=0.03) if per_channel else np.float32(0.02)
    zp = RNG.integers(-5, 5, size=3).astype(np.int8) if per_channel else np.int8(3)
    axis = 1 if per_channel else None

    def build(x):
        q = mb.quantize(input=x, scale=scale, zero_point=zp, axis=axis, output_dtype="int8")
        return mb.dequantize(input=q, scale=scale, zero_point=zp, axis=axis)

    (got,) = run_program(tmp_path, build, {"x": x}, target=ct.target.iOS17, expect_op="quantize")
    s = t(np.broadcast_to(np.reshape(scale, (1, 3, 1) if per_channel else ()), x.shape).copy())
    z = t(np.broadcast_to(np.reshape(zp, (1, 3, 1) if per_channel else ()), x.shape).astype(np.float32).copy())
    q = torch.clamp(torch.round(t(x) / s) + z, -128, 127)
    close(got, (q - z) * s)


# ------------------------------------------------------------------ control flow and errors


def test_while_loop(tmp_path):
    x = rand(3)

    def build(x):
        def cond(i, acc):
            return mb.less(x=i, y=4.0)

        def body(i, acc):
            return mb.add(x=i, y=1.0), mb.mul(x=acc, y=2.0)

        _, out = mb.while_loop(_cond=cond, _body=body, loop_vars=(mb.mul(x=mb.reduce_sum(x=x), y=0.0), x))
        return out

    (got,) = run_program(tmp_path, build, {"x": x}, expect_op="while_loop")
    close(got, t(x) * 16)


def test_unknown_op_is_an_error_naming_it(tmp_path):
    x = rand(1, 1, 4, 4)
    with pytest.raises(EdgekitError, match="resize_nearest_neighbor"):
        run_program(tmp_path, lambda x: mb.resize_nearest_neighbor(x=x, target_size_height=8, target_size_width=8),
                    {"x": x})


def test_input_shape_is_checked(tmp_path):
    x = rand(2, 3)
    run_program(tmp_path, lambda x: mb.relu(x=x), {"x": x})
    path = next(tmp_path.glob("*.mlpackage"))
    with pytest.raises(EdgekitError, match="shape"):
        ReferenceEvaluator(path).run({"x": rand(3, 2)})


@pytest.mark.parametrize("op_type,params", [
    ("reduce_mean", {}), ("reduce_sum", {"axes": [-1]}), ("reduce_max", {"axes": [1], "keep_dims": True}),
    ("layer_norm", {}), ("layer_norm", {"axes": [-1]}), ("cumsum", {}), ("softmax", {}), ("softmax", {"axis": 1}),
    ("transpose", {"perm": [2, 0, 1]}), ("reshape", {"shape": [4, 3]}), ("expand_dims", {"axes": [0, -1]}),
    ("slice_by_index", {"begin": [0, 1, 0], "end": [1, 3, 2], "squeeze_mask": [True, False, False]}),
])
def test_batched_op_rules_equal_one_item_at_a_time(op_type, params):
    """BatchedEvaluator's rule for an op (its axes shifted past the batch axis; an absent axis made
    explicit) gives, on a batch, the op's results on each item."""
    from edgekit.mil.batched import _shift
    from edgekit.mil.ops import OPS, Call
    from edgekit.mil.program import Operation, TensorType

    X = np.random.default_rng(0).standard_normal((5, 1, 4, 3))
    op = Operation(op_type, "o", {}, [("y", TensorType(1, None))])
    fixed = {k: [np.asarray(v)] for k, v in params.items()}
    single = np.stack([np.asarray(OPS[op_type](Call(op, {"x": [x], **fixed}))) for x in X])
    args = {"x": [X], **fixed}
    _shift(op, args, {"x": [True], **{k: [False] for k in fixed}}, len(X))
    np.testing.assert_allclose(np.asarray(OPS[op_type](Call(op, args))), single, rtol=0, atol=1e-12)


def test_squeeze_without_axes_has_no_batch_rule():
    from edgekit.mil.batched import Unbatchable, _shift
    from edgekit.mil.program import Operation

    with pytest.raises(Unbatchable, match="squeeze"):
        _shift(Operation("squeeze", "o", {}, []), {"x": [np.zeros((2, 1, 3))]}, {"x": [True]}, 2)
