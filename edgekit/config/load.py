"""Model build configuration: one TOML file per model (``configs/*.toml``).

Every section is a dataclass; unknown keys and wrongly typed values are refused with a one-line
``ConfigError`` naming the file and the key, before any work starts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekit.core.errors import EdgekitError
from edgekit.data.clock import utc_offset_seconds
from edgekit.data.influx.client import check_url
from edgekit.data.synth.cohort import RECORDINGS
from edgekit.tasks import TASKS

# Core ML variants edgekit can make (edgekit/export/quantize.py), in report order.
VARIANTS = ("fp32", "fp16", "int8", "palette6", "palette4", "w8a8")
from edgekit.models._config import check_type


class ConfigError(EdgekitError, ValueError):
    """A configuration file is missing, malformed or holds an invalid value."""


@dataclass
class ModelSection:
    name: str = ""
    type: str = ""
    description: str = ""
    params: dict = field(default_factory=dict)


@dataclass
class DataSection:
    """Where training data comes from and how it is cleaned and windowed."""

    source: str = "synthetic"  # "synthetic", "files" or "influxdb"
    inputs: list = field(default_factory=list)  # paths, when source = "files" (relative: to the config file's folder)
    format: str = "csv"  # reader format, when source = "files"
    subjects: int = 48  # synthetic: how many; influxdb: optionally a list of subject names
    days: int = 14  # synthetic: days per subject; influxdb: the last days of data read
    url: str = ""  # influxdb: server URL (credentials from the environment, docs/influxdb.md)
    database: str = ""  # influxdb: database name
    seed: int = 7
    clean: str = "kubios"  # kubios | malik | none
    min_rr_ms: float = 300.0
    max_rr_ms: float = 2000.0
    max_artifact_pct: float = 5.0
    window_stride: int = 64  # beats between window starts (strain classifier)
    series_stride_hours: int = 4  # hours between 24 h series ends (fatigue forecaster)
    workouts_per_runner: int = 40  # synthetic workout population: workouts per runner (subjects = runners)
    window_stride_steps: int = 90  # activity model: grid steps between window starts
    # activity model: 0 = training windows of window_steps steps every window_stride_steps; N = each
    # workout from its first step as one training example of N steps (longer workouts cut to N): the
    # model learns whole runs from their start, as predict reads them (state carried across windows)
    train_steps: int = 0
    context_minutes: float = 5.0  # activity model: minutes of observed HR given as calibration context
    hr_sampling: str = "by_year"  # synthetic workouts: dense | sparse | by_year (sparse to 2021) | mixed
    # synthetic: recording profiles assigned to subjects in turn (synth.RECORDINGS); ["spot"] = an
    # hourly 150 s spot measurement (the original cohort, bit for bit)
    profiles: list = field(default_factory=lambda: ["spot"])
    # files / influxdb, models whose input is local clock hours (hrv_slots): the wearers' UTC offset
    # (+05:30, -7, UTC or a zone name such as Europe/Berlin: its offset at each subject's newest beat)
    utc_offset: str = "UTC"


@dataclass
class TrainSection:
    seed: int = 0
    epochs: int = 40
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-2
    patience: int = 8
    threads: int = 2
    val_fraction: float = 0.2
    test_fraction: float = 0.2
    class_weighting: bool = True
    # strain_reading only: fraction of training windows cut, anew every epoch, to a random shorter
    # reading (docs/data.md "Reading windows", windows.crop_readings); 0 = off
    crop_fraction: float = 0.0
    # real sets (folders with a manifest.toml, relative to the config file) whose ``tune`` persons calibrate
    # the trained model (task spec ``calibrate``: a classifier's class offsets, docs/synthetic_cohort.md
    # "Calibration on real tune persons"); the ``holdout`` persons are never used; [] = no calibration
    calibrate_on: list = field(default_factory=list)


@dataclass
class ConvertSection:
    variants: list = field(default_factory=lambda: ["fp32", "fp16", "int8", "palette6", "palette4", "w8a8"])
    minimum_deployment_target: str = "iOS17"
    author: str = "edgekit"
    license: str = "Apache-2.0"
    version: str = "1.0.0"
    compressed_base: str = "fp16"  # program the weight-compressed variants start from: fp16 | fp32
    calibration_windows: int = 256  # training windows that calibrate W8A8 (and measure fp16) activation ranges
    calibrate_rr_bounds: bool = False  # also calibrate W8A8 on windows at data.min/max_rr_ms (measured: costs typical-window agreement)
    fp16_keep_fp32: list = field(default_factory=list)  # extra MIL op types kept fp32 in fp16 variants
    # weighted layers whose weights palette variants store int8 (per-tensor linear) instead of the palette:
    # "input" (first weighted layer: reads the normalized RR features), "output" (head) or MIL op/weight names
    palette_keep_int8: list = field(default_factory=lambda: ["input"])
    # weighted layers whose input activation W8A8 leaves float (same names as palette_keep_int8)
    w8a8_float_inputs: list = field(default_factory=lambda: ["input"])


@dataclass
class VerifySection:
    """Parity gates. Differences are max |Δ| over all fixture outputs."""

    fp32_coreml_tol: float = 1e-4
    fp32_onnx_tol: float = 1e-5
    fp16_tol: float = 1e-2
    min_top1_agreement: float = 0.99
    max_accuracy_drop: float = 0.01
    fp32_score_tol: float = 0.5
    max_mae_drift: float = 1.0
    workers: int = 0  # processes evaluating variants side by side (0: one per CPU core); figures do not depend on it


@dataclass
class EvaluateSection:
    """Real recordings the ``evaluate`` stage runs the trained model on (``realdata/<set>/``)."""

    # folders of real sets (each with a manifest.toml), relative to the config file's directory
    real_sets: list = field(default_factory=list)


SECTIONS: dict[str, type] = {
    "model": ModelSection,
    "data": DataSection,
    "train": TrainSection,
    "convert": ConvertSection,
    "verify": VerifySection,
    "evaluate": EvaluateSection,
}


@dataclass
class ModelConfig:
    """A whole model build: ``configs/<model>.toml``."""

    path: Path
    model: ModelSection
    data: DataSection
    train: TrainSection
    convert: ConvertSection
    verify: VerifySection
    evaluate: EvaluateSection = field(default_factory=EvaluateSection)
    # keys written in the file, per section (the rest are defaults): for the "does not apply" warnings
    given: dict = field(default_factory=dict)
    # data.inputs as written in the file (data.inputs holds them resolved against the config's folder)
    raw_inputs: list = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.model.name

    def real_set_paths(self) -> list[Path]:
        """``evaluate.real_sets`` resolved against the config file's directory."""
        return [(self.path.parent / p).resolve() for p in self.evaluate.real_sets]

    def calibration_set_paths(self) -> list[Path]:
        """``train.calibrate_on`` resolved against the config file's directory."""
        return [(self.path.parent / p).resolve() for p in self.train.calibrate_on]

    def section_dict(self, *names: str) -> dict:
        return {n: dataclasses.asdict(getattr(self, n)) for n in names}

    def fingerprint(self, *names: str) -> str:
        """SHA-256 of the named sections (all when none given), for up-to-date checks."""
        names = names or tuple(SECTIONS)
        blob = json.dumps(self.section_dict(*names), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


def _coerce(section: str, cls: type, raw: Any, path: Path):
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: [{section}] must be a table")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in raw.items():
        if key not in fields:
            raise ConfigError(f"{path}: unknown key '{section}.{key}'; known: {', '.join(sorted(fields))}")
        f = fields[key]
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        if section == "data" and key == "subjects" and isinstance(value, list):
            kwargs[key] = value  # influxdb: subject names (checked in _validate)
            continue
        try:
            value = check_type(f"'{section}.{key}'", value, default)
        except ValueError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        kwargs[key] = value
    return cls(**kwargs)


def load_config(path: str | Path) -> ModelConfig:
    """Read and validate a model config TOML. Raises ``ConfigError`` with a one-line message."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {unknown}; known: {sorted(SECTIONS)}")
    sections = {name: _coerce(name, cls, raw.get(name, {}), path) for name, cls in SECTIONS.items()}
    given = {name: set(raw.get(name, {})) if isinstance(raw.get(name), dict) else set() for name in SECTIONS}
    cfg = ModelConfig(path=path, given=given, raw_inputs=list(sections["data"].inputs), **sections)
    _validate(cfg)
    # relative data.inputs are read from the config file's folder (as evaluate.real_sets), not from
    # wherever edgekit runs
    cfg.data.inputs = [p if Path(p).is_absolute() else str(path.parent / p) for p in cfg.data.inputs]
    return cfg


# data keys that mean something only for some sources (the others' values are ignored: warned)
SOURCE_KEYS = {
    "synthetic": ("subjects", "days", "profiles", "workouts_per_runner", "hr_sampling"),
    "files": ("inputs", "format"),
    "influxdb": ("url", "database", "subjects", "days"),
}


def ignored_keys(cfg: ModelConfig) -> list[str]:
    """``data.*`` keys written in the config that its ``data.source`` does not read (ignored)."""
    mine = set(SOURCE_KEYS.get(cfg.data.source, ()))
    others = {k for keys in SOURCE_KEYS.values() for k in keys} - mine
    return sorted(f"data.{k}" for k in cfg.given.get("data", set()) & others)


def _validate(cfg: ModelConfig) -> None:
    p = cfg.path
    m = cfg.model
    if not m.name or not m.name.replace("_", "").replace("-", "").isalnum():
        raise ConfigError(f"{p}: model.name must be a non-empty identifier, got {m.name!r}")
    if m.type not in TASKS:
        raise ConfigError(f"{p}: unknown model.type {m.type!r}; expected one of {sorted(TASKS)}")
    try:
        TASKS[m.type].params(m.params)
    except ValueError as exc:
        raise ConfigError(f"{p}: model.params: {exc}") from None
    d = cfg.data
    if d.source not in ("synthetic", "files", "influxdb"):
        raise ConfigError(f"{p}: data.source must be 'synthetic', 'files' or 'influxdb', got {d.source!r}")
    if d.source == "files" and not d.inputs:
        raise ConfigError(f"{p}: data.inputs must list files when data.source = 'files'")
    if not all(isinstance(x, str) and x for x in d.inputs):
        raise ConfigError(f"{p}: data.inputs must be a list of file paths (strings)")
    try:
        utc_offset_seconds(d.utc_offset, what="data.utc_offset")
    except EdgekitError as exc:
        raise ConfigError(f"{p}: {exc}") from None
    if d.source == "influxdb":
        _validate_influx(p, d)
    elif isinstance(d.subjects, list) or d.url or d.database:
        raise ConfigError(f"{p}: data.url, data.database and a list of data.subjects need data.source = 'influxdb'")
    if d.clean not in ("kubios", "malik", "none"):
        raise ConfigError(f"{p}: data.clean must be kubios, malik or none, got {d.clean!r}")
    if not 0 < d.min_rr_ms < d.max_rr_ms:
        raise ConfigError(f"{p}: need 0 < data.min_rr_ms < data.max_rr_ms")
    if d.source == "synthetic" and d.subjects < 3:
        raise ConfigError(f"{p}: data.subjects must be >= 3 (train/val/test split by subject)")
    if d.days < 2:
        raise ConfigError(f"{p}: data.days must be >= 2")
    if not 0 <= d.max_artifact_pct <= 100:
        raise ConfigError(f"{p}: data.max_artifact_pct must be in [0, 100]")
    if d.window_stride < 1:
        raise ConfigError(f"{p}: data.window_stride must be >= 1")
    if d.workouts_per_runner < 1 or d.window_stride_steps < 1:
        raise ConfigError(f"{p}: data.workouts_per_runner and data.window_stride_steps must be >= 1")
    if d.hr_sampling not in ("dense", "sparse", "by_year", "mixed"):
        raise ConfigError(f"{p}: data.hr_sampling must be dense, sparse, by_year or mixed, got {d.hr_sampling!r}")
    if not 0.0 <= d.context_minutes <= 120.0:
        raise ConfigError(f"{p}: data.context_minutes must be in [0, 120], got {d.context_minutes}")
    if d.train_steps < 0:
        raise ConfigError(f"{p}: data.train_steps must be >= 0 (0: windows of the model's length), got {d.train_steps}")
    _validate_profiles(p, d)
    if d.series_stride_hours < 1:
        raise ConfigError(f"{p}: data.series_stride_hours must be >= 1, got {d.series_stride_hours}")
    if d.source == "synthetic" and d.subjects > 100_000:
        raise ConfigError(f"{p}: data.subjects must be <= 100000, got {d.subjects}")
    t = cfg.train
    for key in ("epochs", "batch_size", "threads"):
        if getattr(t, key) < 1:
            raise ConfigError(f"{p}: train.{key} must be >= 1, got {getattr(t, key)}")
    if t.patience < 0:
        raise ConfigError(f"{p}: train.patience must be >= 0")
    if not t.lr > 0:
        raise ConfigError(f"{p}: train.lr must be positive, got {t.lr}")
    if not (0 < t.val_fraction < 0.5 and 0 < t.test_fraction < 0.5):
        raise ConfigError(f"{p}: train.val_fraction and train.test_fraction must be in (0, 0.5)")
    bad = [v for v in cfg.convert.variants if v not in VARIANTS]
    if bad or not cfg.convert.variants:
        raise ConfigError(f"{p}: convert.variants {bad or '[]'} invalid; known: {list(VARIANTS)}")
    c = cfg.convert
    if c.compressed_base not in ("fp16", "fp32"):
        raise ConfigError(f"{p}: convert.compressed_base must be 'fp16' or 'fp32', got {c.compressed_base!r}")
    if c.calibration_windows < 1:
        raise ConfigError(f"{p}: convert.calibration_windows must be >= 1, got {c.calibration_windows}")
    if len(set(c.variants)) != len(c.variants):
        raise ConfigError(f"{p}: convert.variants lists a variant twice: {c.variants}")
    for key, value in dataclasses.asdict(cfg.verify).items():
        if not (value >= 0) or value != value or value == float("inf"):
            raise ConfigError(f"{p}: verify.{key} must be a finite number >= 0, got {value}")
    if isinstance(cfg.verify.workers, bool) or not isinstance(cfg.verify.workers, int):
        raise ConfigError(f"{p}: verify.workers must be a whole number >= 0 (0: one per CPU core), "
                          f"got {cfg.verify.workers!r}")
    if not 0 < cfg.verify.min_top1_agreement <= 1:
        raise ConfigError(f"{p}: verify.min_top1_agreement must be in (0, 1]")
    if not t.weight_decay >= 0:
        raise ConfigError(f"{p}: train.weight_decay must be >= 0, got {t.weight_decay}")
    if not 0 <= t.crop_fraction <= 1:
        raise ConfigError(f"{p}: train.crop_fraction must be in [0, 1], got {t.crop_fraction}")
    if t.crop_fraction and not TASKS[m.type].crops_readings:
        kinds = sorted(k for k, spec in TASKS.items() if spec.crops_readings)
        raise ConfigError(f"{p}: train.crop_fraction applies to reading windows only (model.type in {kinds}), "
                          f"not to {m.type!r}")
    if "fp32" not in cfg.convert.variants:
        raise ConfigError(f"{p}: convert.variants must include 'fp32' (the reference variant)")
    for key, raws, paths in (("evaluate.real_sets", cfg.evaluate.real_sets, cfg.real_set_paths()),
                             ("train.calibrate_on", t.calibrate_on, cfg.calibration_set_paths())):
        for raw, path in zip(raws, paths):
            if not isinstance(raw, str) or not (path / "manifest.toml").is_file():
                raise ConfigError(f"{p}: {key}: {raw!r} is not a real-set folder with a manifest.toml "
                                  f"(paths are relative to the config file's directory, {p.parent})")
    if t.calibrate_on and not TASKS[m.type].calibrates:
        kinds = sorted(k for k, spec in TASKS.items() if spec.calibrates)
        raise ConfigError(f"{p}: train.calibrate_on applies to model.type in {kinds}, not to {m.type!r}")


def _validate_profiles(p: Path, d: DataSection) -> None:
    if not d.profiles or not all(isinstance(x, str) for x in d.profiles):
        raise ConfigError(f"{p}: data.profiles must be a non-empty list of profile names, e.g. [\"watch\", \"spot\"]")
    bad = [x for x in d.profiles if x not in RECORDINGS]
    if bad:
        raise ConfigError(f"{p}: data.profiles: unknown profile(s) {bad}; known: {list(RECORDINGS)}")
    if len(set(d.profiles)) != len(d.profiles):
        raise ConfigError(f"{p}: data.profiles lists a profile twice: {d.profiles}")
    if d.profiles != ["spot"] and d.source != "synthetic":
        raise ConfigError(f"{p}: data.profiles is for data.source = 'synthetic' (recorded data has its own schedule)")


def _validate_influx(p: Path, d: DataSection) -> None:
    try:
        check_url(d.url, f"{p}: data.url")
    except EdgekitError as exc:
        raise ConfigError(str(exc)) from None
    if not d.database:
        raise ConfigError(f"{p}: data.database must name the InfluxDB database when data.source = 'influxdb'")
    if d.inputs:
        raise ConfigError(f"{p}: data.inputs is for data.source = 'files'; InfluxDB data is chosen by "
                          f"data.subjects and data.days")
    if isinstance(d.subjects, list):
        if not d.subjects or not all(isinstance(s, str) and s for s in d.subjects):
            raise ConfigError(f"{p}: data.subjects must be a non-empty list of subject names (strings)")
    elif "subjects" in _explicit_keys(d):
        raise ConfigError(f"{p}: data.subjects must be a list of subject names when data.source = 'influxdb'")


def _explicit_keys(d: DataSection) -> set:
    return {f.name for f in dataclasses.fields(d) if getattr(d, f.name) != (
        f.default if f.default is not dataclasses.MISSING else f.default_factory())}  # type: ignore[misc]
