"""A realistic fake build directory for the report and bench tests.

Stage files follow the schemas the stages write (train/metrics.json, history.json, model.pt,
data/summary.json, coreml/convert.json, verify/parity.json, .stamps/); the .mlpackage directories hold
placeholder bytes of plausible sizes (the report reads their byte counts, never their contents).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

VARIANTS = ("fp32", "fp16", "int8", "palette6", "palette4", "w8a8")
BITS = {"fp32": 32, "fp16": 16, "int8": 8, "w8a8": 8, "palette6": 6, "palette4": 4}

TRANSFORMER = """
[model]
name = "hrv_transformer"
type = "strain_transformer"
description = "Autonomic strain from 32 consecutive RR intervals (ms)"
[model.params]
window_beats = 32
patch_beats = 4
d_model = 16
n_heads = 2
n_layers = 1
ff_dim = 32
[data]
subjects = 12
"""

LSTM = """
[model]
name = "hrv_lstm"
type = "fatigue_lstm"
description = "Fatigue score for the next 24 h"
[model.params]
sequence_hours = 24
hidden_size = 8
n_layers = 1
[data]
subjects = 12
"""

PACKAGE = """
[package]
name = "HRVKit"
[[package.models]]
config = "configs/hrv_transformer.toml"
max_kb = {tf_kb}
[[package.models]]
config = "configs/hrv_lstm.toml"
max_kb = {lstm_kb}
"""


def _write(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2), encoding="utf-8")


def _mlpackage(path: Path, weight_bytes: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    data = path / "Data" / "com.apple.CoreML"
    (data / "weights").mkdir(parents=True, exist_ok=True)
    (data / "model.mlmodel").write_bytes(rng.bytes(3000 + seed * 7))
    (data / "weights" / "weight.bin").write_bytes(rng.bytes(weight_bytes))
    (path / "Manifest.json").write_text(json.dumps({"fileFormatVersion": "1.0.0", "rootModelIdentifier": "x"}))


def make_model(root: Path, name: str, *, failing: tuple[str, ...] = ("palette4",), with_stamps: bool = True,
               backend: str = "reference-evaluator") -> None:
    """build/<name>/ with every stage file of a finished verify stage."""
    import torch

    from edgekit.config.load import load_config
    from edgekit.core.fileio import sha256_file, sha256_tree
    from edgekit.models.checkpoint import save_checkpoint
    from edgekit.tasks import task_for

    cfg = load_config(root / "configs" / f"{name}.toml")
    classifier = cfg.model.type == "strain_transformer"
    md = root / "build" / name
    torch.manual_seed(0)
    model = task_for(cfg.model.type).build_model(cfg.model.params)
    params = int(sum(p.numel() for p in model.parameters()))
    labels = ["healthy", "strained", "burnout_risk"]
    save_checkpoint(md / "train" / "model.pt", model, {
        "model_type": cfg.model.type, "model_config": model.config.to_dict(),
        "label_names": labels if classifier else [], "normalization": {}, "data_fingerprint": "ab" * 32,
        "edgekit_version": "0.1.0", "seed": 0, "model_name": name})
    if classifier:
        test = {"n": 300, "accuracy": 0.8133333333333334, "macro_f1": 0.7921, "labels": labels,
                "recall": {}, "precision": {}, "confusion": [[90, 8, 2], [12, 80, 8], [3, 23, 74]]}
        history = [{"epoch": e, "train_loss": 1.1 - 0.05 * e, "lr": 1e-3, "val_macro_f1": 0.5 + 0.02 * e,
                    "val_accuracy": 0.55 + 0.02 * e} for e in range(1, 13)]
    else:
        test = {"n": 240, "mae": 6.4321, "rmse": 8.1, "zone_accuracy": 0.71, "baseline_mae": 7.9,
                "baseline": "persistence (tomorrow = today)", "mae_vs_baseline": 0.81}
        history = [{"epoch": e, "train_loss": 5.0 - 0.2 * e, "lr": 1e-3, "val_mae": 9.0 - 0.2 * e}
                   for e in range(1, 11)]
    metrics = {"model": name, "model_type": cfg.model.type, "split": "test (held-out subjects)",
               "n_subjects": {"train": 8, "val": 2, "test": 2}, "n_windows": {"train": 900, "val": 200, "test": 300},
               "best_epoch": 9, "epochs_run": len(history), "params": params, "test": test, "val": test,
               "synthetic_data": True, "data_source": "synthetic", "warnings": []}
    metrics.update({k: v for k, v in test.items() if k in ("accuracy", "macro_f1", "mae", "baseline_mae")})
    _write(md / "train" / "metrics.json", metrics)
    _write(md / "train" / "history.json", {"model": name, "best_epoch": 9, "epochs": history})
    _write(md / "data" / "summary.json", {"source": "synthetic", "synthetic": True, "n_beats_in": 100000,
                                          "n_beats_clean": 99000, "n_windows": 1400,
                                          "note": "SYNTHETIC cohort (simulated RR, no real subjects)"})
    conv_variants = {}
    par_variants = {}
    for i, v in enumerate(VARIANTS):
        pkg = md / "coreml" / f"{v}.mlpackage"
        _mlpackage(pkg, params * BITS[v] // 8 + 64 * 6 + (256 if "palette" in v else 0), seed=i)
        total = sum(f.stat().st_size for f in pkg.rglob("*") if f.is_file())
        sha = sha256_tree(pkg)
        conv_variants[v] = {"path": f"coreml/{v}.mlpackage", "method": f"method of {v}", "bytes_total": total,
                            "weight_bytes": (pkg / "Data/com.apple.CoreML/weights/weight.bin").stat().st_size,
                            "params": params + 3, "params_compressed": params - 40 if BITS[v] < 16 else 0,
                            "bits_per_param": round(BITS[v] + 0.37, 3), "sha256": sha}
        ok = v not in failing
        diff = {"fp32": 3.1e-7, "fp16": 2.2e-3, "int8": 8.5e-3}.get(v, 2.5e-2 if ok else 0.21)

        def check(cname, figure, value, tol, direction="<="):
            passed = value <= tol if direction == "<=" else value >= tol
            return {"name": cname, "figure": figure, "value": value, "tolerance": tol, "comparison": direction,
                    "backend": backend, "passed": passed}

        if classifier:
            drop = 0.0033 * i if ok else 0.021
            figures = {"max_abs_diff": diff, "accuracy": 0.8133333333333334 - drop,
                       "accuracy_fp32_torch": 0.8133333333333334, "accuracy_drop": drop,
                       "macro_f1": 0.7921 - 1.5 * drop, "macro_f1_fp32_torch": 0.7921, "macro_f1_drop": 1.5 * drop,
                       "top1_agreement_test": 1.0 - i * 0.001, "test_windows": 300,
                       "top1_agreement": 1.0 - i * 0.001 if ok else 0.93, "top1_agreement_fixtures": 1.0}
            checks = [check("label_matches_probabilities", "fraction of fixtures whose classLabel is the argmax",
                            1.0, 1.0, ">="),
                      check("accuracy_drop", "test-set accuracy drop vs fp32 torch (fraction)", drop, 0.01)]
            if v == "fp32":
                checks.insert(0, check("fp32_probabilities", "max |Δp| Core ML vs torch (fixtures)", diff, 1e-4))
            elif v == "fp16":
                checks.insert(0, check("fp16_probabilities", "max |Δp| Core ML vs torch (fixtures)", diff, 1e-2))
            else:
                checks.append(check("top1_agreement", "top-1 agreement with fp32 torch", figures["top1_agreement"],
                                    0.99, ">="))
            onnx_diff = 1.1e-7
        else:
            drift = 0.05 * i if ok else 1.7
            figures = {"max_abs_diff": diff * 10, "mae": 6.4321 + drift / 2, "mae_fp32_torch": 6.4321,
                       "mae_change": drift / 2, "mae_drift_test": drift, "test_windows": 240, "mae_drift": drift}
            checks = [check("mae_drift", "MAE drift: mean |Δscore| vs fp32 torch, points (test set)", drift, 1.0)]
            if v == "fp32":
                checks.insert(0, check("fp32_score", "max |Δscore| Core ML vs torch, points", diff * 10, 0.5))
            onnx_diff = 2.0e-5
        entry = {"path": f"coreml/{v}.mlpackage", "backend": backend, "sha256": sha, "bytes": total,
                 "figures": figures, "checks": checks, "passed": all(c["passed"] for c in checks),
                 "per_fixture_max_abs_diff": {f"case{k:02d}": figures["max_abs_diff"] * k / 10 for k in range(1, 11)}}
        entry.update({k: val for k, val in figures.items()
                      if k in ("max_abs_diff", "accuracy", "accuracy_drop", "macro_f1", "top1_agreement", "mae",
                               "mae_drift")})
        par_variants[v] = entry
    ckpt_sha = sha256_file(md / "train" / "model.pt")
    _write(md / "coreml" / "convert.json", {"model": name, "model_type": cfg.model.type, "variants": conv_variants,
                                            "minimum_deployment_target": "iOS17", "checkpoint_sha256": ckpt_sha,
                                            "fp16_policy": None,
                                            "onnx": {"path": "onnx/model.onnx", "bytes": 1000, "opset": 17,
                                                     "sha256": "cd" * 32}})
    onnx_check = {"name": "onnx", "figure": "max |Δ| onnxruntime vs torch (fixtures)", "value": onnx_diff,
                  "tolerance": 1e-5, "comparison": "<=", "backend": "onnxruntime", "passed": True}
    failures = [f"{v} failed" for v, e in par_variants.items() if not e["passed"]]
    _write(md / "verify" / "parity.json", {
        "model": name, "model_type": cfg.model.type, "fixtures": f"{name}.json", "fixture_count": 10,
        "test_set": "train/test_set.npz", "test_windows": 300 if classifier else 240, "checkpoint_sha256": ckpt_sha,
        "backends": ["torch", "onnxruntime", backend],
        "onnx": {"sha256": "cd" * 32, "checks": [onnx_check], "passed": True, "max_abs_diff": onnx_diff},
        "variants": par_variants, "passed": not failures, "failures": failures})
    if with_stamps:
        for k, stage in enumerate(("data", "train", "convert", "verify")):
            _write(md / ".stamps" / f"{stage}.json", {"stage": stage, "fingerprint": "f", "outputs": "o",
                                                     "seconds": 1.5 + 10 * k})


def make_build(root: Path, *, tf_kb: float = 256, lstm_kb: float = 128, **kw) -> Path:
    """A project root with configs/, edgekit.toml and build/ of both default models."""
    (root / "configs").mkdir(parents=True, exist_ok=True)
    (root / "configs" / "hrv_transformer.toml").write_text(TRANSFORMER, encoding="utf-8")
    (root / "configs" / "hrv_lstm.toml").write_text(LSTM, encoding="utf-8")
    (root / "edgekit.toml").write_text(PACKAGE.format(tf_kb=tf_kb, lstm_kb=lstm_kb), encoding="utf-8")
    make_model(root, "hrv_transformer", **kw)
    make_model(root, "hrv_lstm", **kw)
    return root / "build"
