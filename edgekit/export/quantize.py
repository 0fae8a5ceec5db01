"""Variants of a converted model: precision and weight/activation compression.

Every variant is made with coremltools' own APIs (``ct.convert`` compute precision and
``coremltools.optimize.coreml``), with ``weight_threshold=0`` so that small weight tensors are
compressed too (coremltools skips tensors of ≤ 2048 elements by default; it never compresses rank-1
tensors — biases, norm scales — which stay at the program's float precision):

==========  =================================================================================
fp32        fp32 compute, fp32 weights (the reference variant)
fp16        fp16 compute and weights; input normalization of raw milliseconds stays fp32, plus
            any op type whose activations were measured out of fp16's safe range
int8        weights int8, per-output-channel symmetric linear quantization
palette6    weights as 6-bit indices into a 64-entry k-means palette (per tensor)
palette4    weights as 4-bit indices into a 16-entry k-means palette (per tensor)
w8a8        int8 weights + int8 activations (quantize/dequantize pairs before linear/conv/add),
            activation ranges calibrated on training windows with edgekit's reference evaluator
==========  =================================================================================

Mixed precision. Sensitivity of the default strain classifier (top-1 agreement with fp32 torch over
fixtures + test set, 3827 windows; one tensor or activation quantized at a time): the input layer —
``embed``, the 64×8 linear that reads each patch's normalized RR level / ΔRR, 0.7 % of the
parameters — causes most flips. 4-bit-palettizing it alone flips 31 windows (any other tensor ≤ 12);
keeping it uncompressed takes palette4 from 41 flips to 19 (0.9893 → 0.995), keeping any other single
tensor recovers ≤ 5 (its inputs reach |x| ≈ 15 and its error enters every token). In W8A8, the
int8 quantization of that layer's *input* (normalized milliseconds) causes 2/3 of the flips: leaving
it float takes W8A8 from 48 flips to 14 (0.9875 → 0.996); any other single quantize/dequantize point
≤ 9. So by default (``convert.palette_keep_int8`` / ``convert.w8a8_float_inputs`` = ``["input"]``)
palette variants store the input layer's input-side weights as int8 (per-tensor linear,
``constexpr_affine_dequantize``, iOS 16+; per-channel palettes or scales need iOS 18) and W8A8 leaves
that layer's input activation float. ``convert.json`` lists what each variant keeps at higher
precision, and bits per parameter count it at its stored width.

The compressed variants start from the program named by ``convert.compressed_base`` (fp16 by
default: what Core ML runs on the Neural Engine).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.core.errors import EdgekitError
from edgekit.export.runtime import import_coremltools, quiet
from edgekit.mil.evaluator import ReferenceEvaluator
from edgekit.mil.program import load_program

# weighted MIL ops and the argument holding the weights applied to their (activation) input ``x``
_INPUT_WEIGHT = {"linear": "weight", "conv": "weight", "conv_transpose": "weight", "lstm": "weight_ih",
                 "gru": "weight_ih", "rnn": "weight_ih"}
# op types coremltools' activation-quantization passes put quantize/dequantize pairs in front of
_ACT_QUANTIZED = {"linear", "conv", "avg_pool", "max_pool", "add"}

FP16_MAX = 65504.0
# Activation magnitudes (fp32 program, calibration windows) above which an op type is kept fp32 in
# the fp16 variant: generic ops keep 8× headroom below fp16's max; normalizations square their
# input, so |x| must stay below √65504 ≈ 255.
_SAFE_ABS = {"layer_norm": 255.0, "batch_norm": 255.0, "instance_norm": 255.0, "reduce_l2_norm": 255.0,
             "reduce_sum_square": 255.0}
_SAFE_ABS_DEFAULT = FP16_MAX / 8


def weight_config(variant: str, keep_int8: Sequence[str] = ()) -> Any:
    """The ``ct.optimize.coreml.OptimizationConfig`` of a weight-compressed variant.

    ``keep_int8``: names of weight consts a palette variant leaves alone (they are quantized to int8
    afterwards by :func:`compress_weights`).
    """
    ct = import_coremltools()
    cto = ct.optimize.coreml
    if variant in ("int8", "w8a8"):
        op = cto.OpLinearQuantizerConfig(mode="linear_symmetric", dtype="int8", granularity="per_channel",
                                         weight_threshold=0)
    elif variant in ("palette6", "palette4"):
        op = cto.OpPalettizerConfig(mode="kmeans", nbits=6 if variant == "palette6" else 4,
                                    granularity="per_tensor", weight_threshold=0)
        if keep_int8:
            return cto.OptimizationConfig(global_config=op, op_name_configs={name: None for name in keep_int8})
    else:
        raise ValueError(f"{variant} is not a weight-compressed variant")
    return cto.OptimizationConfig(global_config=op)


def compress_weights(mlmodel: Any, variant: str, keep_int8: Sequence[str] = ()) -> Any:
    """int8 / palette6 / palette4 weights of ``mlmodel`` via coremltools.optimize.coreml.

    ``keep_int8`` (palette variants): weight const names stored as int8 (per-tensor symmetric linear
    quantization, iOS 16+) instead of the palette — see :func:`select_layers`.
    """
    ct = import_coremltools()
    cto = ct.optimize.coreml
    with quiet():
        if variant in ("int8", "w8a8"):
            return cto.linear_quantize_weights(mlmodel, weight_config(variant))
        # coremltools seeds its k-means (scikit-learn, random_state=0): same checkpoint ⇒ same palette
        out = cto.palettize_weights(mlmodel, weight_config(variant, keep_int8))
        if keep_int8:
            int8 = cto.OpLinearQuantizerConfig(mode="linear_symmetric", dtype="int8", granularity="per_tensor",
                                               weight_threshold=0)
            out = cto.linear_quantize_weights(
                out, cto.OptimizationConfig(global_config=None, op_name_configs={n: int8 for n in keep_int8}))
        return out


def weighted_layers(mlmodel: Any) -> list[dict[str, Any]]:
    """Ops with weights of an ML program, in program order: op name and type, the const holding the
    weights applied to the op's input (``weight`` / ``weight_ih``), its shape and element count."""
    prog = getattr(mlmodel, "_mil_program", None)
    if prog is None:
        raise ValueError("model has no MIL program (convert with ct.convert first)")
    out = []
    for op in prog.functions["main"].operations:
        arg = _INPUT_WEIGHT.get(op.op_type)
        var = op.inputs.get(arg) if arg else None
        if var is None or var.op is None or var.op.op_type != "const" or var.val is None:
            continue
        if op.op_type in ("linear", "conv", "conv_transpose") and (op.inputs["x"].op is not None
                                                                  and op.inputs["x"].op.op_type == "const"):
            continue
        shape = [int(d) for d in var.shape]
        out.append({"op": op.name, "op_type": op.op_type, "weight": var.op.name, "shape": shape,
                    "params": int(np.prod(shape)), "input": op.inputs["x"].name})
    return out


def select_layers(mlmodel: Any, which: Sequence[str]) -> list[dict[str, Any]]:
    """Weighted layers named by ``which``: ``"input"`` (the first — it reads the model's normalized
    input features), ``"output"`` (the last — the head), or an op / weight const name of the program."""
    layers = weighted_layers(mlmodel)
    chosen: list[dict[str, Any]] = []
    for key in which:
        if key in ("input", "output"):
            hits = [dict(layers[0 if key == "input" else -1], layer=key)] if layers else []
        else:
            hits = [dict(layer, layer=key) for layer in layers if key in (layer["op"], layer["weight"])]
            if not hits:
                known = ", ".join(layer["op"] for layer in layers)
                raise EdgekitError(f"convert: no weighted layer {key!r} in the program (layers: {known})")
        chosen += [h for h in hits if h["op"] not in {c["op"] for c in chosen}]
    return chosen


# --------------------------------------------------------------------------------------------
# activation calibration (W8A8) with the reference evaluator


def activation_ranges(package: Path, samples: list[Mapping[str, np.ndarray]]) -> dict[str, dict[str, float]]:
    """Min/max of every input and every non-const op output over ``samples``, by variable name.

    Concat inputs and outputs share one range (as coremltools' own calibration does), so a
    quantized concat needs no rescaling.
    """
    ev = ReferenceEvaluator(package)
    stats: dict[str, dict[str, float]] = {}

    def note(name: str, value: np.ndarray) -> None:
        arr = np.asarray(value)
        if arr.dtype.kind != "f" or arr.size == 0:
            return
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        cur = stats.setdefault(name, {"rmin": lo, "rmax": hi})
        cur["rmin"], cur["rmax"] = min(cur["rmin"], lo), max(cur["rmax"], hi)

    def observer(op: Any, values: list[Any]) -> None:
        if op.type == "const" or op.type.startswith("constexpr_"):
            return
        for (name, _), value in zip(op.outputs, values):
            note(name, value)

    for sample in samples:
        for name, value in sample.items():
            note(name, value)
        ev.run(sample, observer=observer)
    for name in ev.program.outputs:
        stats.pop(name, None)
    groups: list[set[str]] = []
    for op in ev.program.operations:
        if op.type == "concat":
            names = {ref for kind, ref in op.inputs.get("values", []) if kind == "var"}
            names.add(op.outputs[0][0])
            for g in [g for g in groups if g & names]:
                names |= g
                groups.remove(g)
            groups.append(names)
    for g in groups:
        known = [stats[n] for n in g if n in stats]
        if known:
            lo, hi = min(s["rmin"] for s in known), max(s["rmax"] for s in known)
            for n in g:
                if n in stats:
                    stats[n] = {"rmin": lo, "rmax": hi}
    return stats


def quantize_activations(mlmodel: Any, stats: dict[str, dict[str, float]], float_ops: Sequence[str] = ()) -> Any:
    """Insert int8 quantize/dequantize pairs with coremltools' activation-compression passes.

    Same passes ``ct.optimize.coreml.linear_quantize_activations`` applies; only the calibration
    (which needs the Core ML runtime there) is replaced by :func:`activation_ranges`. Ops named in
    ``float_ops`` get no pair: their input activation stays float (``op_name_configs`` ``None``).
    """
    ct = import_coremltools()
    with quiet():  # coremltools' internals, imported with it (deferred: see import_coremltools)
        from coremltools import _SPECIFICATION_VERSION_IOS_17
        from coremltools.converters.mil.frontend.milproto import load as milproto_load
        from coremltools.converters.mil.mil.passes.graph_pass import PassOption
        from coremltools.converters.mil.mil.passes.pass_registry import PASS_REGISTRY
        from coremltools.models import utils as model_utils

        cto = ct.optimize.coreml
        config = cto.OptimizationConfig(
            global_config=cto.OpLinearQuantizerConfig(mode="linear_symmetric", dtype="int8", weight_threshold=0),
            op_name_configs={name: None for name in float_ops},
        )
        passes = []
        for name in ("compression::insert_prefix_quantize_dequantize_pair",
                     "compression::insert_suffix_quantize_dequantize_pair"):
            graph_pass = PASS_REGISTRY[name]
            graph_pass.set_options([PassOption("config", config)])
            graph_pass.set_options([PassOption("activation_stats", stats)])
            passes.append(graph_pass)
        passes.append(PASS_REGISTRY["common::dequantize_quantize_pair_elimination"])
        try:
            return model_utils._apply_graph_pass(
                mlmodel, passes, spec_version=_SPECIFICATION_VERSION_IOS_17,
                pymil_load_func=milproto_load.load, skip_model_load=True,
            )
        except (ValueError, TypeError, AssertionError) as exc:  # coremltools' pass refuses this program
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise EdgekitError(f"w8a8: coremltools could not insert activation quantization into this program "
                               f"({reason}); remove 'w8a8' from convert.variants") from None


# --------------------------------------------------------------------------------------------
# fp16 policy: measure which op types must stay fp32


def fp16_policy(fp32_package: Path, samples: list[Mapping[str, np.ndarray]], extra: list[str]) -> dict:
    """Max |activation| per op type of the fp32 program on ``samples``; types beyond fp16's safe
    range (see ``_SAFE_ABS``) are kept fp32 in the fp16 variant, with ``extra`` added by config."""
    ev = ReferenceEvaluator(fp32_package)
    peak_out: dict[str, float] = {}
    peak_in: dict[str, float] = {}
    env_peak: dict[str, float] = {}

    def observer(op: Any, values: list[Any]) -> None:
        if op.type == "const" or op.type.startswith("constexpr_"):
            return
        for (name, _), value in zip(op.outputs, values):
            arr = np.asarray(value)
            if arr.dtype.kind == "f" and arr.size:
                m = float(np.max(np.abs(arr)))
                env_peak[name] = max(env_peak.get(name, 0.0), m)
                peak_out[op.type] = max(peak_out.get(op.type, 0.0), m)
        for kind, ref in op.inputs.get("x", []):
            if kind == "var" and ref in env_peak:
                peak_in[op.type] = max(peak_in.get(op.type, 0.0), env_peak[ref])

    for sample in samples:
        for name, value in sample.items():
            env_peak[name] = max(env_peak.get(name, 0.0), float(np.max(np.abs(value))))
        ev.run(sample, observer=observer)
    keep = set(extra)
    for op_type in set(peak_out) | set(peak_in):
        limit = _SAFE_ABS.get(op_type, _SAFE_ABS_DEFAULT)
        if max(peak_out.get(op_type, 0.0), peak_in.get(op_type, 0.0)) > limit:
            keep.add(op_type)
    return {
        "keep_fp32_op_types": sorted(keep),
        "max_abs_input_by_op_type": {k: round(v, 4) for k, v in sorted(peak_in.items())},
        "max_abs_output_by_op_type": {k: round(v, 4) for k, v in sorted(peak_out.items())},
    }


def fp32_ops_of(package: Path) -> list[str]:
    """Non-const ops of a program that compute in fp32 (output dtype fp32)."""
    prog = load_program(package)
    return [f"{op.type}:{op.name}" for op in prog.operations
            if op.type not in ("const", "cast") and not op.type.startswith("constexpr_")
            and op.outputs and op.outputs[0][1].kind == "tensor" and op.outputs[0][1].name == "fp32"]


def uncompressed_weights(package: Path) -> list[str]:
    """Float weight tensors of rank ≥ 2 stored densely (not behind a decompression op)."""
    prog = load_program(package)
    consumed = {ref for op in prog.operations if op.type.startswith("constexpr_")
                for b in op.inputs.values() for kind, ref in b if kind == "var"}
    out = []
    for op in prog.operations:
        if op.type != "const" or op.outputs[0][0] in consumed:
            continue
        t = op.outputs[0][1]
        if t.kind == "tensor" and t.np_dtype.kind == "f" and t.shape and len(t.shape) >= 2 and np.prod(t.shape) > 1:
            out.append(op.outputs[0][0])
    return out
