"""Package stage: render the Swift package (``build/ios/<Package>/``) from verified models.

Reads ``edgekit.toml`` (``[package]`` and its ``[[package.models]]``), and for every model its
``build/<model>/{train,coreml,verify}/`` files. For each model it bundles the *smallest* Core ML
variant that passed every verification gate and fits the model's ``max_kb`` budget; when none does,
the stage fails with a one-line :class:`~edgekit.errors.EdgekitError` and nothing is written.

The package is rendered from the Jinja2 templates edgekit ships as package data
(``edgekit/swift_template/``, read through :mod:`importlib.resources`, so an installed wheel renders
it too) into a temporary directory beside the target and renamed into place
(:func:`edgekit.fileio.atomic_path`). Rendering is deterministic: the same inputs give byte-identical
output (no dates, sorted keys, copied model bytes).

Plain ``.swift`` files are copied as they are: they hold every Swift type and function, so the
package's API is the same whatever models it bundles (a role that is not bundled is the typed error
``HRVKitError.modelNotBundled``). The ``.swift.j2`` sources render data only: the model catalog
(``BundledModels.swift``), the classifier's labels (``StrainLabel.swift``) and the constants of the
data layer and the models' preprocessing (``Constants.swift``).

Every string that comes from a model or a config (labels, names, descriptions, metadata) reaches
Swift only through the escaping filters of this module (:func:`swift_string`,
:func:`swift_identifier`, :func:`doc_text`), so any label yields valid Swift.
"""

from __future__ import annotations

import importlib.resources
import json
import math
import re
import shutil
import tomllib
import unicodedata
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from edgekit.errors import EdgekitError
from edgekit.fileio import atomic_path, claim_build_dir, sha256_file, sha256_tree
from edgekit.tasks import task_for

#: Package-data directory of the Swift package templates (inside the edgekit package).
TEMPLATE_DIR = "swift_template"

#: Core ML compute units a model may ask for (``MLComputeUnits`` case names).
COMPUTE_UNITS = ("all", "cpuOnly", "cpuAndGPU", "cpuAndNeuralEngine")
#: Default compute units per model type. The LSTM is tiny and sequential: the CPU is fastest and
#: keeps fp32 numerics; the Transformer may use the Neural Engine (Core ML keeps fp32 programs off it).
#: Variant preference on a size tie (smaller index wins): less lossy first.
VARIANT_ORDER = ("fp32", "fp16", "int8", "w8a8", "palette6", "palette4")

#: Swift ``ModelRole`` case of each task role (``edgekit.tasks``).
SWIFT_ROLES = {"classifier": "strainClassifier", "forecaster": "fatigueForecaster", "regressor": "heartRatePredictor"}
#: What each role does, for the package README.
ROLE_TITLES = {"classifier": "strain classifier", "forecaster": "fatigue forecaster",
               "regressor": "heart rate from activity"}

#: Swift ``InputEncoding`` of each task's declared input (``TaskSpec.swift_input``): the case and
#: the argument label of the value it carries (``TaskSpec.swift_input_param``), if any.
SWIFT_ENCODINGS = {"beat_window": ("beatWindow", None), "reading": ("reading", "minBeats"),
                   "hourly_run": ("hourlyRun", None), "hourly_slots": ("hourlySlots", "minPresentHours"),
                   "activity": ("activity", None)}
#: Recording profiles of the synthetic cohort (``edgekit.data.synth.RECORDINGS``, docs/synthetic_cohort.md)
#: in plain words, in the order the package README lists them.
PROFILE_TITLES = {"watch": "Apple Watch background readings (about a minute each, every 1–5 hours)",
                  "breathe": "Breathe/Reflect sessions (1–5 min at rest)",
                  "strap": "chest-strap recordings (long and continuous)",
                  "spot": "hourly spot measurements (150 s every clock hour, day and night)"}

_VERSION_RE = re.compile(r"^\d+(\.\d+){0,2}$")
_MODULE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# ---------------------------------------------------------------------------------------------
# edgekit.toml


@dataclass(frozen=True)
class PackageModel:
    """One ``[[package.models]]`` entry."""

    config: Path  # resolved path of the model's build config
    max_kb: float  # size budget of the shipped .mlpackage (KiB)
    compute_units: str | None = None  # MLComputeUnits case; None = per-type default


@dataclass(frozen=True)
class PackageConfig:
    path: Path
    name: str = "HRVKit"
    ios: str = "17.0"
    watchos: str = "10.0"
    macos: str = "14.0"
    models: tuple[PackageModel, ...] = field(default_factory=tuple)

    @property
    def core_name(self) -> str:
        return f"{self.name}Core"


_PACKAGE_KEYS = {"name", "ios", "watchos", "macos", "models"}
_MODEL_KEYS = {"config", "max_kb", "compute_units"}


def load_package_config(path: str | Path) -> PackageConfig:
    """Read and validate ``edgekit.toml``. Raises :class:`EdgekitError` with a one-line message."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EdgekitError(f"{path}: package config not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise EdgekitError(f"{path}: not valid TOML: {_one_line(exc)}") from None
    pkg = raw.get("package")
    if not isinstance(pkg, dict):
        raise EdgekitError(f"{path}: missing [package] table")
    unknown = sorted(set(pkg) - _PACKAGE_KEYS)
    if unknown:
        raise EdgekitError(f"{path}: unknown key(s) {unknown} in [package]; known: {sorted(_PACKAGE_KEYS)}")
    name = pkg.get("name", "HRVKit")
    if not isinstance(name, str) or not _MODULE_RE.match(name) or name in SWIFT_RESERVED:
        raise EdgekitError(
            f"{path}: package.name must be a Swift module name (ASCII letters, digits, _; not a keyword), "
            f"got {name!r}"
        )
    versions = {}
    for key, default in (("ios", "17.0"), ("watchos", "10.0"), ("macos", "14.0")):
        value = pkg.get(key, default)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not _VERSION_RE.match(value):
            raise EdgekitError(f"{path}: package.{key} must be a version like \"17.0\", got {value!r}")
        versions[key] = value
    minimum = {"ios": 17, "watchos": 10, "macos": 14}
    for key, major in minimum.items():
        if int(versions[key].split(".")[0]) < major:
            raise EdgekitError(f"{path}: package.{key} must be {major}.0 or later (async Core ML API), "
                               f"got {versions[key]}")
    entries = pkg.get("models", [])
    if not isinstance(entries, list) or not entries:
        raise EdgekitError(f"{path}: no [[package.models]] entries")
    models = []
    for i, entry in enumerate(entries):
        where = f"{path}: package.models[{i}]"
        if not isinstance(entry, dict):
            raise EdgekitError(f"{where} must be a table")
        unknown = sorted(set(entry) - _MODEL_KEYS)
        if unknown:
            raise EdgekitError(f"{where}: unknown key(s) {unknown}; known: {sorted(_MODEL_KEYS)}")
        cfg = entry.get("config")
        if not isinstance(cfg, str) or not cfg:
            raise EdgekitError(f"{where} needs a 'config' path")
        max_kb = entry.get("max_kb")
        if isinstance(max_kb, bool) or not isinstance(max_kb, (int, float)) or not max_kb > 0 \
                or not math.isfinite(max_kb):
            raise EdgekitError(f"{where}: max_kb must be a positive number, got {max_kb!r}")
        units = entry.get("compute_units")
        if units is not None and units not in COMPUTE_UNITS:
            raise EdgekitError(f"{where}: compute_units must be one of {list(COMPUTE_UNITS)}, got {units!r}")
        models.append(PackageModel((path.parent / cfg).resolve(), float(max_kb), units))
    return PackageConfig(path, name, versions["ios"], versions["watchos"], versions["macos"], tuple(models))


# ---------------------------------------------------------------------------------------------
# Swift escaping

SWIFT_KEYWORDS = frozenset(
    """associatedtype borrowing class consuming deinit enum extension fileprivate func import init
    inout internal let nonisolated open operator precedencegroup private protocol public rethrows
    static struct subscript typealias var break case catch continue default defer do else
    fallthrough for guard if in repeat return throw switch where while Any as await false is nil
    self Self super throws true try async actor any some macro package willSet didSet get set
    mutating nonmutating override required convenience dynamic final lazy optional indirect
    weak unowned prefix postfix infix left right none Type Protocol copy consume discard
    isolated each then _""".split()
)
#: Names an enum case or static member must not take (members our generated types already have).
SWIFT_MEMBER_NAMES = frozenset(
    """rawValue allCases hashValue hash description debugDescription init encode decode
    displayName index id label probability probabilities allLabels RawValue AllCases""".split()
)
SWIFT_RESERVED = SWIFT_KEYWORDS | SWIFT_MEMBER_NAMES


def swift_string(text: Any) -> str:
    """A Swift string literal (with quotes) holding ``text`` exactly.

    Quotes, backslashes (so no interpolation), control characters and every non-ASCII character are
    written as escapes; lone surrogates (not valid Unicode scalars) become U+FFFD.
    """
    out = ['"']
    for ch in str(text):
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif 0x20 <= code < 0x7F:
            out.append(ch)
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\u{FFFD}")
        else:
            out.append(f"\\u{{{code:X}}}")
    out.append('"')
    return "".join(out)


def _swift_value(text: str) -> str:
    """The string Swift sees for ``text``: lone surrogates replaced, canonical (NFC) form."""
    fixed = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in str(text))
    return unicodedata.normalize("NFC", fixed)


def _ascii_words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", str(text))
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return re.findall(r"[A-Za-z0-9]+", folded)


def swift_identifier(text: Any, *, upper: bool = False, fallback: str = "value") -> str:
    """An ASCII Swift identifier derived from ``text`` (lowerCamelCase, or UpperCamelCase).

    Never a keyword or a member name of the generated types (those get a trailing ``_``); a leading
    digit gets a leading ``_``; text with no ASCII letters or digits gives ``fallback``.
    """
    words = _ascii_words(str(text))
    if not words:
        ident = fallback
    else:
        parts = []
        for i, w in enumerate(words):
            if i == 0 and not upper:
                parts.append(w[0].lower() + w[1:] if not w.isupper() or len(w) == 1 else w.lower())
            else:
                parts.append(w[0].upper() + w[1:])
        ident = "".join(parts)
    if ident[0].isdigit():
        ident = "_" + ident
    if ident in SWIFT_RESERVED:
        ident += "_"
    return ident


def unique_identifiers(texts: list[str], *, upper: bool = False, fallback: str = "value") -> list[str]:
    """:func:`swift_identifier` of each text, made unique with numeric suffixes (stable order)."""
    seen: set[str] = set()
    result = []
    for i, text in enumerate(texts):
        ident = swift_identifier(text, upper=upper, fallback=f"{fallback}{i}")
        base, n = ident, 2
        while ident in seen:
            ident = f"{base}_{n}"
            n += 1
        seen.add(ident)
        result.append(ident)
    return result


def doc_text(text: Any) -> str:
    """Text safe inside a ``///`` comment line: one line, no control/format/separator characters."""
    out = []
    for ch in str(text):
        cat = unicodedata.category(ch)
        if ch in "\n\r\t" or cat in ("Zl", "Zp"):
            out.append(" ")
        elif cat.startswith("C"):  # control, format (bidi overrides), surrogate, private, unassigned
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out).strip()


def md_text(text: Any) -> str:
    """Text safe in Markdown prose and table cells."""
    s = doc_text(text)
    return re.sub(r"([\\`*_\[\]{}<>|#!~])", r"\\\1", s)


def md_code(text: Any) -> str:
    """Inline Markdown code span holding ``text`` (a backtick fence longer than any run inside)."""
    s = doc_text(text)
    longest = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or not s else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def swift_double(value: float) -> str:
    """A Swift Double literal (finite values only)."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value}")
    text = repr(value)
    return text if ("." in text or "e" in text or "inf" in text) else text + ".0"


# ---------------------------------------------------------------------------------------------
# reading a model's build outputs


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EdgekitError(f"{path}: {what} not found; run the earlier stages first (edgekit build)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EdgekitError(f"{path}: not valid JSON: {_one_line(exc)}") from None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def tree_bytes(path: Path) -> int:
    """Bytes of a file, or the sum over every file of a directory (what the app ships)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _variant_table(doc: Any) -> dict[str, dict]:
    """Per-variant entries of convert.json / parity.json, whatever their exact nesting."""
    if not isinstance(doc, dict):
        return {}
    for key in ("variants", "results", "per_variant"):
        inner = doc.get(key)
        if isinstance(inner, dict):
            return {str(k): v for k, v in inner.items() if isinstance(v, dict)}
        if isinstance(inner, list):
            table = {}
            for item in inner:
                if isinstance(item, dict) and isinstance(item.get("variant", item.get("name")), str):
                    table[item.get("variant", item.get("name"))] = item
            if table:
                return table
    return {k: v for k, v in doc.items() if isinstance(v, dict) and k in VARIANT_ORDER}


def _failed_checks(entry: dict) -> list[str]:
    """Names (with values where available) of the failed checks of one parity entry."""
    checks = entry.get("checks", entry.get("gates"))
    failed = []
    if isinstance(checks, dict):
        items = checks.items()
    elif isinstance(checks, list):
        items = [(c.get("name", c.get("check", f"check{i}")), c) for i, c in enumerate(checks) if isinstance(c, dict)]
    else:
        items = []
    for name, check in items:
        ok = check.get("passed", check.get("ok")) if isinstance(check, dict) else check
        if ok is False:
            detail = ""
            if isinstance(check, dict):
                value = next((check[k] for k in ("value", "measured", "max_abs_diff", "actual") if k in check), None)
                limit = next((check[k] for k in ("limit", "tolerance", "tol", "threshold", "max", "min") if k in check), None)
                if isinstance(value, (int, float)) and isinstance(limit, (int, float)):
                    detail = f" ({value:.4g} vs limit {limit:.4g})"
            failed.append(f"{name}{detail}")
    if not failed and entry.get("error"):
        failed.append(doc_text(entry["error"])[:120])
    return failed


def _first_number(d: Any, *keys: str) -> float | None:
    """The first finite number found under any of ``keys`` in ``d`` or its nested dicts (BFS)."""
    queue = [d]
    while queue:
        cur = queue.pop(0)
        if not isinstance(cur, dict):
            continue
        for k in keys:
            v = cur.get(k)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                return float(v)
        queue.extend(v for v in cur.values() if isinstance(v, dict))
    return None


@dataclass
class VariantChoice:
    variant: str
    path: Path
    bytes: int
    sha256: str
    parity: dict
    why: str
    candidates: list[dict]


def select_variant(name: str, model_dir: Path, max_kb: float) -> VariantChoice:
    """The smallest variant of ``model_dir`` that passed verification within ``max_kb``.

    Raises :class:`EdgekitError` (one line) when the verification report is missing or no variant
    qualifies; a variant whose .mlpackage changed after verification (hash recorded by verify
    differs) counts as unverified.
    """
    coreml = model_dir / "coreml"
    parity_path = model_dir / "verify" / "parity.json"
    parity = _read_json(parity_path, "verification report")
    convert_path = coreml / "convert.json"
    convert_doc = _read_json(convert_path, "conversion report") if convert_path.exists() else {}
    verified = _variant_table(parity)
    converted = _variant_table(convert_doc)
    if not verified:
        raise EdgekitError(f"{parity_path}: no per-variant results; re-run verify")
    checkpoint = model_dir / "train" / "model.pt"
    recorded_ckpt = parity.get("checkpoint_sha256") if isinstance(parity, dict) else None
    if isinstance(recorded_ckpt, str) and checkpoint.is_file() and sha256_file(checkpoint) != recorded_ckpt:
        raise EdgekitError(f"{parity_path}: verified a different checkpoint than {checkpoint.name} (retrained "
                           "since); re-run verify")
    budget = int(max_kb * 1024)
    rows: list[dict] = []
    for variant in sorted(verified, key=_variant_rank):
        entry = verified[variant]
        pkg = coreml / f"{variant}.mlpackage"
        row: dict[str, Any] = {"variant": variant, "passed": entry.get("passed") is True}
        if not pkg.is_dir():
            row.update(status="missing", reason=f"{pkg.name} not found")
            rows.append(row)
            continue
        row["bytes"] = tree_bytes(pkg)
        row["sha256"] = sha256_tree(pkg)
        recorded = entry.get("sha256") or entry.get("mlpackage_sha256") or converted.get(variant, {}).get("sha256")
        if entry.get("passed") is not True:
            failed = _failed_checks(entry)
            row.update(status="failed", reason="failed " + (", ".join(failed) if failed else "verification"))
        elif isinstance(recorded, str) and recorded != row["sha256"]:
            row.update(status="stale", reason="changed after verification (hash differs)")
        elif row["bytes"] > budget:
            row.update(status="over_budget", reason=f"{row['bytes'] / 1024:.1f} KB > {max_kb:g} KB budget")
        else:
            row.update(status="ok", reason="passed every gate within budget")
        rows.append(row)
    ok = [r for r in rows if r["status"] == "ok"]
    if not ok:
        detail = "; ".join(f"{r['variant']}: {r['reason']}" for r in rows) or "no variants"
        raise EdgekitError(f"{name}: no verified variant within max_kb={max_kb:g} ({detail})")
    best = min(ok, key=lambda r: (r["bytes"], _variant_rank(r["variant"])))
    passed = [r["variant"] for r in rows if r["passed"]]
    others = [f"{r['variant']} {r['reason']}" for r in rows if r is not best and r["status"] != "ok"]
    why = (f"{best['variant']} is the smallest of the variants that passed every gate within "
           f"{max_kb:g} KB ({', '.join(r['variant'] for r in ok)})")
    if others:
        why += "; " + "; ".join(others)
    _ = passed
    return VariantChoice(best["variant"], coreml / f"{best['variant']}.mlpackage", best["bytes"], best["sha256"],
                         verified[best["variant"]], why, rows)


def _variant_rank(variant: str) -> tuple[int, str]:
    return (VARIANT_ORDER.index(variant) if variant in VARIANT_ORDER else len(VARIANT_ORDER), variant)


def read_model_spec(mlpackage: Path) -> dict:
    """Input/output names and shapes, classifier labels and metadata from an .mlpackage's spec."""
    try:
        import coremltools as ct  # noqa: PLC0415 (heavy; only this stage needs it)

        spec = ct.utils.load_spec(str(mlpackage))
    except Exception as exc:  # coremltools raises many types for unreadable packages
        raise EdgekitError(f"{mlpackage}: cannot read the Core ML spec: {_one_line(exc)}") from None
    desc = spec.description
    inputs = []
    for feature in desc.input:
        shape = list(feature.type.multiArrayType.shape) if feature.type.HasField("multiArrayType") else []
        inputs.append({"name": feature.name, "shape": [int(s) for s in shape]})
    outputs = []
    for feature in desc.output:
        kind = feature.type.WhichOneof("Type")
        outputs.append({"name": feature.name, "kind": kind})
    meta = desc.metadata
    labels: list[str] = []
    program_kind = spec.WhichOneof("Type")
    if program_kind == "neuralNetworkClassifier":
        labels = list(spec.neuralNetworkClassifier.stringClassLabels.vector)
    return {
        "inputs": inputs,
        "outputs": outputs,
        "predicted_feature": desc.predictedFeatureName,
        "probabilities_feature": desc.predictedProbabilitiesName,
        "labels": labels,
        "author": meta.author,
        "license": meta.license,
        "version": meta.versionString,
        "description": meta.shortDescription,
        "user_defined": dict(sorted(meta.userDefined.items())),
    }


# ---------------------------------------------------------------------------------------------
# the stage


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

    @property
    def swift_role(self) -> str:
        """The ``ModelRole`` case of this model's role."""
        return SWIFT_ROLES[self.role]

    @property
    def swift_encoding(self) -> str:
        """The Swift ``InputEncoding`` value of this model (``.reading(minBeats: 45)``)."""
        return swift_encoding(self.encoding, self.encoding_value)


def swift_encoding(encoding: str, value: int | None) -> str:
    """The Swift ``InputEncoding`` expression of a declared encoding and its value."""
    try:
        case, label = SWIFT_ENCODINGS[encoding]
    except KeyError:
        raise EdgekitError(f"unknown input encoding {encoding!r}; known: {sorted(SWIFT_ENCODINGS)}") from None
    if label is None:
        return f".{case}"
    if value is None:
        raise EdgekitError(f"input encoding {encoding!r} needs a value ({label})")
    return f".{case}({label}: {int(value)})"


def _fraction(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def percent(fraction: float) -> str:
    """A fraction as a percentage in plain words: ``0.9929`` → ``"99.3 %"``, ``1.0`` → ``"100 %"``."""
    text = f"{fraction * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text} %"


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
        if task.role == "classifier":
            text = f"strain can be assessed from {percent(frac)} of readings"
            if row["count"] is not None:
                text += f" ({row['count']} readings)"
            if "macro_f1_per_reading" in row:
                text += f"; macro-F1 {row['macro_f1_per_reading']:.2f} per reading"
                if "macro_f1_per_day" in row:
                    text += f", {row['macro_f1_per_day']:.2f} per day (a day's readings combined)"
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


def _tolerance(variant: str, parity_entry: dict, role: str) -> float:
    """Tolerance of device predictions vs torch for the bundled variant.

    The measured difference of the verified program (when verify recorded it) with headroom for the
    real Core ML runtime, never below the variant family's floor.
    """
    measured = _first_number(parity_entry, "max_abs_diff", "max_abs_diff_torch", "max_diff", "linf")
    if role == "classifier":
        floor = {"fp32": 1e-3, "fp16": 2e-2}.get(variant, 5e-2)
    else:
        floor = {"fp32": 0.05, "fp16": 0.5}.get(variant, 2.0)
    if measured is None:
        return floor
    return max(floor, 2.0 * measured + (1e-3 if role == "classifier" else 0.05))


def _accuracy_text(role: str, metrics: dict, parity_entry: dict) -> str:
    if role == "classifier":
        acc = _first_number(parity_entry, "accuracy", "variant_accuracy", "coreml_accuracy")
        src = "bundled variant, held-out test subjects"
        if acc is None:
            acc = _first_number(metrics, "accuracy")
            src = "fp32 model, held-out test subjects"
        f1 = _first_number(metrics, "macro_f1")
        parts = []
        if acc is not None:
            parts.append(f"accuracy {acc * 100:.1f} % ({src})" if acc <= 1 else f"accuracy {acc:.1f} % ({src})")
        if f1 is not None:
            parts.append(f"macro-F1 {f1:.3f} (fp32)")
        agree = _first_number(parity_entry, "top1_agreement", "agreement")
        if agree is not None:
            parts.append(f"top-1 agreement with fp32 {agree * 100:.1f} %")
        return "; ".join(parts) or "not measured"
    unit = "bpm" if role == "regressor" else "score points"
    mae = _first_number(parity_entry, "mae", "variant_mae", "coreml_mae")
    src = "bundled variant"
    if mae is None:
        mae = _first_number(metrics, "mae")
        src = "fp32 model"
    base = _first_number(metrics, "baseline_mae")
    zone = _first_number(metrics, "zone_accuracy")
    parts = []
    if mae is not None:
        parts.append(f"MAE {mae:.2f} {unit} ({src}, held-out test subjects)")
    if base is not None:
        parts.append(f"baseline MAE {base:.2f} {unit}" if role == "regressor" else f"persistence baseline MAE {base:.2f}")
    if zone is not None:
        parts.append(f"zone accuracy {zone * 100:.1f} %" if zone <= 1 else f"zone accuracy {zone:.1f} %")
    return "; ".join(parts) or "not measured"


def _model_context(entry: PackageModel, build_dir: Path, used: set[str]) -> tuple[ModelContext, Any]:
    from edgekit.config import load_config  # noqa: PLC0415

    cfg = load_config(entry.config)
    task = task_for(cfg.model.type)
    role = task.role
    model_dir = build_dir / cfg.name
    choice = select_variant(cfg.name, model_dir, entry.max_kb)
    spec = read_model_spec(choice.path)
    metrics_path = model_dir / "train" / "metrics.json"
    metrics = _read_json(metrics_path, "training metrics") if metrics_path.exists() else {}

    inputs = spec["inputs"]
    if len(inputs) != 1:
        raise EdgekitError(f"{choice.path}: expected one input, found {len(inputs)}")
    shape = inputs[0]["shape"]
    channels = int(task.input_channels)
    if len(shape) != 3 or shape[0] != 1 or shape[2] != channels or shape[1] < 1:
        raise EdgekitError(f"{choice.path}: input {inputs[0]['name']!r} must have shape (1, T, {channels}), "
                           f"got {tuple(shape)}")
    if role not in SWIFT_ROLES:
        raise EdgekitError(f"{cfg.name}: role {role!r} has no Swift API (known: {sorted(SWIFT_ROLES)})")
    ud = spec["user_defined"]
    meta_name = ud.get("edgekit.model_name")
    if isinstance(meta_name, str) and meta_name != cfg.name:
        raise EdgekitError(f"{choice.path}: holds model {meta_name!r}, expected {cfg.name!r}")
    labels: list[str] = []
    prob_out = label_out = score_out = ""
    if role == "classifier":
        labels = _labels(cfg, model_dir, spec, ud, choice.path)
        prob_out = spec["probabilities_feature"] or next(
            (o["name"] for o in spec["outputs"] if o["kind"] == "dictionaryType"), "")
        label_out = spec["predicted_feature"] or next(
            (o["name"] for o in spec["outputs"] if o["kind"] == "stringType"), "")
        if not prob_out:
            raise EdgekitError(f"{choice.path}: classifier has no probabilities output (not a Core ML classifier)")
    else:
        arrays = [o["name"] for o in spec["outputs"] if o["kind"] == "multiArrayType"]
        preferred = getattr(task, "onnx_output", "") if role == "regressor" else "fatigue_score"
        score_out = preferred if preferred in arrays else (arrays[0] if arrays else "")
        if not score_out:
            raise EdgekitError(f"{choice.path}: {role} has no multi-array output")
    ident = swift_identifier(cfg.name, fallback="model")
    base, n = ident, 2
    while ident in used:
        ident = f"{base}{n}"
        n += 1
    used.add(ident)
    resource = resource_name(cfg.name)
    units = entry.compute_units or task.compute_units
    ctx = ModelContext(
        name=cfg.name,
        type=cfg.model.type,
        role=role,
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
        metrics=metrics if isinstance(metrics, dict) else {},
        accuracy_text=_accuracy_text(role, metrics if isinstance(metrics, dict) else {}, choice.parity),
        tolerance=_tolerance(choice.variant, choice.parity, role),
        author=spec["author"] or cfg.convert.author,
        license=spec["license"] or cfg.convert.license,
        version=spec["version"] or cfg.convert.version,
        data_fingerprint=str(ud.get("edgekit.training_data_fingerprint", ud.get("training_data_fingerprint", ""))),
        candidates=choice.candidates,
        input_channels=channels,
        step_s=float(task.params(cfg.model.params).step_s) if role == "regressor" else None,
        context_minutes=float(cfg.data.context_minutes) if role == "regressor" else None,
        encoding=task.swift_input,
        encoding_value=task.swift_input_value(cfg.model.params),
        coverage=coverage_rows(task, metrics if isinstance(metrics, dict) else {}),
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
        from edgekit.train import load_checkpoint  # noqa: PLC0415

        _, meta = load_checkpoint(ckpt)
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


def _environment():
    import jinja2  # noqa: PLC0415

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_template_source),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters.update(
        swift_string=swift_string,
        swift_ident=swift_identifier,
        doc=doc_text,
        md=md_text,
        md_code=md_code,
        swift_double=swift_double,
        kb=lambda b: f"{b / 1024:.1f}",
    )
    return env


def template_root() -> Traversable:
    """The Swift package templates: package data of the installed edgekit (``edgekit/swift_template``)."""
    return importlib.resources.files("edgekit") / TEMPLATE_DIR


def _template_node(name: str) -> Traversable:
    node = template_root()
    for part in name.split("/"):
        node = node / part
    return node


def _template_source(name: str) -> str | None:
    """Jinja2 source of template ``name`` (``/``-separated, relative to the templates), None if absent."""
    node = _template_node(name)
    return node.read_bytes().decode("utf-8") if node.is_file() else None


def _template_files() -> list[str]:
    """Every template file as a ``/``-separated path relative to the templates, sorted."""
    root = template_root()
    if not root.is_dir():
        raise EdgekitError(f"edgekit/{TEMPLATE_DIR}: Swift package templates not found (incomplete edgekit install)")
    found: list[str] = []

    def walk(node: Traversable, prefix: str) -> None:
        for child in node.iterdir():
            if child.name == "__pycache__":
                continue
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            elif child.is_file():
                found.append(f"{prefix}{child.name}")

    walk(root, "")
    return sorted(found)


def _out_relpath(rel: Path, pkg: PackageConfig) -> Path:
    mapping = {"HRVKit": pkg.name, "HRVKitCore": pkg.core_name, "HRVKitTests": f"{pkg.name}Tests",
               "HRVKitCoreTests": f"{pkg.core_name}Tests"}
    parts = [mapping.get(p, p) for p in rel.parts]
    if parts[-1].endswith(".j2"):
        parts[-1] = parts[-1][:-3]
    return Path(*parts)


def render_package(pkg: PackageConfig, models: list[ModelContext], fixtures: dict[str, Any], out: Path) -> None:
    """Render the templates and copy the models into ``out`` (an empty or new directory)."""
    env = _environment()
    classifier = next((m for m in models if m.role == "classifier"), None)
    forecaster = next((m for m in models if m.role == "forecaster"), None)
    regressor = next((m for m in models if m.role == "regressor"), None)
    from edgekit import STRAIN_LABELS  # noqa: PLC0415
    from edgekit.zones import GREEN_MIN, YELLOW_MIN  # noqa: PLC0415

    labels = classifier.labels if classifier else list(STRAIN_LABELS)
    context = {
        "package": pkg,
        "name": pkg.name,
        "core": pkg.core_name,
        "models": models,
        "classifier": classifier,
        "forecaster": forecaster,
        "regressor": regressor,
        "workout": fixtures["_workout_constants"],
        "activity": fixtures["_activity"],
        "labels": labels,
        "label_idents": classifier.label_idents if classifier else unique_identifiers(labels, fallback="label"),
        "constants": fixtures["_constants"],
        "prep": fixtures["_preprocessing"],
        "role_titles": ROLE_TITLES,
        "green_min": GREEN_MIN,
        "yellow_min": YELLOW_MIN,
        "edgekit_version": _edgekit_version(),
    }
    for name in _template_files():
        dest = out / _out_relpath(Path(*name.split("/")), pkg)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".j2"):
            text = env.get_template(name).render(context)
            dest.write_text(text, encoding="utf-8", newline="\n")
        else:
            dest.write_bytes(_template_node(name).read_bytes())
    resources = out / "Sources" / pkg.name / "Resources"
    resources.mkdir(parents=True, exist_ok=True)
    for m, path in fixtures.get("_mlpackages", []):
        shutil.copytree(path, resources / f"{m.resource}.mlpackage")
    for relname, doc in sorted(fixtures.items()):
        if relname.startswith("_"):
            continue
        dest = out / _out_relpath(Path(relname), pkg)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(json.dumps(doc, separators=(",", ":"), sort_keys=True, allow_nan=False) + "\n",
                        encoding="utf-8")


def _edgekit_version() -> str:
    import edgekit  # noqa: PLC0415

    return edgekit.__version__


def run_package(package_config_path: Path, build_dir: Path) -> dict:
    """The package stage: select, verify-check, render ``<build_dir>/ios/<name>/`` atomically.

    Returns a JSON-able summary: per model the bundled variant, its bytes and why it was chosen.
    """
    pkg = load_package_config(package_config_path)
    build_dir = Path(build_dir)
    used: set[str] = set()
    models: list[ModelContext] = []
    extras = []
    seen_roles: dict[str, str] = {}
    seen_names: set[str] = set()
    for entry in pkg.models:
        ctx, (cfg, choice) = _model_context(entry, build_dir, used)
        if ctx.name in seen_names:
            raise EdgekitError(f"{pkg.path}: model {ctx.name!r} listed twice")
        seen_names.add(ctx.name)
        if ctx.role in seen_roles:
            raise EdgekitError(f"{pkg.path}: two {ctx.role} models ({seen_roles[ctx.role]}, {ctx.name}); "
                               "the package bundles at most one of each")
        seen_roles[ctx.role] = ctx.name
        models.append(ctx)
        extras.append((cfg, choice))

    from edgekit.swift_fixtures import build_fixtures  # noqa: PLC0415

    fixtures = build_fixtures(models, [cfg for cfg, _ in extras], build_dir)
    fixtures["_mlpackages"] = [(m, choice.path) for m, (_, choice) in zip(models, extras)]
    out_dir = claim_build_dir(build_dir) / "ios" / pkg.name
    with atomic_path(out_dir) as tmp:
        tmp.mkdir(parents=True)
        render_package(pkg, models, fixtures, tmp)
    return {
        "package": pkg.name,
        "path": str(out_dir),
        "models": {
            m.name: {"variant": m.variant, "bytes": m.bytes, "max_kb": m.max_kb, "sha256": m.sha256,
                     "why": m.why, "compute_units": m.compute_units, "accuracy": m.accuracy_text}
            for m in models
        },
    }
