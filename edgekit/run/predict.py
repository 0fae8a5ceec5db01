"""Run a built model on recordings: ``edgekit predict`` (and the model part of ``edgekit forecast``).

The inputs are made by the data layer's own functions with the model config's ``[data]`` settings
(clean, bounds, artifact limit, stride), so a recording is seen exactly as training saw it:

- strain classifier: :func:`edgekit.data.signal.windows.beat_windows` of the cleaned beats, ``(K, N)``
  RR ms; the output is the probability of each of ``STRAIN_LABELS`` and the top label;
- fatigue forecaster: :func:`edgekit.data.signal.windows.hourly_series` of the cleaned beats' hourly
  RMSSD, ``(K, 24)`` ms; the output is ``fatigue_score`` 0-100 for the next 24 h and its zone.

The model is the torch checkpoint (``build/<model>/train/model.pt``, variant ``torch``) or a Core
ML variant (``build/<model>/coreml/<variant>.mlpackage``) run through edgekit's reference evaluator
of the saved ML program (:class:`edgekit.verify.ReferenceEvaluator`: Linux has no Core ML runtime).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from datetime import datetime, timezone
import json

import numpy as np

from edgekit.data.clock import utc_offset_seconds  # noqa: F401  (re-exported: edgekit.run.predict.utc_offset_seconds)
from edgekit.core.errors import EdgekitError
from edgekit.tasks import TaskSpec, task_for
from edgekit.tasks.base import model_batch, program_run
from edgekit.data.signal.clean import clean
from edgekit.verify.records import read_parity_record

TORCH = "torch"


@dataclass
class Runner:
    """A loaded model: ``run(X)`` with ``X`` (K, T) float RR or RMSSD ms -> (K, C) or (K,).
    ``meta``: the checkpoint's metadata (training data, input presence), {} when it is absent;
    ``model_dir``: ``build/<model>/``."""

    name: str
    model_type: str
    variant: str
    _fn: object
    meta: dict = field(default_factory=dict)
    model_dir: Path | None = None

    @property
    def task(self) -> TaskSpec:
        return task_for(self.model_type)

    @property
    def labels(self) -> list[str]:
        return self.task.labels({})

    def run(self, X: np.ndarray) -> np.ndarray:
        return self._fn(np.asarray(X, np.float32))  # type: ignore[operator]


def _not_built(what: Path, cfg, build_dir: Path) -> EdgekitError:
    """The one line for a model that is not in ``build_dir``: how to build it, or where to look."""
    return EdgekitError(f"{what}: not found: {cfg.name} is not built in {build_dir}/; a model built with 'edgekit "
                        f"build --out DIR' is found with --build DIR, else build it: edgekit build --config {cfg.path}"
                        + (f" --out {build_dir}" if Path(build_dir) != Path("build") else ""))


def load_runner(cfg, build_dir: Path, variant: str | None = None) -> Runner:
    """The model of ``cfg`` from ``build_dir/<model>/``: torch checkpoint or a Core ML variant."""
    variant = variant or TORCH
    build_dir = Path(build_dir)
    model_dir = build_dir / cfg.name
    task = task_for(cfg.model.type)
    ckpt = model_dir / "train" / "model.pt"
    if variant == TORCH:
        # deferred: torch (and edgekit.models.checkpoint, which imports it) is heavy, and the torch-free verbs must not load it
        import torch

        from edgekit.models.checkpoint import load_checkpoint

        if not ckpt.is_file():
            raise _not_built(ckpt, cfg, build_dir)
        model, meta = load_checkpoint(ckpt, task_for)
        if meta.get("model_type") != cfg.model.type:
            raise EdgekitError(f"{model_dir / 'train' / 'model.pt'}: a {meta.get('model_type')} checkpoint, but "
                               f"{cfg.path} is a {cfg.model.type} config")

        def fn(X):
            with torch.no_grad():
                out = model(torch.from_numpy(model_batch(X))).double().numpy()
            return task.torch_outputs(out)

        return Runner(cfg.name, cfg.model.type, variant, fn, meta, model_dir)
    if variant not in cfg.convert.variants:
        raise EdgekitError(f"--variant {variant!r}: not a variant of {cfg.name}; expected torch or one of "
                           f"{', '.join(cfg.convert.variants)}")
    package = model_dir / "coreml" / f"{variant}.mlpackage"
    if not package.is_dir():
        if not model_dir.is_dir():
            raise _not_built(package, cfg, build_dir)
        raise EdgekitError(f"{package}: not built; run 'edgekit convert --config {cfg.path}' first")
    # deferred: the reference evaluator imports scipy.special (about 0.4 s); the torch variant and every
    # other verb ('edgekit --help' included, through cli.run) never need it
    from edgekit.verify import ReferenceEvaluator

    ev = ReferenceEvaluator(package)
    length = task.input_length(cfg.model.params)

    def fn_ml(X):
        rows = [program_run(ev, task, np.asarray(x, np.float32), length) for x in X]
        return task.torch_outputs(np.asarray(rows, np.float64).reshape(len(X), -1))

    meta = {}
    if ckpt.is_file():
        # deferred: edgekit.models.checkpoint imports torch, which the torch-free verbs (hrv, data) must not load
        from edgekit.models.checkpoint import load_checkpoint

        meta = load_checkpoint(ckpt, task_for)[1]
    return Runner(cfg.name, cfg.model.type, variant, fn_ml, meta, model_dir)


def _read_json(path: Path) -> dict | None:
    try:
        out = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return out if isinstance(out, dict) else None


def model_warnings(runner: Runner) -> list[str]:
    """What a user must know about the model itself: trained on SYNTHETIC data; a Core ML variant
    that failed its parity gate or was never verified (``verify/parity.json``)."""
    out = []
    synthetic = runner.meta.get("synthetic_data")
    if synthetic is None and runner.model_dir is not None:
        synthetic = (_read_json(runner.model_dir / "data" / "summary.json") or {}).get("synthetic")
    if synthetic:
        out.append(f"{runner.name} was trained on SYNTHETIC data (simulated RR, no real people): its answers "
                   f"demonstrate the pipeline and are not a health assessment")
    if runner.variant != TORCH and runner.model_dir is not None:
        try:
            entry = read_parity_record(runner.model_dir).variants.get(runner.variant)
        except EdgekitError:  # missing or unreadable: not verified
            entry = None
        if entry is None:
            out.append(f"variant {runner.variant} of {runner.name} has not been verified (no entry in "
                       f"{runner.model_dir / 'verify' / 'parity.json'}; run 'edgekit verify'): its answers are "
                       f"unchecked against the torch model")
        elif not entry.passed:
            failed = [c.name for c in entry.checks if not c.passed]
            out.append(f"variant {runner.variant} of {runner.name} FAILED its parity gate"
                       + (f" ({', '.join(failed)})" if failed else "") + ": it is not packaged, and its answers may "
                       "differ from the verified model's")
    return out


def _presence_from_windows(runner: Runner) -> dict | None:
    """The input presence of a checkpoint trained before the train stage recorded it: from the data
    stage's ``windows.npz`` (all of its examples), once per runner; None without one."""
    if runner.task.presence_unit is None or runner.model_dir is None:
        return None
    if "_presence" not in runner.meta:
        path = runner.model_dir / "data" / "windows.npz"
        pres = None
        if path.is_file():
            try:
                with np.load(path, allow_pickle=False) as npz:
                    X = npz["X"]
            except (OSError, ValueError, KeyError):
                X = None
            if X is not None and X.ndim == 2 and len(X):
                p = runner.task.presence(X)
                pres = {"unit": runner.task.presence_unit, "length": int(X.shape[1]),
                        "p10": float(np.percentile(p, 10)), "median": float(np.median(p))}
        runner.meta["_presence"] = pres
    return runner.meta["_presence"]


def input_warnings(runner: Runner, X: np.ndarray, info: list[dict], where: str) -> list[str]:
    """Inputs with less data than most training inputs had (fewer present beats or hours than the
    10th percentile the train stage recorded, checkpoint ``input_presence``): one line per input file."""
    pres = runner.meta.get("input_presence") or _presence_from_windows(runner)
    if not pres or not len(X):
        return []
    n = runner.task.presence(X)
    low = np.flatnonzero(n < pres["p10"])
    if not len(low):
        return []
    unit, length = pres["unit"], pres["length"]
    median = f"median {pres['median']:g}"
    if not runner.task.role.one_input_per_subject:
        return [f"{where}: {len(low)} of {len(X)} input(s) hold fewer than {pres['p10']:g} {unit} (the fewest 10 % "
                f"of the training inputs; {median} of {length}): their answers rest on little data"]
    return [f"{where}: subject {info[i].get('subject', '?')!r}: the input holds {int(n[i])} of {length} {unit} "
            f"(90 % of the training inputs had at least {pres['p10']:g}, {median}): the answer rests on little data"
            for i in low.tolist()]


def model_inputs(cfg, table, where: str, utc_offset: str | None = None) -> tuple[np.ndarray, list[dict]]:
    """(X (K, T) float32, one dict per input: subject and time span) of a raw RR table, made as
    the data stage makes training windows. One-line :class:`InputError` when none can be made.

    ``utc_offset`` (``+05:30``, ``-7``, ``UTC`` or an IANA zone such as ``Asia/Kolkata``) places the
    wearer's clock hours for a task whose input is made of them (``TaskSpec.clock_hours``); a zone's
    offset is the one in force at the table's last beat. Default UTC."""
    d = cfg.data
    task = task_for(cfg.model.type)
    res = clean(table, d.clean, d.min_rr_ms, d.max_rr_ms)
    if not task.clock_hours:
        return task.model_inputs(cfg, res.table, where)
    last = float(table.time_s.max()) if len(table) else 0.0
    return task.model_inputs(cfg, res.table, where, utc_offset_s=utc_offset_seconds(utc_offset, last))


def outputs(runner: Runner, X: np.ndarray, info: list[dict]) -> list[dict]:
    """Run the model; one record per input: label + probabilities, or fatigue_score + zone."""
    y = runner.run(X)
    rows = []
    for k, base in enumerate(info):
        rows.append(dict(base, **runner.task.prediction(y[k], runner.labels)))
    return rows


def fmt_time(t: float) -> str:
    """ISO 8601 UTC for epoch times, else seconds since the recording's start."""
    if t > 1e8:
        return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{t:.1f}s"
