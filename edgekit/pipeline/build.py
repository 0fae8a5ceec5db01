"""Orchestration: run stages in order, skipping those that are up to date (:mod:`edgekit.pipeline.stamps`),
models side by side, then the Swift package over them.

Stage modules (train, convert, verify, evaluate, report, package) are imported when their stage runs, on
purpose: they bring torch, coremltools or matplotlib, and ``edgekit data windows`` runs without them.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import resource
import time
import tomllib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from edgekit.config.load import ModelConfig, load_config
from edgekit.config.package import PackageConfig
from edgekit.core.errors import EdgekitError, GateError
from edgekit.core.fileio import claim_build_dir, write_json
from edgekit.core.layout import ModelLayout
from edgekit.core.log import configure, current_verbosity, get_logger
from edgekit.data import pipeline
from edgekit.pipeline.owner import (_record_owner, _remove_if_bookkeeping_only, check_model_dir_owner,
                                    check_model_inputs, personal_dirs)
from edgekit.pipeline.stamps import (STAGES, StageStamp, _outputs_hash, _stage_fingerprint, _stamp_path,
                                     is_up_to_date, write_stamp)
from edgekit.tasks import task_for

log = get_logger(__name__)

MODEL_STAGES = ("data", "train", "convert", "verify", "evaluate", "report")


def run_data_stage(cfg: ModelConfig, out: Path) -> dict:
    """The data stage of ``cfg`` with its task spec's examples (no stamps; :func:`run_stage` records them)."""
    return pipeline.run(cfg, out, task_for(cfg.model.type).examples(cfg))


def _run_train(cfg: ModelConfig, out: Path, init_from: Path | None = None, data: list[Path] | None = None,
               data_format: str | None = None) -> dict:
    if data:  # fine-tuning a population model on one person's files
        from edgekit.train.finetune import finetune  # noqa: PLC0415  (torch: see the module docstring)

        return finetune(cfg, out, Path(init_from), data, data_format)
    from edgekit.train import fit as train  # noqa: PLC0415  (torch: see the module docstring)

    return train.run(cfg, out, init_from=init_from)  # the person scenario: edgekit evaluate --person


def _stage_runner(stage: str):
    """The function that runs ``stage``: ``f(cfg, out, **extra) -> summary``."""
    if stage == "data":
        return run_data_stage
    if stage == "train":
        return _run_train
    return importlib.import_module({"convert": "edgekit.export.convert", "verify": "edgekit.verify",
                                    "evaluate": "edgekit.run.evaluate", "report": "edgekit.report"}[stage]).run


def _cpu_seconds() -> float:
    """CPU seconds (user + system) of this process's threads and of its finished child processes: on a
    loaded machine a stage's CPU time says what it costs where its wall time does not."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_stage(cfg: ModelConfig, stage: str, out: Path, *, skip_if_up_to_date: bool = False, **extra) -> dict:
    """Run one stage of one model; record its fingerprint and wall time on success."""
    if stage not in STAGES:
        raise EdgekitError(f"unknown stage {stage!r}")
    check_model_inputs(cfg)
    check_model_dir_owner(cfg, out)
    kwargs = {k: v for k, v in extra.items() if v is not None}
    made = [d for d in (Path(out), Path(out) / cfg.name) + personal_dirs(cfg, out, kwargs) if not d.exists()]
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
        write_stamp(model_dir, StageStamp(stage, _stage_fingerprint(cfg, stage, model_dir, extra),
                                          _outputs_hash(stage, model_dir), seconds, cpu_seconds))
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
    from edgekit.package import run_package  # noqa: PLC0415  (torch: see the module docstring)

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
        configure(verbosity)


def training_work(cfg: ModelConfig, out: Path) -> float:
    """A proxy of a model's training work, for scheduling: bytes of its examples (``data/windows.npz``)
    × ``train.epochs``; 0 when the data stage has not run."""
    windows = ModelLayout.of(out, cfg.name).windows
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
    log.info(f"building {len(cfgs)} models, {jobs} at a time")
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
        from edgekit.package import load_package_config  # noqa: PLC0415  (torch: see the module docstring)

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
        from edgekit.report import write_build_summary  # noqa: PLC0415  (matplotlib: see the module docstring)
    except ImportError:
        return
    write_build_summary(cfgs, Path(out))
