"""Every Core ML variant of one model (``convert.variants``): converted, compressed, measured, saved.

The variants and how each is made: :mod:`edgekit.export.quantize`. Calibration windows (fp16 range
measurement, W8A8 activation ranges) come from the model's training split.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgekit import INPUT_NAME
from edgekit.config.load import VARIANTS
from edgekit.core.errors import EdgekitError
from edgekit.core.layout import ModelLayout
from edgekit.export.coreml import Capture, package_stats, save_mlpackage, to_coreml
from edgekit.export.records import VariantBuild
from edgekit.export.quantize import (_ACT_QUANTIZED, activation_ranges, compress_weights, fp16_policy, fp32_ops_of,
                                     quantize_activations, select_layers, uncompressed_weights, weight_config)
from edgekit.mil.evaluator import ReferenceEvaluator
from edgekit.tasks import task_for
from edgekit.tasks.base import model_input


def coreml_kwargs(model_type: str, meta: Mapping[str, Any]) -> dict[str, Any]:
    """The outputs ``to_coreml`` declares for this model type (classifier labels or a score name)."""
    return task_for(model_type).coreml_outputs(meta)


def bound_windows(min_ms: float, max_ms: float, length: int) -> list[dict[str, np.ndarray]]:
    """Windows at the edges of the valid RR domain (all min, all max, alternating min/max): W8A8
    activation ranges then cover every input the data contract allows, not only typical ones."""
    alt = np.where(np.arange(length) % 2 == 0, min_ms, max_ms)
    return [{INPUT_NAME: np.full((1, length, 1), v, np.float32)} for v in (min_ms, max_ms)] + [
        {INPUT_NAME: alt.astype(np.float32).reshape(1, length, 1)}]


def calibration_samples(windows: np.ndarray, count: int, input_name: str | None = None,
                        length: int | None = None) -> list[dict[str, np.ndarray]]:
    """``count`` evenly spaced windows (T,), (T, 1) or (T, C) as ``{input_name: (1, T, C)}`` samples
    (``input_name`` defaults to ``rr_sequence``); training examples longer than the model's input
    ``length`` (whole workouts) give their first ``length`` steps."""
    windows = np.asarray(windows, np.float32)
    if windows.ndim == 3 and windows.shape[-1] == 1:
        windows = windows[..., 0]
    if length is not None and windows.ndim >= 2 and windows.shape[1] > length:
        windows = windows[:, :length]
    idx = np.unique(np.linspace(0, len(windows) - 1, min(count, len(windows))).round().astype(int))
    return [{input_name or INPUT_NAME: model_input(windows[i])} for i in idx]


def build_variants(module: Any, example: Any, model_type: str, cfg: Any, meta: Mapping[str, Any],
                   metadata: Mapping[str, Any], out_dir: Path, calibration: np.ndarray | None = None,
                   ) -> tuple[dict[str, VariantBuild], dict[str, Any]]:
    """Convert ``module`` and save ``out_dir/<variant>.mlpackage`` for every ``cfg.convert.variants``.

    ``calibration``: windows (W, T) in ms for fp16 range measurement and W8A8 calibration; read from
    the model's training split when not given. Returns (the variants in :data:`VARIANTS` order, the fp16 policy).
    """
    conv = cfg.convert
    if conv.compressed_base not in ("fp16", "fp32"):
        raise EdgekitError(f"convert.compressed_base must be fp16 or fp32, got {conv.compressed_base!r}")
    if calibration is None:
        calibration = training_windows(cfg, out_dir.parent)
    samples = calibration_samples(calibration, conv.calibration_windows, task_for(model_type).input_name,
                                  task_for(model_type).input_length(cfg.model.params))
    if task_for(model_type).input_is_rr and conv.calibrate_rr_bounds:
        samples += bound_windows(cfg.data.min_rr_ms, cfg.data.max_rr_ms, samples[0]["rr_sequence"].shape[1])
    kwargs = dict(coreml_kwargs(model_type, meta), minimum_deployment_target=conv.minimum_deployment_target,
                  input_name=task_for(model_type).input_name)
    out_dir = Path(out_dir)
    results: dict[str, VariantBuild] = {}
    models: dict[str, Any] = {}

    def save(name: str, mlmodel: Any, how: str, **extra: Any) -> None:
        path = out_dir / f"{name}.mlpackage"
        save_mlpackage(mlmodel, path, dict(metadata, **{"edgekit.variant": name}))
        entry = VariantBuild(path=f"coreml/{name}.mlpackage", method=how, **package_stats(path), extra=extra)
        if name not in ("fp32", "fp16"):
            dense = uncompressed_weights(path)
            if dense:
                raise EdgekitError(f"{name}: weight tensor(s) left uncompressed: {', '.join(dense)}")
        results[name] = entry

    capture = Capture(module, example)  # one torch.export for all the conversions below
    models["fp32"] = to_coreml(module, example, "fp32", capture=capture, **kwargs)
    with tempfile.TemporaryDirectory(prefix="edgekit-fp32-") as tmp:
        ref = save_mlpackage(models["fp32"], Path(tmp) / "fp32.mlpackage")
        policy = fp16_policy(ref, samples, list(conv.fp16_keep_fp32))
    if "fp32" in conv.variants:
        save("fp32", models["fp32"], "ct.convert compute_precision=FLOAT32")
    need_fp16 = "fp16" in conv.variants or (conv.compressed_base == "fp16" and set(conv.variants) - {"fp32"})
    if need_fp16:
        models["fp16"] = to_coreml(module, example, "fp16", keep_fp32=tuple(policy["keep_fp32_op_types"]),
                                   capture=capture, **kwargs)
    if "fp16" in conv.variants:
        save("fp16", models["fp16"], "ct.convert FP16ComputePrecision(op_selector: raw-ms normalization "
             "and measured-overflow op types stay fp32)")
        policy["fp32_ops_in_fp16_variant"] = fp32_ops_of(out_dir / "fp16.mlpackage")
        policy["max_abs_diff_vs_torch"] = _fp16_measurement(module, example, models["fp16"], samples, kwargs,
                                                            capture)
    if not set(conv.variants) - {"fp32", "fp16"}:
        # no compressed variant: no base program to compress (and fp16 may not have been made)
        return {k: results[k] for k in VARIANTS if k in results}, policy
    base = models[conv.compressed_base]
    keep = select_layers(base, list(conv.palette_keep_int8))
    kept = [{k: layer[k] for k in ("layer", "op", "weight", "shape", "params")} | {"stored_as": "int8 per-tensor linear"}
            for layer in keep]
    kept_text = "".join(f"; {k['layer']} layer {k['op']} weights {k['weight']} ({k['params']} params) int8 per-tensor"
                        for k in kept)
    for name in ("int8", "palette6", "palette4"):
        if name in conv.variants:
            palette = name.startswith("palette")
            save(name, compress_weights(base, name, [k["weight"] for k in kept] if palette else ()),
                 f"ct.optimize.coreml {type(weight_config(name).global_config).__name__} "
                 f"weight_threshold=0 on the {conv.compressed_base} program" + (kept_text if palette else ""),
                 **({"higher_precision_weights": kept} if palette else {}))
    if "w8a8" in conv.variants:
        float_in = [{"layer": layer["layer"], "op": layer["op"], "input": layer["input"]}
                    for layer in select_layers(base, list(conv.w8a8_float_inputs))
                    if layer["op_type"] in _ACT_QUANTIZED]
        with tempfile.TemporaryDirectory(prefix="edgekit-calib-") as tmp:
            base_path = save_mlpackage(base, Path(tmp) / "base.mlpackage")
            stats = activation_ranges(base_path, samples)
        save("w8a8", compress_weights(quantize_activations(base, stats, [f["op"] for f in float_in]), "w8a8"),
             f"activation int8 quantize/dequantize (coremltools passes, {len(samples)} calibration windows, "
             "edgekit reference evaluator) + int8 per-channel weights"
             + "".join(f"; {f['layer']} layer {f['op']} input activation float" for f in float_in),
             float_activation_inputs=float_in)
    return {k: results[k] for k in VARIANTS if k in results}, policy


def _fp16_measurement(module: Any, example: Any, fp16_model: Any, samples: list, kwargs: dict,
                      capture: Any = None) -> dict:
    """Max |Δ| vs torch on the calibration windows of the fp16 variant and of an all-fp16 program:
    how much keeping the raw-ms normalization in fp32 buys (probabilities or score points)."""
    full = to_coreml(module, example, "fp16-full", capture=capture, **kwargs)
    out = {}
    with torch.no_grad():
        ref = [module(torch.as_tensor(next(iter(s_.values())))).double().numpy().reshape(-1) for s_ in samples]
    with tempfile.TemporaryDirectory(prefix="edgekit-fp16-") as tmp:
        for name, model in (("fp16", fp16_model), ("fp16_all_ops", full)):
            ev = ReferenceEvaluator(save_mlpackage(model, Path(tmp) / f"{name}.mlpackage"))
            worst = 0.0
            for sample, r in zip(samples, ref):
                got = ev.run(sample)
                value = got.get("classLabel_probs", got.get(kwargs.get("output_name", ""), None))
                worst = max(worst, float(np.max(np.abs(np.asarray(value, np.float64).reshape(-1) - r))))
            out[name] = worst
    return out


def training_windows(cfg: Any, model_dir: Path) -> np.ndarray:
    """Windows (W, T) ms of the training subjects (``data/windows.npz`` + ``train/split.json``)."""
    layout = ModelLayout(Path(model_dir))
    windows = layout.windows
    if not windows.is_file():
        raise EdgekitError(f"{windows}: training windows not found (needed to calibrate fp16/W8A8); run data")
    with np.load(windows, allow_pickle=False) as z:
        X, subjects = z["X"], z["subject"]
    split = layout.split
    if split.is_file():
        train_ids = json.loads(split.read_text(encoding="utf-8")).get("train")
        if train_ids:
            X = X[np.isin(subjects, np.asarray(train_ids))]
    if len(X) == 0:
        raise EdgekitError(f"{windows}: no training windows to calibrate with")
    return X
