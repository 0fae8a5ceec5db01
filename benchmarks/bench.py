"""Side-by-side benchmarks: ``python -m benchmarks.bench --out build/bench`` (``make bench``).

Benchmarks, not tests: every figure is a ratio of two things run side by side in the same process and
the same run (interleaved rounds, medians), so machine speed cancels out. Writes
``<out>/bench.json`` and prints a table last.

Sections
--------
* ``data``: RR cleaning + HRV features on 100,000 beats vs NeuroKit2 / hrv-analysis, and the Apple
  Health export reader vs a naive whole-tree parse — measured by :mod:`benchmarks.bench_data` (the data
  layer's own functions); skipped with a note when that module is absent.
* ``inference``: per-window latency on onnxruntime CPU (1 thread) of the fp32 ONNX vs torch eager
  (1 thread); per variant, the Core ML program's op count and MACs (parsed from the saved spec) vs fp32,
  and edgekit's reference evaluator time per window vs the fp32 program.
* ``size``: each variant's bytes on disk vs the floor (parameters × bits ÷ 8).
* ``train``: each model's training step against a plain GEMM of the same shapes (achieved ÷ peak FLOP/s)
  and the train stage's samples/s against the step's — :mod:`benchmarks.bench_train`.
* ``build``: ``make ios-package`` wall (and CPU) time by model and stage (``.stamps/*.json``,
  ``ios/.package-stamp.json``), side by side with a reference build (``--reference-build``, e.g. main's),
  else against the 240 s goal.
* ``influx``: InfluxDB push throughput vs the ``influxdb`` 5.3.2 client's ``write_points`` on a throwaway
  ``influxd``, and peak memory of a 1 M-beat push (:mod:`benchmarks.bench_influx`).
* ``realism``: the simulator against real people (issue 21): the domain classifier's ROC AUC telling simulated
  one-minute readings of each recording profile from real all-day readings (``realdata/hrv``), holdout and tune
  persons, next to the measure's floor (real tune vs real holdout persons); goal <= 0.70.
* ``scale``: streamed vs whole-table ingest of an Apple export and of a Polar RR log (MB/s, peak MB),
  data-stage peak memory per cohort size (chunked vs whole cohort), training next to a competing
  CPU-bound process (loaded vs quiet) — :mod:`benchmarks.bench_scale`; ``EDGEKIT_BENCH_LARGE=1`` adds
  the 1.2 GB export, a 400 MB Polar log and 1,000 subjects.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from edgekit.core.errors import EdgekitError
from edgekit.core.fileio import write_json

NOMINAL_BITS = {"fp32": 32, "fp16": 16, "int8": 8, "w8a8": 8, "palette6": 6, "palette4": 4}
STAGES = ("data", "train", "convert", "verify", "evaluate", "report")


# ---------------------------------------------------------------------------------------------
# side-by-side timing


def side_by_side(fns: dict[str, Callable[[], Any]], *, rounds: int = 7, min_seconds: float = 0.05,
                 max_calls: int = 10_000) -> dict[str, dict[str, float]]:
    """Time several callables in interleaved rounds; per callable: median seconds per call over rounds.

    Each callable is warmed up, then its calls per round are chosen so one round takes about
    ``min_seconds``; the rounds alternate between callables (A B C A B C …) so drift affects all alike.
    """
    calls: dict[str, int] = {}
    for name, fn in fns.items():
        fn()  # warm-up (lazy init, caches)
        t0 = time.perf_counter()
        fn()
        one = max(time.perf_counter() - t0, 1e-7)
        calls[name] = int(min(max_calls, max(1, min_seconds / one)))
    samples: dict[str, list[float]] = {n: [] for n in fns}
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            for name, fn in fns.items():
                n = calls[name]
                t0 = time.perf_counter()
                for _ in range(n):
                    fn()
                samples[name].append((time.perf_counter() - t0) / n)
    finally:
        if gc_was:
            gc.enable()
    return {n: {"median_s": statistics.median(v), "min_s": min(v), "calls_per_round": calls[n], "rounds": rounds}
            for n, v in samples.items()}


# ---------------------------------------------------------------------------------------------
# Core ML program: op count and MACs from the saved spec


def _dims(value_type: Any) -> list[int] | None:
    if value_type.WhichOneof("type") != "tensorType":
        return None
    dims = []
    for d in value_type.tensorType.dimensions:
        if d.WhichOneof("dimension") != "constant":
            return None
        dims.append(int(d.constant.size))
    return dims


def _const_scalar(op: Any) -> Any:
    """The scalar value of a ``const`` op (bools/ints used as op parameters), else None."""
    val = op.attributes.get("val") if hasattr(op, "attributes") else None
    if val is None or val.WhichOneof("value") != "immediateValue":
        return None
    t = val.immediateValue.tensor
    for kind in ("bools", "ints", "floats", "longInts"):
        vals = getattr(t, kind).values
        if len(vals) == 1:
            return vals[0]
    return None


def _prod(xs) -> int:
    out = 1
    for x in xs:
        out *= int(x)
    return out


def program_stats(mlpackage: str | Path) -> dict[str, Any]:
    """Op counts and multiply-accumulates of an ML program's ``main`` function, from its spec.

    MACs per op: ``linear`` out × in-features; ``matmul`` out × K; ``conv`` out × (Cin/groups × kernel);
    ``lstm``/``gru``/``rnn`` T × B × (elements of every weight matrix); ``scaled_dot_product_attention``
    2 × B × L × S × E. Element-wise and normalization ops count as 0 MACs.
    """
    from edgekit.export.runtime import import_coremltools

    ct = import_coremltools()
    path = Path(mlpackage)
    try:
        spec = ct.models.MLModel(str(path), skip_model_load=True).get_spec()
    except Exception as exc:  # coremltools raises many types for unreadable packages
        raise EdgekitError(f"{path}: cannot read the Core ML spec: {str(exc).splitlines()[0] if str(exc) else exc}") from None
    if spec.WhichOneof("Type") != "mlProgram":
        raise EdgekitError(f"{path}: not an ML program")
    fn = spec.mlProgram.functions["main"]
    block = fn.block_specializations[fn.opset]
    shapes: dict[str, list[int] | None] = {i.name: _dims(i.type) for i in fn.inputs}
    consts: dict[str, Any] = {}
    by_type: dict[str, int] = {}
    macs_by_type: dict[str, int] = {}
    unknown: set[str] = set()

    def arg_shape(op: Any, param: str) -> list[int] | None:
        if param not in op.inputs or not op.inputs[param].arguments:
            return None
        b = op.inputs[param].arguments[0]
        if b.WhichOneof("binding") == "name":
            return shapes.get(b.name)
        return _dims(b.value.type)

    def arg_scalar(op: Any, param: str) -> Any:
        if param not in op.inputs or not op.inputs[param].arguments:
            return None
        b = op.inputs[param].arguments[0]
        return consts.get(b.name) if b.WhichOneof("binding") == "name" else None

    def walk(ops: Any) -> None:
        for op in ops:
            by_type[op.type] = by_type.get(op.type, 0) + 1
            for o in op.outputs:
                shapes[o.name] = _dims(o.type)
            if op.type == "const" and op.outputs:
                consts[op.outputs[0].name] = _const_scalar(op)
            macs = _op_macs(op, arg_shape, arg_scalar, shapes)
            if macs is None:
                unknown.add(op.type)
            elif macs:
                macs_by_type[op.type] = macs_by_type.get(op.type, 0) + macs
            for b in op.blocks:
                for i in b.inputs:
                    shapes[i.name] = _dims(i.type)
                walk(b.operations)

    walk(block.operations)
    total = sum(by_type.values())
    const = by_type.get("const", 0)
    decompress = sum(n for t, n in by_type.items() if t.startswith("constexpr_"))
    return {
        "ops_total": total,
        "ops_compute": total - const - decompress,
        "ops_const": const,
        "ops_decompression": decompress,
        "ops_quantize": sum(by_type.get(t, 0) for t in ("quantize", "dequantize")),
        "op_types": dict(sorted(by_type.items())),
        "macs": sum(macs_by_type.values()),
        "macs_by_type": dict(sorted(macs_by_type.items())),
        "macs_unknown_shape_ops": sorted(unknown),
        "opset": fn.opset,
    }




def _op_macs(op: Any, arg_shape, arg_scalar, shapes) -> int | None:
    """MACs of one op, 0 for ops without, None when a MAC op's shapes are not static."""
    t = op.type
    out = _dims(op.outputs[0].type) if op.outputs else None
    if t == "linear":
        w = arg_shape(op, "weight")
        return _prod(out) * w[1] if out and w else None
    if t == "matmul":
        x = arg_shape(op, "x")
        if not out or not x:
            return None
        k = x[-2] if arg_scalar(op, "transpose_x") and len(x) >= 2 else x[-1]
        return _prod(out) * k
    if t in ("conv", "conv_transpose"):
        w = arg_shape(op, "weight")
        if not out or not w:
            return None
        if t == "conv":
            return _prod(out) * _prod(w[1:])
        x = arg_shape(op, "x")
        return _prod(x) * _prod(w[1:]) if x else None
    if t in ("lstm", "gru", "rnn"):
        x = arg_shape(op, "x")
        if not x:
            return None
        weights = [arg_shape(op, p) for p in op.inputs if p.startswith("weight")]
        if any(w is None for w in weights):
            return None
        return x[0] * x[1] * sum(_prod(w) for w in weights)
    if t == "scaled_dot_product_attention":
        q, k = arg_shape(op, "query"), arg_shape(op, "key")
        if not q or not k:
            return None
        return 2 * _prod(q[:-1]) * k[-2] * q[-1]
    if t == "einsum":
        return None
    return 0


# ---------------------------------------------------------------------------------------------
# sections


def _row(section: str, name: str, a: str, a_value: float | None, b: str, b_value: float | None, unit: str,
         note: str = "", ratio: float | None = None) -> dict[str, Any]:
    if ratio is None and a_value is not None and b_value:
        ratio = a_value / b_value
    return {"section": section, "name": name, "a": a, "a_value": a_value, "b": b, "b_value": b_value,
            "unit": unit, "ratio": ratio, "note": note}


def data_section(quick: bool) -> tuple[list[dict], list[str]]:
    """Rows from :mod:`benchmarks.bench_data` (the data layer's measurement functions)."""
    try:
        import benchmarks.bench_data as bd
    except ImportError as exc:
        if getattr(exc, "name", None) in ("benchmarks.bench_data", None) or "bench_data" in str(exc):
            return [], ["data: benchmarks.bench_data is not in this tree; RR cleaning/features and Apple Health "
                        "parse benchmarks not run"]
        raise
    funcs = getattr(bd, "BENCHMARKS", None)
    if funcs is None:
        funcs = {n[len("bench_"):]: getattr(bd, n) for n in sorted(dir(bd)) if n.startswith("bench_")
                 and callable(getattr(bd, n))}
    rows, notes = [], []
    for name, fn in dict(funcs).items():
        try:
            try:
                res = fn(quick=quick)
            except TypeError:
                res = fn()
        except Exception as exc:  # a benchmark failing must not hide the others
            notes.append(f"data/{name}: failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            continue
        rows += _data_rows(name, res)
    return rows, notes


def scale_section(quick: bool) -> tuple[list[dict], list[str]]:
    """Rows from :mod:`benchmarks.bench_scale` (memory against input size, training under load)."""
    from benchmarks import bench_scale

    rows, notes = [], []
    for name, fn in bench_scale.BENCHMARKS.items():
        try:
            res = fn(quick=quick)
        except Exception as exc:  # a benchmark failing must not hide the others
            notes.append(f"scale/{name}: failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            continue
        for r in res["rows"]:
            rows.append(_row("scale", r["name"], r["a"], r["a_value"], r["b"], r["b_value"], r["unit"],
                             r.get("note", "")))
    return rows, notes


def _data_rows(name: str, res: Any) -> list[dict]:
    """Normalise a bench_data result dict into table rows (keeps the raw dict in ``raw``)."""
    if isinstance(res, list):
        return [r for i, item in enumerate(res) for r in _data_rows(f"{name}[{i}]", item)]
    if not isinstance(res, dict):
        return [_row("data", name, "edgekit", None, "baseline", None, "", note=f"unexpected result {res!r:.80}")]
    if name == "cleaning" and isinstance(res.get("edgekit"), dict):
        return _cleaning_rows(res)
    if isinstance(res.get("rows"), list):
        out = []
        for item in res["rows"]:
            out += _data_rows(str(item.get("name", name)) if isinstance(item, dict) else name, item)
        return out
    a = res.get("a", res.get("edgekit", res.get("ours", "edgekit")))
    b = res.get("b", res.get("baseline", res.get("theirs", "baseline")))
    av = res.get("a_value", res.get("edgekit_s", res.get("ours_s", res.get("edgekit_seconds"))))
    bv = res.get("b_value", res.get("baseline_s", res.get("theirs_s", res.get("baseline_seconds"))))
    ratio = res.get("ratio", res.get("speedup"))
    row = _row("data", str(res.get("name", name)), str(a), av if isinstance(av, (int, float)) else None, str(b),
               bv if isinstance(bv, (int, float)) else None, str(res.get("unit", "s")), str(res.get("note", "")),
               ratio if isinstance(ratio, (int, float)) else None)
    row["raw"] = res
    return [row]


def _cleaning_rows(res: dict) -> list[dict]:
    """Rows of ``bench_data.bench_cleaning``: edgekit vs NeuroKit2 (Kubios) and hrv-analysis (Malik),
    same beats, same injected artifacts; time ratio plus each tool's RMSSD error vs the clean truth."""
    ek = res["edgekit"]
    n = res.get("n_beats", 0)

    def quality(d: dict) -> str:
        text = f"RMSSD err {d['rmssd_err_pct']:+.2f} %"
        if "recall" in d:
            text += f", recall {100 * d['recall']:.1f} %, precision {100 * d['precision']:.1f} %"
        return text

    rows = []
    for key, label in (("neurokit2_kubios", "NeuroKit2 signal_fixpeaks (Kubios)"),
                       ("hrv_analysis_malik", "hrv-analysis (Malik) + features")):
        other = res.get(key)
        name = f"cleaning + features, {n:,} beats"
        if not isinstance(other, dict) or "seconds" not in other:
            reason = other.get("error", "not run") if isinstance(other, dict) else "not run"
            rows.append(_row("data", name, "edgekit", ek["seconds"], label, None, "s", note=f"baseline failed: {reason}"))
            continue
        row = _row("data", name, "edgekit", ek["seconds"], label, other["seconds"], "s",
                   note=f"edgekit {quality(ek)}; baseline {quality(other)}")
        row["raw"] = {"edgekit": ek, key: other}
        rows.append(row)
    return rows


def _windows(model_dir: Path, n: int, shape: tuple[int, int]) -> np.ndarray:
    """(n, T, C) held-out test windows (train/test_set.npz), else a smooth realistic RR series."""
    length, channels = shape
    p = model_dir / "train" / "test_set.npz"
    if p.is_file():
        with np.load(p, allow_pickle=False) as z:
            X = np.asarray(z["X"], np.float32)
        X = X.reshape(len(X), X.shape[1], -1)
        if len(X) and X.shape[1:] == (length, channels):
            return X[:n]
    rng = np.random.default_rng(0)
    return (800 + 40 * rng.standard_normal((n, length, channels))).astype(np.float32)


def inference_section(build: Path, models: list[str], quick: bool) -> tuple[list[dict], list[str], dict]:
    import onnxruntime as ort
    import torch

    from edgekit.models.checkpoint import load_checkpoint
    from edgekit.tasks import task_for

    rows, notes, detail = [], [], {}
    rounds = 3 if quick else 7
    torch.set_num_threads(1)
    for model in models:
        md = build / model
        module, meta = load_checkpoint(md / "train" / "model.pt", task_for)
        cfg = module.config
        task = task_for(meta.get("model_type"))
        _, length, channels = task.input_shape(cfg.to_dict())
        input_name = task.input_name
        X = _windows(md, 32, (length, channels))
        it = iter(range(1 << 62))

        def next_x() -> np.ndarray:
            return X[next(it) % len(X)].reshape(1, length, channels)

        fns: dict[str, Callable[[], Any]] = {}
        with torch.inference_mode():
            fns["torch fp32 (eager, 1 thread)"] = lambda: module(torch.from_numpy(next_x()))
            onnx_files = {"fp32": md / "onnx" / "model.onnx"}
            onnx_files.update({p.stem: p for p in sorted((md / "onnx").glob("*.onnx")) if p.stem in NOMINAL_BITS})
            for variant, path in onnx_files.items():
                if not path.is_file():
                    continue
                so = ort.SessionOptions()
                so.intra_op_num_threads = 1
                so.inter_op_num_threads = 1
                so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
                name = sess.get_inputs()[0].name
                fns[f"onnxruntime {variant} (1 thread)"] = (lambda s=sess, n=name: s.run(None, {n: next_x()}))
            timing = side_by_side(fns, rounds=rounds, min_seconds=0.05 if quick else 0.2)
        torch_s = timing["torch fp32 (eager, 1 thread)"]["median_s"]
        ort_fp32 = timing.get("onnxruntime fp32 (1 thread)", {}).get("median_s")
        if ort_fp32 is None:
            notes.append(f"{model}: onnx/model.onnx missing; onnxruntime not measured")
        else:
            rows.append(_row("inference", f"{model} per window", "onnxruntime fp32", ort_fp32 * 1e6,
                             "torch fp32 eager", torch_s * 1e6, "µs"))
        for key, t in timing.items():
            if key.startswith("onnxruntime ") and not key.startswith("onnxruntime fp32") and ort_fp32:
                rows.append(_row("inference", f"{model} per window", key.split(" (")[0], t["median_s"] * 1e6,
                                 "onnxruntime fp32", ort_fp32 * 1e6, "µs"))
        detail[model] = {"timing": timing, "windows": int(len(X)), "window_length": int(length)}

        # Core ML programs: op counts and MACs (from the spec), reference evaluator time per window
        variants = sorted((p.stem for p in (md / "coreml").glob("*.mlpackage")),
                          key=lambda v: list(NOMINAL_BITS).index(v) if v in NOMINAL_BITS else 99)
        stats = {v: program_stats(md / "coreml" / f"{v}.mlpackage") for v in variants}
        detail[model]["programs"] = stats
        ref = stats.get("fp32")
        missing_onnx = [v for v in variants if v != "fp32" and v not in onnx_files]
        for v in variants:
            s = stats[v]
            if ref:
                mac_note = (f"MACs {s['macs']:,}" + (" = fp32" if s["macs"] == ref["macs"]
                                                     else f" ({s['macs'] / ref['macs']:.3g}× fp32)" if ref["macs"] else ""))
                if s["macs_unknown_shape_ops"]:
                    mac_note += " (not counted: " + ", ".join(s["macs_unknown_shape_ops"]) + ")"
                rows.append(_row("inference", f"{model} {v} Core ML program ops", v, s["ops_compute"], "fp32",
                                 ref["ops_compute"], "ops",
                                 note=f"{mac_note}; +{s['ops_decompression']} weight-decompression, "
                                      f"{s['ops_quantize']} (de)quantize ops"))
        if missing_onnx:
            notes.append(f"{model}: no ONNX of {', '.join(missing_onnx)} (quantized variants exist only as Core ML); "
                         "their cost is given as program ops/MACs and reference-evaluator time")
        try:
            from edgekit.mil.evaluator import ReferenceEvaluator
        except ImportError:
            notes.append("reference evaluator not available; per-variant evaluator time not measured")
            continue
        evs = {}
        for v in variants:
            try:
                evs[v] = ReferenceEvaluator(md / "coreml" / f"{v}.mlpackage")
            except EdgekitError as exc:
                notes.append(f"{model} {v}: reference evaluator cannot load: {exc}")
        if "fp32" in evs:
            ev_timing = side_by_side({v: (lambda e=e: e.run({input_name: next_x()})) for v, e in evs.items()},
                                     rounds=rounds, min_seconds=0.05 if quick else 0.15, max_calls=200)
            detail[model]["reference_evaluator"] = ev_timing
            for v, t in ev_timing.items():
                if v != "fp32":
                    rows.append(_row("inference", f"{model} {v} ref. evaluator/window", v, t["median_s"] * 1e3, "fp32",
                                     ev_timing["fp32"]["median_s"] * 1e3, "ms",
                                     note="NumPy evaluator of the saved program (incl. weight decompression)"))
        # verify scores the held-out set through BatchedEvaluator: per window, batched vs one at a time
        from edgekit.mil.batched import BatchedEvaluator, batchable

        for v in ("fp16", "fp32"):
            ev = evs.get(v)
            if ev is None:
                continue
            if not batchable(ev):
                notes.append(f"{model} {v}: program has ops without a batch rule; verify scores it one window at a time")
                break
            batch = _windows(md, 64 if quick else 256, (length, channels)).reshape(-1, 1, length, channels)
            be = BatchedEvaluator(ev)
            t = side_by_side({"batched": lambda: be.run({input_name: batch}),
                              "single": lambda: [ev.run({input_name: x}) for x in batch]},
                             rounds=3 if quick else 5, min_seconds=0.0, max_calls=1)
            n = len(batch)
            detail[model]["batched_evaluator"] = {"variant": v, "windows": n, **t}
            rows.append(_row("inference", f"{model} {v} held-out scoring/window", "batched", t["batched"]["median_s"] / n * 1e3,
                             "one at a time", t["single"]["median_s"] / n * 1e3, "ms",
                             note=f"reference evaluator, {n} held-out windows per call (verify stage)"))
            break
    return rows, notes, detail


def size_section(build: Path, models: list[str]) -> list[dict]:
    from edgekit.models.checkpoint import load_checkpoint
    from edgekit.tasks import task_for

    rows = []
    for model in models:
        md = build / model
        module, _ = load_checkpoint(md / "train" / "model.pt", task_for)
        params = int(sum(p.numel() for p in module.parameters()))
        for pkg in sorted((md / "coreml").glob("*.mlpackage"),
                          key=lambda p: list(NOMINAL_BITS).index(p.stem) if p.stem in NOMINAL_BITS else 99):
            bits = NOMINAL_BITS.get(pkg.stem)
            if bits is None:
                continue
            total = sum(f.stat().st_size for f in pkg.rglob("*") if f.is_file())
            blob = pkg / "Data" / "com.apple.CoreML" / "weights" / "weight.bin"
            floor = params * bits / 8
            wb = blob.stat().st_size if blob.is_file() else 0
            rows.append(_row("size", f"{model} {pkg.stem} package", "bytes on disk", total,
                             f"floor {params:,} params × {bits} bit ÷ 8", floor, "B",
                             note=f"weight blob {wb:,} B = {wb / floor:.2f}× floor"))
    return rows


def realism_section(config: Path) -> tuple[list[dict], list[str]]:
    """How far the simulator is from real people (issue 21): the domain classifier's ROC AUC telling the
    SYNTHETIC one-minute readings of each recording profile from REAL all-day readings (realdata/hrv), on
    the holdout persons (never tuned on) and the tune persons, side by side with the floor of the measure:
    the same classifier telling real tune persons' readings from real holdout persons' (two real samples).
    Goal: AUC <= 0.70 (:mod:`edgekit.data.real.realism`)."""
    from edgekit.config.load import load_config
    from edgekit.data.real.hrv import load_readings
    from edgekit.data.real.manifest import load_set
    from edgekit.data.real.realism import REALISM_GOAL_AUC, domain_auc, feature_matrix
    from edgekit.package import load_package_config
    from edgekit.tasks import task_for
    from edgekit.tasks.hrv_real import is_rr_set, realism_figures

    cfgs = [load_config(m.config) for m in load_package_config(config).models] if config.is_file() else []
    cfg = next((c for c in cfgs if task_for(c.model.type).calibrates and c.real_set_paths()), None)
    if cfg is None:
        return [], ["realism: no bundled model with a real HRV set (evaluate.real_sets)"]
    rs = load_set(cfg.real_set_paths()[0])
    if not is_rr_set(rs):
        return [], [f"realism: {rs.name} is not an RR set"]
    d, mb = cfg.data, int(cfg.model.params.get("min_beats", 45))
    r = load_readings(rs, int(cfg.model.params.get("window_beats", 128)), mb, d.max_artifact_pct, d.clean,
                      d.min_rr_ms, d.max_rr_ms)
    rf = realism_figures(cfg, r, splits=True)
    day = r.where(profile="holter_day")
    F = feature_matrix(r.X[day])
    persons = [p for p, m in zip(r.person, day) if m]
    hold = np.array([s == "holdout" for s, m in zip(r.split, day) if m])
    floor = domain_auc(F[hold], [p for p, h in zip(persons, hold) if h], F[~hold],
                       [p for p, h in zip(persons, hold) if not h])["auc"]
    rows = []
    for prof, v in rf["profiles"].items():
        for split in ("holdout", "tune"):
            auc = v[split]["auc"]
            rows.append(_row("realism", f"simulated {prof} vs real all-day readings ({split} persons)",
                             "domain AUC", auc, "real vs real (tune vs holdout)", floor, "AUC",
                             f"goal <= {REALISM_GOAL_AUC:.2f}: {'met' if auc <= REALISM_GOAL_AUC else 'MISSED'}"))
    return rows, [f"realism: {len(persons)} real readings of {len(set(persons))} persons; {rf['skipped']} skipped"
                  if rf["skipped"] else f"realism: {len(persons)} real readings of {len(set(persons))} persons"]


BUILD_GOAL_S = 240.0  # issue 26: a quiet `make ios-package` after setup on the 2-core machine


def stage_times(build: Path, models: list[str]) -> dict[str, dict[str, float]]:
    """``{"<model> <stage>" | "package": {"seconds", "cpu_seconds"?}}`` from a build's stamps."""
    times: dict[str, dict[str, float]] = {}
    paths = [(f"{m} {st}", build / m / ".stamps" / f"{st}.json") for m in models for st in STAGES]
    for name, p in paths + [("package", build / "ios" / ".package-stamp.json")]:
        if p.is_file():
            try:
                rec = json.loads(p.read_text())
                times[name] = {k: float(rec[k]) for k in ("seconds", "cpu_seconds") if k in rec}
                times[name]["seconds"] = float(rec["seconds"])
            except (ValueError, KeyError, TypeError):
                raise EdgekitError(f"{p}: stage stamp without numeric 'seconds'") from None
    return times


def build_section(build: Path, models: list[str], reference: Path | None = None) -> tuple[list[dict], list[str]]:
    """Wall (and CPU) seconds per model and stage from the stamps; side by side with the same figures of
    ``reference`` (another build directory, e.g. main's) when given, else each stage's share of the total."""
    rows, notes = [], []
    times = stage_times(build, models)
    ref = stage_times(reference, models) if reference is not None else {}
    if reference is not None and not ref:
        notes.append(f"build: no stamps in the reference build {reference}")
    if "package" not in times:
        notes.append("build: ios/.package-stamp.json missing (package stage not run)")
    total = sum(v["seconds"] for v in times.values())
    ref_total = sum(v["seconds"] for v in ref.values()) or None
    for name, v in times.items():
        cpu = f"CPU {v['cpu_seconds']:.0f} s" if "cpu_seconds" in v else ""
        if ref:
            r = ref.get(name, {})
            rcpu = f"; reference CPU {r['cpu_seconds']:.0f} s" if "cpu_seconds" in r else ""
            rows.append(_row("build", f"ios-package: {name}", "this build", v["seconds"], "reference build",
                             r.get("seconds"), "s", note=cpu + rcpu))
        else:
            rows.append(_row("build", f"ios-package: {name}", "stage", v["seconds"], "all stages", total, "s", note=cpu))
    for model in models:
        mine = sum(v["seconds"] for k, v in times.items() if k.startswith(model + " "))
        theirs = sum(v["seconds"] for k, v in ref.items() if k.startswith(model + " ")) or None
        rows.append(_row("build", f"ios-package: {model} (all stages)", "this build", mine,
                         "reference build" if ref else "all stages", theirs if ref else total, "s"))
    rows.append(_row("build", "ios-package: total (sum of stage wall times)", "this build", total,
                     "reference build" if ref else f"goal {BUILD_GOAL_S:.0f} s", ref_total if ref else BUILD_GOAL_S, "s",
                     note="models built side by side (--jobs > 1) overlap: the wall time of the build is less"))
    return rows, notes


# ---------------------------------------------------------------------------------------------
# output


def _fmt(v: Any, unit: str) -> str:
    if v is None:
        return "—"
    if unit in ("B", "MAC", "ops") or (isinstance(v, int) and not isinstance(v, bool)):
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.3g}"


def table(rows: list[dict]) -> str:
    head = ("section", "benchmark", "A", "A value", "B (baseline)", "B value", "unit", "A/B", "note")
    body = [(r["section"], r["name"], r["a"], _fmt(r["a_value"], r["unit"]), r["b"], _fmt(r["b_value"], r["unit"]),
             r["unit"], "—" if r["ratio"] is None else f"{r['ratio']:.3g}×", r.get("note") or "") for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]

    def line(cells) -> str:
        return "  ".join(str(c).ljust(w) if i in (0, 1, 2, 4, 6, 8) else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [line(head), line("-" * w for w in widths)] + [line(b) for b in body]
    return "\n".join(out)


def _models(config: Path, build: Path) -> list[str]:
    if config.is_file():
        from edgekit.config.load import load_config
        from edgekit.package import load_package_config

        return [load_config(m.config).name for m in load_package_config(config).models]
    return sorted(p.parent.parent.name for p in build.glob("*/train/model.pt"))


def run(out: Path, build: Path, config: Path, *, quick: bool = False, sections: tuple[str, ...] = (),
        reference: Path | None = None) -> dict:
    start = time.perf_counter()
    models = [m for m in _models(config, build) if (build / m / "train" / "model.pt").is_file()]
    if not models and set(sections or ("inference",)) & {"inference", "size"}:
        raise EdgekitError(f"{build}: no trained models found; run 'make ios-package' first")
    wanted = sections or ("data", "inference", "size", "train", "build", "influx", "scale", "realism")
    rows: list[dict] = []
    notes: list[str] = []
    detail: dict[str, Any] = {}
    if "data" in wanted:
        r, n = data_section(quick)
        rows += r
        notes += n
    if "inference" in wanted:
        r, n, d = inference_section(build, models, quick)
        rows += r
        notes += n
        detail["inference"] = d
    if "size" in wanted:
        rows += size_section(build, models)
    if "train" in wanted:
        from benchmarks.bench_train import train_section

        r, n, d = train_section(build, models, quick)
        rows += r
        notes += n
        detail["train"] = d
    if "build" in wanted:
        r, n = build_section(build, models, reference)
        rows += r
        notes += n
    if "influx" in wanted:
        from benchmarks.bench_influx import influx_section

        r, n = influx_section(quick)
        rows += r
        notes += n
    if "scale" in wanted:
        r, n = scale_section(quick)
        rows += r
        notes += n
    if "realism" in wanted:
        r, n = realism_section(config)
        rows += r
        notes += n
    import platform

    import edgekit

    result = {
        "edgekit": edgekit.__version__,
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "models": models,
        "quick": quick,
        "rows": rows,
        "notes": notes,
        "detail": detail,
        "seconds": round(time.perf_counter() - start, 2),
    }
    write_json(Path(out) / "bench.json", result)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("build/bench"), help="output directory (bench.json)")
    p.add_argument("--build", type=Path, default=None, help="build directory (default: parent of --out)")
    p.add_argument("--config", type=Path, default=Path("edgekit.toml"), help="package config listing the models")
    p.add_argument("--quick", action="store_true", help="fewer rounds and smaller inputs (smoke runs)")
    p.add_argument("--section", action="append",
                   choices=("data", "inference", "size", "train", "build", "influx", "scale", "realism"),
                   help="run only these sections (repeatable; default: all)")
    p.add_argument("--reference-build", type=Path, default=None,
                   help="another build directory (e.g. main's) whose stage times the build section shows side by side "
                        "(default: none; each stage's share of the total and the 240 s goal)")
    args = p.parse_args(argv)
    build = args.build or args.out.parent
    try:
        res = run(args.out, build, args.config, quick=args.quick, sections=tuple(args.section or ()),
                  reference=args.reference_build)
    except EdgekitError as exc:
        print(f"edgekit: error: {exc}", file=sys.stderr)
        return 1
    for n in res["notes"]:
        print(f"note: {n}")
    print(f"\nedgekit bench ({res['seconds']:.0f} s, {res['platform']}, Python {res['python']}); "
          f"A/B = ratio of two things run side by side; JSON: {args.out / 'bench.json'}\n")
    print(table(res["rows"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
