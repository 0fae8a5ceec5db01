"""Training throughput of each bundled model against what this CPU does on plain GEMMs (``make bench``).

Section ``train`` of :mod:`benchmarks.bench`. For each model of the build it times the training step
of the generic loop (forward, loss, backward, AdamW step) on the model's own windows at its config's
``train.batch_size`` and ``train.threads``, and reads every matrix product of one step (forward and
backward: ``mm``, ``addmm``, ``bmm``, recorded with a ``TorchDispatchMode``; the LSTM is recorded
with oneDNN off so that its per-step products are visible). Rows, each side by side in one process:

* achieved matmul FLOP/s of the training step ÷ a plain ``torch.mm``/``bmm`` of exactly the same shapes
  at the same thread count (the machine's peak for those shapes), timed in alternating rounds (medians):
  how close the step runs to the speed of the machine; the large-GEMM peak (2048³) is in the note;
* the train stage's samples/s in the build (``n_windows.train × epochs_run ÷`` its stamp's seconds)
  ÷ the step's samples/s: what the loop costs beyond the steps (validation every epoch, augmentation,
  metrics, the checkpoint).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

MATMULS = ("mm", "addmm", "bmm", "baddbmm")


def _flops(op: str, args: tuple) -> tuple[int, tuple] | None:
    """(FLOPs, shape key) of one matrix-product call, or None for any other op."""
    if op == "mm":
        a, b = args[0], args[1]
        return 2 * a.shape[0] * a.shape[1] * b.shape[1], ("mm", a.shape[0], a.shape[1], b.shape[1])
    if op == "addmm":
        a, b = args[1], args[2]
        return 2 * a.shape[0] * a.shape[1] * b.shape[1], ("mm", a.shape[0], a.shape[1], b.shape[1])
    if op in ("bmm", "baddbmm"):
        a, b = (args[0], args[1]) if op == "bmm" else (args[1], args[2])
        n, m, k = a.shape
        return 2 * n * m * k * b.shape[2], ("bmm", n, m, k, b.shape[2])
    return None


def matmul_shapes(step) -> dict[tuple, int]:
    """Calls per matrix-product shape in one call of ``step()`` (forward + backward)."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    seen: dict[tuple, int] = {}

    class Record(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            hit = _flops(func.overloadpacket.__name__, args)
            if hit is not None:
                seen[hit[1]] = seen.get(hit[1], 0) + 1
            return func(*args, **(kwargs or {}))

    with torch.backends.mkldnn.flags(enabled=False), Record():
        step()
    return seen


def shape_flops(key: tuple) -> int:
    return 2 * int(np.prod(key[1:]))


def gemm_calls(shapes: dict[tuple, int]):
    """A callable that runs a plain ``torch.mm``/``bmm`` for every product of ``shapes`` (as many calls
    per shape as one training step makes)."""
    import torch

    work = []
    for key, calls in shapes.items():
        if key[0] == "mm":
            work.append((torch.mm, torch.randn(key[1], key[2]), torch.randn(key[2], key[3]), calls))
        else:
            work.append((torch.bmm, torch.randn(key[1], key[2], key[3]), torch.randn(key[1], key[3], key[4]), calls))

    def run() -> None:
        for fn, a, b, calls in work:
            for _ in range(calls):
                fn(a, b)
    return run


def gemm_seconds(shapes: dict[tuple, int], rounds: int) -> float:
    """Median seconds of :func:`gemm_calls` (the plain GEMMs of one step)."""
    run = gemm_calls(shapes)
    run()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def peak_gflops(threads: int, n: int = 2048) -> float:
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t0 = time.perf_counter()
    for _ in range(3):
        a @ b
    return 3 * 2 * n ** 3 / (time.perf_counter() - t0) / 1e9


def model_throughput(build: Path, model: str, quick: bool) -> dict[str, Any] | None:
    """Step throughput and matmul efficiency of one model's training, or None without a build."""
    import torch

    from edgekit.config.load import load_config
    from edgekit.tasks import task_for
    from edgekit.tasks.base import model_batch
    from edgekit.core.errors import EdgekitError
    from edgekit.train.fit import load_windows, seed_everything
    from edgekit.train.records import read_train_record

    model_dir = build / model
    try:
        cfg = load_config(Path(json.loads((model_dir / ".config.json").read_text())["config"]))
    except (OSError, ValueError, KeyError):
        return None
    windows = model_dir / "data" / "windows.npz"
    if not windows.is_file():
        return None
    arrays = load_windows(windows)
    t = cfg.train
    task = task_for(cfg.model.type)
    seed_everything(t.seed, t.threads)
    net = task.build_model(cfg.model.params)
    labels = [str(s) for s in arrays["label_names"]] if "label_names" in arrays else task.labels({})
    bs = t.batch_size
    steps = 4 if quick else 16
    X, y = arrays["X"][: bs * steps].astype(np.float32), arrays["y"][: bs * steps]
    steps = max(1, len(X) // bs)
    net.set_normalization(**task.normalization(X, y))
    loss_fn, target = task.loss(y, labels, t.class_weighting)
    Xt = torch.from_numpy(model_batch(X))
    opt = torch.optim.AdamW(net.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    net.train()

    def step(i: int = 0) -> None:
        sl = slice(i * bs, (i + 1) * bs)
        loss = task.batch_loss(loss_fn, net(Xt[sl]), target[sl])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()

    shapes = matmul_shapes(step)
    flops = sum(shape_flops(k) * n for k, n in shapes.items())
    gemms = gemm_calls(shapes)
    step(0)
    gemms()
    times, gemm_times = [], []
    for _ in range(3 if quick else 7):  # interleaved rounds: load drifts affect both alike
        t0 = time.perf_counter()
        for i in range(steps):
            step(i)
        times.append((time.perf_counter() - t0) / steps)
        t0 = time.perf_counter()
        gemms()
        gemm_times.append(time.perf_counter() - t0)
    step_s, gemm_s = float(np.median(times)), float(np.median(gemm_times))
    out = {"model": model, "threads": t.threads, "batch_size": bs, "step_s": step_s, "samples_per_s": bs / step_s,
           "matmul_flops_per_step": flops, "achieved_gflops": flops / step_s / 1e9,
           "gemm_same_shapes_s": gemm_s, "gemm_same_shapes_gflops": flops / gemm_s / 1e9 if gemm_s else None,
           "distinct_shapes": len(shapes)}
    try:
        record = read_train_record(model_dir)
        stamp = json.loads((model_dir / ".stamps" / "train.json").read_text())
        out["build_samples_per_s"] = record.n_windows["train"] * record.epochs_run / float(stamp["seconds"])
        out["build_train_s"] = float(stamp["seconds"])
    except (EdgekitError, OSError, ValueError, KeyError, TypeError, ZeroDivisionError):
        pass
    return out


def train_section(build: Path, models: list[str], quick: bool) -> tuple[list[dict], list[str], dict]:
    from benchmarks.bench import _row

    rows, notes, detail = [], [], {}
    for model in models:
        res = model_throughput(build, model, quick)
        if res is None:
            notes.append(f"train: {model}: no config record or windows in {build / model}; skipped")
            continue
        res["peak_gflops_2048"] = peak_gflops(res["threads"])
        detail[model] = res
        rows.append(_row("train", f"{model}: step matmul GFLOP/s ÷ plain GEMM of the same shapes", "training step",
                         res["achieved_gflops"], "torch.mm/bmm", res["gemm_same_shapes_gflops"], "GFLOP/s",
                         note=f"{res['samples_per_s']:.0f} samples/s, batch {res['batch_size']}, {res['threads']} "
                              f"thread(s); 2048³ GEMM peak {res['peak_gflops_2048']:.0f} GFLOP/s"))
        if "build_samples_per_s" in res:
            rows.append(_row("train", f"{model}: train stage samples/s in the build ÷ step samples/s", "train stage",
                             res["build_samples_per_s"], "steps alone", res["samples_per_s"], "samples/s",
                             note=f"train stage {res['build_train_s']:.0f} s (stamp; includes validation, metrics)"))
    return rows, notes, detail
