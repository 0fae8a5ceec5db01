"""What the templates know about each bundled model (:class:`ModelContext`): its Swift role and
input encoding, names, labels, outputs, tolerance, accuracy and per-profile coverage in plain
words, gathered from the model's config, task spec, chosen variant and training metrics.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekit.config.load import ModelConfig
from edgekit.core.errors import EdgekitError
from edgekit.core.fileio import read_json_object
from edgekit.package.config import PackageModel
from edgekit.package.swift_text import (
    SWIFT_RESERVED,
    _ascii_words,
    _swift_value,
    percent,
    swift_identifier,
    unique_identifiers,
)
from edgekit.tasks import task_for
from edgekit.tasks.real import load_real
from edgekit.tasks.roles import ROLES, Role, role_named, swift_encoding
from edgekit.train.records import TRAIN_RECORD, TrainRecord, read_train_record
from edgekit.verify.records import VariantParity
from edgekit.verify.selection import read_model_spec, select_variant

#: Recording profiles of the synthetic cohort (``edgekit.data.synth.cohort.RECORDINGS``, docs/synthetic_cohort.md)
#: in plain words, in the order the package README lists them.
PROFILE_TITLES = {"watch": "Apple Watch background readings (about a minute each, every 1–5 hours)",
                  "breathe": "Breathe/Reflect sessions (1–5 min at rest)",
                  "strap": "chest-strap recordings (long and continuous)",
                  "spot": "hourly spot measurements (150 s every clock hour, day and night)"}


@dataclass
class ModelContext:
    """Everything the templates need about one bundled model (all strings raw; templates escape)."""

    name: str
    type: str
    role: str
    ident: str  # lowerCamelCase Swift identifier
    resource: str  # resource base name of the bundled .mlpackage
    description: str
    variant: str
    bytes: int
    sha256: str
    max_kb: float
    why: str
    compute_units: str
    input_name: str
    input_length: int
    labels: list[str]
    label_idents: list[str]
    probabilities_output: str
    label_output: str
    score_output: str
    metrics: dict
    accuracy_text: str
    tolerance: float
    author: str
    license: str
    version: str
    data_fingerprint: str
    candidates: list[dict]
    input_channels: int = 1
    step_s: float | None = None  # seconds per input step (the activity model's grid)
    context_minutes: float | None = None  # the activity model's default calibration context
    encoding: str = "beat_window"  # the task's declared input encoding (TaskSpec.swift_input)
    encoding_value: int | None = None  # the value it carries (min beats, min present hours)
    coverage: list[dict] = field(default_factory=list)  # per profile, from metrics.json (coverage_rows)
    state_input: str | None = None  # the recurrent state carried across windows (TaskSpec.state_input)
    state_output: str | None = None
    state_size: int = 0
    real: list[dict] = field(default_factory=list)  # per real set: title, goal lines, missed goals (real_rows)
    trained_on: str = ""  # "SYNTHETIC data", "recorded data (files)", ... (trained_on_text)

    @property
    def role_spec(self) -> Role:
        """This model's role (:mod:`edgekit.tasks.roles`); ``role`` is its name."""
        return role_named(self.role)

    @property
    def swift_role(self) -> str:
        """The ``ModelRole`` case of this model's role."""
        return self.role_spec.swift_case

    @property
    def swift_encoding(self) -> str:
        """The Swift ``InputEncoding`` value of this model (``.reading(minBeats: 45)``)."""
        return swift_encoding(self.encoding, self.encoding_value)


def _fraction(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def coverage_rows(task: Any, metrics: dict) -> list[dict]:
    """Per recording profile, in plain words: how often the model's input can be made and the
    accuracy there, from metrics.json (``coverage`` and ``per_profile``, held-out subjects; the
    keys are the task spec's ``coverage_key``, ``coverage_count_key`` and
    ``coverage_key_given_3_readings``). Empty when the build measured none (older configs)."""
    cov = metrics.get("coverage") if isinstance(metrics, dict) else None
    key = getattr(task, "coverage_key", None)
    if not isinstance(cov, dict) or not key:
        return []
    per = metrics.get("per_profile")
    per = per if isinstance(per, dict) else {}
    count_key = getattr(task, "coverage_count_key", None)
    given3 = getattr(task, "coverage_key_given_3_readings", None)
    names = [n for n in PROFILE_TITLES if n in cov] + sorted(n for n in cov if n not in PROFILE_TITLES and n != "all")
    rows = []
    for name in names:
        c = cov.get(name)
        frac = _fraction(c.get(key)) if isinstance(c, dict) else None
        if frac is None:
            continue
        p = per.get(name) if isinstance(per.get(name), dict) else {}
        count = _fraction(c.get(count_key)) if count_key else None
        row: dict[str, Any] = {"profile": name, "title": PROFILE_TITLES.get(name, f"{name} recordings"),
                               "coverage": frac, "count": int(count) if count is not None else None}
        for k in ("macro_f1_per_reading", "macro_f1_per_day", "mae", "persistence_mae", "mae_vs_persistence"):
            if _fraction(p.get(k)) is not None:
                row[k] = _fraction(p.get(k))
        if task.role.has_labels:
            text = f"strain can be assessed from {percent(frac)} of readings"
            if row["count"] is not None:
                text += f" ({row['count']} readings)"
            if "macro_f1_per_reading" in row:
                text += f"; macro-F1 {row['macro_f1_per_reading']:.3f} per reading"
                if "macro_f1_per_day" in row:
                    text += f", {row['macro_f1_per_day']:.3f} per day (a day's readings combined)"
        else:
            text = f"a forecast can be made at {percent(frac)} of wake-ups"
            if row["count"] is not None:
                text += f" ({row['count']} wake-ups"
                n3 = _fraction(c.get("wakeups_with_3_readings_24h"))
                f3 = _fraction(c.get(given3)) if given3 else None
                if f3 is not None and n3:
                    row["coverage_given_3_readings"] = f3
                    text += f"; {percent(f3)} of the {int(n3)} with at least 3 readings in the previous 24 h"
                text += ")"
            if "mae" in row:
                text += f"; MAE {row['mae']:.1f} score points"
                if "mae_vs_persistence" in row and "persistence_mae" in row:
                    text += (f", {row['mae_vs_persistence']:.2f} × the persistence baseline's "
                             f"{row['persistence_mae']:.1f}")
        row["text"] = text
        rows.append(row)
    return rows


def _tolerance(variant: str, parity_entry: VariantParity, role: Role) -> float:
    """Tolerance of device predictions vs torch for the bundled variant (:meth:`Role.tolerance` of the
    measured difference of the verified program, when verify recorded it)."""
    return role.tolerance(variant, parity_entry.figure("max_abs_diff"))


def real_rows(model_dir: Path) -> list[dict]:
    """The REAL figures of a built model (``evaluate/real.json``): per set its title, one line per goal
    (value, target, split, met) and the goals it misses (the README says so in one line)."""
    out = []
    for ev in load_real(model_dir):
        lines = [f"{'met' if g.met else 'MISSED'}: {g.name}: {'—' if g.value is None else f'{g.value:.3g}'} "
                 f"(goal {g.target}; {g.split} persons)" for g in ev.goals]
        missed = sorted({g.name for g in ev.goals if not g.met})
        out.append({"title": ev.title, "persons": ev.n_persons, "holdout": len(ev.holdout_persons),
                    "met": sum(g.met for g in ev.goals), "goals": len(ev.goals), "lines": lines, "missed": missed})
    return out


def trained_on_text(record: TrainRecord | None, model_dir: Path) -> str:
    """What the model was trained on: metrics.json ``synthetic_data``/``data_source`` (the train stage
    writes them), else the data stage's summary.json."""
    if record is not None:
        synthetic, source = record.synthetic_data, record.data_source
    else:
        p = model_dir / "data" / "summary.json"
        summary = read_json_object(p, "data summary") if p.is_file() else {}
        synthetic, source = summary.get("synthetic"), summary.get("source")
    if synthetic:
        return "SYNTHETIC data"
    names = {"files": "recorded data (files)", "influxdb": "recorded data (InfluxDB)"}
    return names.get(source, str(source or "unknown"))


def _accuracy_text(role: Role, record: TrainRecord | None, parity_entry: VariantParity,
                   synthetic: bool = False) -> str:
    held = "held-out SYNTHETIC test subjects" if synthetic else "held-out test subjects"

    def trained(name: str) -> float | None:  # a held-out figure of the fp32 model (train/metrics.json)
        return record.figure(name) if record is not None else None

    if role.has_labels:
        acc = parity_entry.figure("accuracy")
        src = f"bundled variant, {held}"
        if acc is None:
            acc = trained("accuracy")
            src = f"fp32 model, {held}"
        f1 = trained("macro_f1")
        parts = []
        if acc is not None:
            parts.append(f"accuracy {acc * 100:.1f} % ({src})" if acc <= 1 else f"accuracy {acc:.1f} % ({src})")
        if f1 is not None:
            parts.append(f"macro-F1 {f1:.3f} (fp32)")
        agree = parity_entry.figure("top1_agreement")
        if agree is not None:
            parts.append(f"top-1 agreement with fp32 {agree * 100:.1f} %")
        return "; ".join(parts) or "not measured"
    unit = role.unit
    mae = parity_entry.figure("mae")
    src = "bundled variant"
    if mae is None:
        mae = trained("mae")
        src = "fp32 model"
    base = trained("baseline_mae")
    zone = trained("zone_accuracy")
    parts = []
    if mae is not None:
        parts.append(f"MAE {mae:.2f} {unit} ({src}, {held})")
    if base is not None:
        parts.append(role.baseline_text.format(value=base))
    if zone is not None:
        parts.append(f"zone accuracy {zone * 100:.1f} %" if zone <= 1 else f"zone accuracy {zone:.1f} %")
    return "; ".join(parts) or "not measured"


def _model_context(entry: PackageModel, cfg: ModelConfig, build_dir: Path, used: set[str]
                   ) -> tuple[ModelContext, Any]:
    task = task_for(cfg.model.type)
    role = task.role
    model_dir = build_dir / cfg.name
    choice = select_variant(cfg.name, model_dir, entry.max_kb)
    spec = read_model_spec(choice.path)
    record = read_train_record(model_dir) if (model_dir / TRAIN_RECORD).exists() else None
    metrics = record.to_json() if record is not None else {}  # as written (coverage, per_profile, …)

    inputs = spec["inputs"]
    state_size = 0
    if task.state_input:  # the model input, then its recurrent state (1, S)
        state = next((i for i in inputs if i["name"] == task.state_input), None)
        outs = {o["name"] for o in spec["outputs"]}
        if state is None or len(state["shape"]) != 2 or task.state_output not in outs:
            raise EdgekitError(f"{choice.path}: expected the state input {task.state_input!r} (1, S) and output "
                               f"{task.state_output!r}; re-run 'edgekit convert --config {cfg.path}'")
        state_size = int(state["shape"][1])
        inputs = [i for i in inputs if i["name"] != task.state_input]
    if len(inputs) != 1:
        raise EdgekitError(f"{choice.path}: expected one input, found {len(inputs)}")
    shape = inputs[0]["shape"]
    channels = int(task.input_channels)
    if len(shape) != 3 or shape[0] != 1 or shape[2] != channels or shape[1] < 1:
        raise EdgekitError(f"{choice.path}: input {inputs[0]['name']!r} must have shape (1, T, {channels}), "
                           f"got {tuple(shape)}")
    if ROLES.get(role.name) is not role:
        raise EdgekitError(f"{cfg.name}: role {role.name!r} has no Swift API (known: {sorted(ROLES)})")
    ud = spec["user_defined"]
    meta_name = ud.get("edgekit.model_name")
    if isinstance(meta_name, str) and meta_name != cfg.name:
        raise EdgekitError(f"{choice.path}: holds model {meta_name!r}, expected {cfg.name!r}")
    labels: list[str] = []
    prob_out = label_out = score_out = ""
    if role.has_labels:
        labels = _labels(cfg, model_dir, spec, ud, choice.path)
        prob_out = spec["probabilities_feature"] or next(
            (o["name"] for o in spec["outputs"] if o["kind"] == "dictionaryType"), "")
        label_out = spec["predicted_feature"] or next(
            (o["name"] for o in spec["outputs"] if o["kind"] == "stringType"), "")
        if not prob_out:
            raise EdgekitError(f"{choice.path}: classifier has no probabilities output (not a Core ML classifier)")
    else:
        arrays = [o["name"] for o in spec["outputs"] if o["kind"] == "multiArrayType"]
        preferred = role.score_output or getattr(task, "onnx_output", "")
        score_out = preferred if preferred in arrays else (arrays[0] if arrays else "")
        if not score_out:
            raise EdgekitError(f"{choice.path}: {role.name} has no multi-array output")
    ident = swift_identifier(cfg.name, fallback="model")
    base, n = ident, 2
    while ident in used:
        ident = f"{base}{n}"
        n += 1
    used.add(ident)
    resource = resource_name(cfg.name)
    units = entry.compute_units or task.compute_units
    trained = trained_on_text(record, model_dir)
    ctx = ModelContext(
        name=cfg.name,
        type=cfg.model.type,
        role=role.name,
        ident=ident,
        resource=resource,
        description=cfg.model.description or spec["description"],
        variant=choice.variant,
        bytes=choice.bytes,
        sha256=choice.sha256,
        max_kb=entry.max_kb,
        why=choice.why,
        compute_units=units,
        input_name=inputs[0]["name"],
        input_length=int(shape[1]),
        labels=labels,
        label_idents=unique_identifiers(labels, fallback="label") if labels else [],
        probabilities_output=prob_out,
        label_output=label_out,
        score_output=score_out,
        metrics=metrics,
        accuracy_text=_accuracy_text(role, record, choice.parity, trained == "SYNTHETIC data"),
        trained_on=trained,
        tolerance=_tolerance(choice.variant, choice.parity, role),
        author=spec["author"] or cfg.convert.author,
        license=spec["license"] or cfg.convert.license,
        version=spec["version"] or cfg.convert.version,
        data_fingerprint=str(ud.get("edgekit.training_data_fingerprint", ud.get("training_data_fingerprint", ""))),
        candidates=choice.candidates,
        input_channels=channels,
        step_s=float(task.params(cfg.model.params).step_s) if role.workout_grid else None,
        context_minutes=float(cfg.data.context_minutes) if role.workout_grid else None,
        encoding=task.swift_input,
        encoding_value=task.swift_input_value(cfg.model.params),
        coverage=coverage_rows(task, metrics),
        state_input=task.state_input, state_output=task.state_output, state_size=state_size,
        real=real_rows(model_dir),
    )
    return ctx, (cfg, choice)


def resource_name(model_name: str) -> str:
    """File-system and Swift-safe base name of a model's bundled .mlpackage (ASCII, not a keyword)."""
    words = _ascii_words(model_name)
    base = "_".join(words) if words else "model"
    if base[0].isdigit() or base in SWIFT_RESERVED or base.lower() in {"hrvkit", "resources"}:
        base = "model_" + base
    return base


def _metadata_labels(ud: dict) -> list[str] | None:
    """Labels stored in the model's user-defined metadata (JSON list or comma-separated), if any."""
    raw = ud.get("edgekit.labels", ud.get("labels"))
    if not isinstance(raw, str):
        return None
    try:
        parsed = json.loads(raw)
        if isinstance(parsed, list):
            return [str(x) for x in parsed]
    except json.JSONDecodeError:
        pass
    return raw.split(",") if raw else []


def _labels(cfg, model_dir: Path, spec: dict, ud: dict, pkg: Path) -> list[str]:
    """Class labels of a classifier: the checkpoint's label_names, cross-checked with the model."""
    labels: list[str] = []
    ckpt = model_dir / "train" / "model.pt"
    if ckpt.is_file():
        # the checkpoint reader imports torch: deferred on purpose (the package layer imports without it)
        from edgekit.models.checkpoint import load_checkpoint  # noqa: PLC0415

        _, meta = load_checkpoint(ckpt, task_for)
        labels = [str(x) for x in meta.get("label_names") or []]
    if not labels:
        labels = list(spec["labels"])
    meta_labels = _metadata_labels(ud)
    if not labels and meta_labels is not None:
        labels = meta_labels
    if not labels:
        raise EdgekitError(f"{pkg}: classifier labels not found (checkpoint label_names or model metadata)")
    if len(set(labels)) != len(labels):
        raise EdgekitError(f"{cfg.name}: duplicate class labels {labels!r}")
    # Swift compares strings by canonical equivalence and cannot hold lone surrogates: two labels
    # that differ only there would be the same enum raw value (a compile error) and ambiguous keys.
    swift_forms = [_swift_value(lbl) for lbl in labels]
    if len(set(swift_forms)) != len(swift_forms):
        raise EdgekitError(f"{cfg.name}: class labels {labels!r} are not distinct as Swift strings "
                           "(canonically equivalent Unicode or invalid surrogates)")
    if spec["labels"] and list(spec["labels"]) != labels:
        raise EdgekitError(f"{pkg}: model class labels {spec['labels']!r} differ from the checkpoint's {labels!r}")
    raw = ud.get("edgekit.labels", ud.get("labels"))
    if isinstance(raw, str) and meta_labels is not None and meta_labels != labels and raw != ",".join(labels):
        raise EdgekitError(f"{pkg}: model metadata labels {raw!r} differ from the checkpoint's {labels!r}")
    return labels
