"""Orchestration: run stages in order, skipping those that are up to date.

A stage is up to date when its fingerprint — the edgekit source, the config sections it reads and
the bytes of its input files — equals the one recorded after its last successful run, and its
outputs are still the bytes it wrote. Records live in ``build/<model>/.stamps/<stage>.json``
together with the stage's wall and CPU time (read by the report and ``make bench``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
import tomllib
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

import edgekit
from edgekit.config.load import ModelConfig, ignored_keys, load_config
from edgekit.core.errors import EdgekitError, GateError
from edgekit.core.fileio import claim_build_dir, sha256_tree, write_json
from edgekit.core.log import get_logger
from edgekit.package import PackageConfig, load_package_config, run_package
from edgekit.tasks import task_for
from edgekit.verify.fixtures import fixtures_path

log = get_logger(__name__)

MODEL_STAGES = ("data", "train", "convert", "verify", "evaluate", "report")


@dataclass(frozen=True)
class StageSpec:
    sections: tuple[str, ...]  # config sections the stage reads
    inputs: tuple[str, ...]  # paths relative to build/<model>/, "fixtures:" (the parity fixtures) or
    # "package-config:" (the edgekit.toml the report reads for the size budget), "real-sets:" (the
    # folders of evaluate.real_sets), "calibration-sets:" (the folders of train.calibrate_on)
    outputs: tuple[str, ...]  # paths relative to build/<model>/


STAGES: dict[str, StageSpec] = {
    "data": StageSpec(("model", "data"), (), ("data",)),
    "train": StageSpec(("model", "data", "train"), ("data", "calibration-sets:"), ("train",)),
    "convert": StageSpec(("model", "data", "convert"), ("data", "train"), ("onnx", "coreml")),
    "verify": StageSpec(("model", "verify"), ("train", "onnx", "coreml", "fixtures:"), ("verify",)),
    "evaluate": StageSpec(("model", "data", "evaluate"), ("train", "real-sets:"), ("evaluate",)),
    "report": StageSpec(("model",), ("data", "train", "coreml", "verify", "evaluate", "person", "package-config:"),
                        ("report",)),  # person/: the last `edgekit evaluate --person`, when run
}


@functools.lru_cache(maxsize=1)
def _code_hash() -> str:
    """SHA-256 of edgekit's Python sources: a code change invalidates every stage (read once per process)."""
    h = hashlib.sha256(edgekit.__version__.encode())
    pkg = Path(edgekit.__file__).parent
    for f in sorted(pkg.rglob("*.py")):
        h.update(str(f.relative_to(pkg)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def _tree_hash(path: Path) -> str:
    return sha256_tree(path) if path.exists() else "missing"


def _file_hash(path: Path | Traversable) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"


def _stage_fingerprint(cfg: ModelConfig, stage: str, model_dir: Path, extra: dict) -> str:
    spec = STAGES[stage]
    parts = {
        "stage": stage,
        "code": _code_hash(),
        "config": cfg.section_dict(*spec.sections),
        "extra": {k: str(v) for k, v in sorted(extra.items()) if v is not None},
    }
    for rel in spec.inputs:
        if rel == "fixtures:":
            parts[rel] = _file_hash(fixtures_path(cfg))
        elif rel == "real-sets:":
            parts[rel] = [_tree_hash(p) for p in cfg.real_set_paths()]
        elif rel == "calibration-sets:":
            parts[rel] = [_tree_hash(p) for p in cfg.calibration_set_paths()]
        elif rel == "package-config:":
            parts[rel] = _tree_hash(cfg.path.resolve().parent.parent / "edgekit.toml")
        else:
            parts[rel] = _tree_hash(model_dir / rel)
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _outputs_hash(stage: str, model_dir: Path) -> str:
    return hashlib.sha256(
        "".join(_tree_hash(model_dir / rel) for rel in STAGES[stage].outputs).encode()
    ).hexdigest()


def _stamp_path(model_dir: Path, stage: str) -> Path:
    return model_dir / ".stamps" / f"{stage}.json"


def is_up_to_date(cfg: ModelConfig, stage: str, out: Path, **extra) -> bool:
    model_dir = out / cfg.name
    if stage == "data" and cfg.data.source == "influxdb":
        return False  # the data live in a server that changes under us: always read them again
    stamp = _stamp_path(model_dir, stage)
    if not stamp.is_file():
        return False
    try:
        rec = json.loads(stamp.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return rec.get("fingerprint") == _stage_fingerprint(cfg, stage, model_dir, extra) and rec.get(
        "outputs"
    ) == _outputs_hash(stage, model_dir)


def run_data_stage(cfg: ModelConfig, out: Path) -> dict:
    """The data stage of ``cfg`` with its task spec's examples (no stamps; :func:`run_stage` records them)."""
    from edgekit.data import pipeline

    return pipeline.run(cfg, out, task_for(cfg.model.type).examples(cfg))


def _run_train(cfg: ModelConfig, out: Path, init_from: Path | None = None, data: list[Path] | None = None,
               data_format: str | None = None) -> dict:
    if data:  # fine-tuning a population model on one person's files
        from edgekit.train.finetune import finetune

        return finetune(cfg, out, Path(init_from), data, data_format)
    from edgekit.train import fit as train

    return train.run(cfg, out, init_from=init_from)  # the person scenario: edgekit evaluate --person


def _stage_runner(stage: str):
    """The function that runs ``stage``: ``f(cfg, out, **extra) -> summary``."""
    import importlib

    if stage == "data":
        return run_data_stage
    if stage == "train":
        return _run_train
    return importlib.import_module({"convert": "edgekit.export.convert", "verify": "edgekit.verify",
                                    "evaluate": "edgekit.run.evaluate", "report": "edgekit.report"}[stage]).run


RESERVED_MODEL_NAMES = ("ios", "bench")  # build/<name>/ directories edgekit uses for other things
_OWNER_FILE = ".config.json"  # build/<model>/.config.json: the config file that owns this model directory


_WARNED: set[tuple[str, str]] = set()


def check_model_inputs(cfg: ModelConfig) -> None:
    """Everything about a model config that can fail before any stage runs: reserved names and
    unreadable data inputs (values are validated by :func:`edgekit.config.load.load_config`)."""
    if cfg.name in RESERVED_MODEL_NAMES:
        raise EdgekitError(f"{cfg.path}: model.name {cfg.name!r} is reserved for build/{cfg.name}/; rename it")
    if cfg.data.source == "files":
        written = cfg.raw_inputs if len(cfg.raw_inputs) == len(cfg.data.inputs) else cfg.data.inputs
        for raw, resolved in zip(written, cfg.data.inputs):
            p = Path(resolved)  # relative paths: from the config file's folder (edgekit.config.load.load_config)
            if not p.is_file():
                here = (f"; {raw} exists in the working directory: write it as a path from {cfg.path.parent}/ or an "
                        f"absolute path") if Path(raw).is_file() else ""
                base = "" if Path(raw).is_absolute() else \
                    f" (relative paths are read from the config file's folder, {cfg.path.parent}/{here})"
                raise EdgekitError(f"{cfg.path}: data.inputs: {raw}: file not found (or not a regular file){base}")
            try:
                with open(p, "rb") as fh:
                    fh.read(1)
            except OSError as exc:
                raise EdgekitError(f"{cfg.path}: data.inputs: {raw}: cannot read ({exc.strerror})") from None
    for key in ignored_keys(cfg):
        if (str(cfg.path), key) not in _WARNED:  # once per process, not once per stage
            _WARNED.add((str(cfg.path), key))
            log.warning(f"{cfg.path}: {key} does not apply to data.source = {cfg.data.source!r}: ignored")


def check_model_dir_owner(cfg: ModelConfig, out: Path) -> None:
    """Refuse to write build/<model>/ when another config file that still declares the same
    model.name built it (a copied config that kept ``name``): it would overwrite that model."""
    owner = Path(out) / cfg.name / _OWNER_FILE
    if not owner.is_file():
        return
    try:
        recorded = Path(json.loads(owner.read_text(encoding="utf-8"))["config"])
    except (OSError, ValueError, KeyError, TypeError):
        return
    mine = cfg.path.resolve()
    if recorded == mine or not recorded.is_file():
        return
    try:
        other = load_config(recorded)
    except EdgekitError:
        return
    if other.name == cfg.name:
        raise EdgekitError(
            f"{cfg.path}: model.name {cfg.name!r} is already built in {Path(out) / cfg.name} from {recorded}; "
            f"give this config its own model.name (or remove that directory)")


def _personal_dirs(cfg: ModelConfig, out: Path, kwargs: dict) -> tuple[Path, ...]:
    """The directories a fine-tuning run writes (``build/<model>_personal/``), else none."""
    if not kwargs.get("data"):
        return ()
    personal = Path(out) / f"{cfg.name}_personal"
    return (personal, personal / "data", personal / "train")


_BOOKKEEPING = {_OWNER_FILE, ".stamps", ".edgekit-build"}


def _remove_if_bookkeeping_only(made: list[Path]) -> None:
    """After a failed stage: remove the directories this run created that hold nothing but
    edgekit's bookkeeping (owner record, empty stamps, the build mark), deepest first, so a refusal
    leaves no empty ``build/<model>/`` behind. Anything else in them stays."""
    import shutil

    for d in sorted(made, key=lambda p: len(p.parts), reverse=True):
        try:
            entries = list(d.iterdir()) if d.is_dir() else None
        except OSError:
            continue
        if entries is None or any(e.name not in _BOOKKEEPING for e in entries):
            continue
        stamps = d / ".stamps"
        if stamps.is_dir() and any(stamps.iterdir()):
            continue
        shutil.rmtree(d, ignore_errors=True)


def _record_owner(cfg: ModelConfig, out: Path) -> None:
    write_json(Path(out) / cfg.name / _OWNER_FILE, {"config": str(cfg.path.resolve()), "model": cfg.name})


def _cpu_seconds() -> float:
    """CPU seconds (user + system) of this process's threads and of its finished child processes: on a
    loaded machine a stage's CPU time says what it costs where its wall time does not."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_stage(cfg: ModelConfig, stage: str, out: Path, *, skip_if_up_to_date: bool = False, **extra) -> dict:
    """Run one stage of one model; record its fingerprint and wall time on success."""
    if stage not in STAGES:
        raise EdgekitError(f"unknown stage {stage!r}")
    check_model_inputs(cfg)
    check_model_dir_owner(cfg, out)
    kwargs = {k: v for k, v in extra.items() if v is not None}
    made = [d for d in (Path(out), Path(out) / cfg.name) + _personal_dirs(cfg, out, kwargs) if not d.exists()]
    out = claim_build_dir(out)
    model_dir = Path(out) / cfg.name
    _record_owner(cfg, out)
    if skip_if_up_to_date and is_up_to_date(cfg, stage, Path(out), **extra):
        log.info(f"[{cfg.name}] {stage}: up to date, skipped")
        return {"skipped": True}
    stamp = _stamp_path(model_dir, stage)
    if not kwargs:  # a fine-tuning run writes elsewhere and leaves the config's own stamp alone
        stamp.unlink(missing_ok=True)
    log.info(f"[{cfg.name}] {stage} …")
    start, cpu_start = time.perf_counter(), _cpu_seconds()
    try:
        summary = _stage_runner(stage)(cfg, Path(out), **kwargs) or {}
    except BaseException:
        _remove_if_bookkeeping_only(made)
        raise
    seconds = time.perf_counter() - start
    cpu_seconds = _cpu_seconds() - cpu_start
    if int(os.environ.get("RANK", "0")) != 0:
        # under torchrun only rank 0 writes outputs; another rank hashing train/ while rank 0 renames
        # its temporary files into place raced ("…metrics.json…tmp: no such file")
        return summary
    if not kwargs:  # fine-tuning runs are not stamped as the config's own stage
        write_json(
            stamp,
            {
                "stage": stage,
                "fingerprint": _stage_fingerprint(cfg, stage, model_dir, extra),
                "outputs": _outputs_hash(stage, model_dir),
                "seconds": round(seconds, 3),
                "cpu_seconds": round(cpu_seconds, 3),
            },
        )
    log.info(f"[{cfg.name}] {stage}: done in {seconds:.1f} s")
    return summary


def is_package_config(path: Path) -> bool:
    try:
        return "package" in tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EdgekitError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise EdgekitError(f"{path}: is a directory; --config needs a TOML file") from None
    except OSError as exc:
        raise EdgekitError(f"{path}: cannot read config ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise EdgekitError(f"{path}: not valid TOML: {exc}") from None


def build_model(cfg: ModelConfig, out: Path, *, force: bool = False,
                stages: tuple[str, ...] = MODEL_STAGES) -> GateError | None:
    """Run a model's stages (all of them by default). A failed parity gate does not stop the report
    (which shows it); the failure is returned so the caller exits non-zero after everything else has run."""
    failure = None
    for stage in stages:
        try:
            run_stage(cfg, stage, out, skip_if_up_to_date=not force)
        except GateError as exc:
            if stage != "verify":
                raise
            log.warning(f"[{cfg.name}] verify: {exc}")
            failure = exc
    return failure


def run_package_stage(package_config: Path, out: Path, package: PackageConfig | None = None,
                      configs: list[ModelConfig] | None = None) -> dict:
    """The package stage (``package``/``configs``: edgekit.toml and its models' configs, when loaded)."""
    out = claim_build_dir(out)
    start = time.perf_counter()
    cpu_start = _cpu_seconds()
    summary = run_package(package_config, Path(out), package=package, configs=configs) or {}
    seconds = time.perf_counter() - start
    write_json(Path(out) / "ios" / ".package-stamp.json",
               {"seconds": round(seconds, 3), "cpu_seconds": round(_cpu_seconds() - cpu_start, 3)})
    log.info(f"[package] done in {seconds:.1f} s")
    return summary


def build_jobs(requested: int | None, cfgs: list[ModelConfig]) -> int:
    """Models built side by side: ``requested`` (``--jobs``), else as many as the CPU cores hold
    trainings of ``train.threads`` threads each (``cores // threads``: one on a 2-core machine, where
    two 2-thread trainings side by side were measured 0.97× the serial wall time); at most one per model."""
    if requested is not None and requested < 1:
        raise EdgekitError(f"--jobs must be >= 1, got {requested}")
    if requested is None:
        threads = max([c.train.threads for c in cfgs] + [1])
        requested = (os.cpu_count() or 1) // threads
    return max(1, min(requested, len(cfgs)))


def _init_worker(verbosity: int | None) -> None:
    """A build worker prints as its parent does, without progress bars (several would overwrite each other)."""
    os.environ["TQDM_DISABLE"] = "1"
    if verbosity is not None:
        from edgekit.core.log import configure

        configure(verbosity)


def training_work(cfg: ModelConfig, out: Path) -> float:
    """A proxy of a model's training work, for scheduling: bytes of its examples (``data/windows.npz``)
    × ``train.epochs``; 0 when the data stage has not run."""
    windows = Path(out) / cfg.name / "data" / "windows.npz"
    return windows.stat().st_size * cfg.train.epochs if windows.is_file() else 0.0


def build_models(cfgs: list[ModelConfig], out: Path, *, force: bool = False, jobs: int = 1,
                 stages: tuple[str, ...] = MODEL_STAGES) -> list[GateError]:
    """Every model's stages; with ``jobs`` > 1 that many models at a time in worker processes.

    A model's outputs do not depend on ``jobs``: each trains with its own ``train.threads`` and seed,
    in its own ``build/<model>/``. Workers are spawned, not forked: a fork of a process that has run
    torch inherits an OpenMP thread pool that no longer exists and hangs in its first parallel region.
    Side by side, every model's data stage runs first; then the models start in order of their
    :func:`training_work`, largest first, so the longest one does not wait behind a short one (on
    2 cores, the activity model started after the slots model would finish its 4 min ~25 s later).
    The first error is raised after the running models finish."""
    if jobs <= 1 or len(cfgs) <= 1:
        return [f for cfg in cfgs if (f := build_model(cfg, out, force=force, stages=stages)) is not None]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    log.info(f"building {len(cfgs)} models, {jobs} at a time")
    from edgekit.core.log import current_verbosity

    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_init_worker, initargs=(current_verbosity(),)) as pool:
        phases = [stages]
        if "data" in stages and len(stages) > 1:
            phases = [("data",), tuple(s for s in stages if s != "data")]
        results, first_error = [], None
        for i, phase in enumerate(phases):
            order = cfgs if i == 0 else sorted(cfgs, key=lambda c: -training_work(c, out))
            futures = [pool.submit(build_model, cfg, out, force=force, stages=phase) for cfg in order]
            for fut in futures:
                try:
                    results.append(fut.result())
                except Exception as exc:  # noqa: BLE001 - re-raised below, after the other models finish
                    first_error = first_error or exc
            if first_error is not None:
                raise first_error
    return [f for f in results if f is not None]


def build(config: Path, out: Path, *, force: bool = False, jobs: int | None = None) -> None:
    """``edgekit build``: every model of an edgekit.toml and its package, or one model config."""
    config = Path(config)
    made = [] if Path(out).exists() else [Path(out)]
    try:
        _build(config, out, force=force, jobs=jobs)
    except BaseException:
        _remove_if_bookkeeping_only(made)  # a refusal before any output leaves no empty build/
        raise


def _build(config: Path, out: Path, *, force: bool, jobs: int | None) -> None:
    if is_package_config(config):
        package = load_package_config(config)  # validate everything before any work
        cfgs = [load_config(m.config) for m in package.models]
        check_models(cfgs, config, out)
        failures = build_models(cfgs, out, force=force, jobs=build_jobs(jobs, cfgs))
        run_package_stage(config, out, package, cfgs)  # bundles only variants that passed every gate; no re-parse
        _write_summary(cfgs, out)
    else:
        cfg = load_config(config)
        check_models([cfg], config, out)
        failures = [f for f in [build_model(cfg, out, force=force)] if f is not None]
    if failures:
        raise GateError("; ".join(str(f) for f in failures))


def check_models(cfgs: list[ModelConfig], source: Path, out: Path) -> None:
    """Before any stage: distinct model names (each owns build/<name>/), readable inputs, no clash
    with a directory another config built, and a usable build directory."""
    seen: dict[str, Path] = {}
    for cfg in cfgs:
        if cfg.name in seen:
            raise EdgekitError(f"{source}: model name {cfg.name!r} is declared by both {seen[cfg.name]} and "
                               f"{cfg.path}; each model needs its own model.name (its build/<name>/ directory)")
        seen[cfg.name] = cfg.path
        check_model_inputs(cfg)
        check_model_dir_owner(cfg, out)
    claim_build_dir(out)


def _write_summary(cfgs: list[ModelConfig], out: Path) -> None:
    try:
        from edgekit.report import write_build_summary
    except ImportError:
        return
    write_build_summary(cfgs, Path(out))
