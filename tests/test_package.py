"""Package stage: config, variant selection, escaping, deterministic atomic rendering.

The Swift build of the rendered package is in ``test_package_swift.py`` (slow, needs `swift`).
Build directories here are fakes with real (tiny) checkpoints and real .mlpackages made by
coremltools, so the stage reads exactly the files the pipeline writes.
"""

from __future__ import annotations

import json
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from edgekit.core.errors import EdgekitError
from edgekit.core.fileio import sha256_file, sha256_tree
from edgekit.export.records import ConvertRecord, OnnxExport, VariantBuild, write_convert_record
from edgekit.package import (
    doc_text,
    load_package_config,
    md_code,
    resource_name,
    run_package,
    select_variant,
    swift_identifier,
    swift_string,
    unique_identifiers,
)
from edgekit.train.records import TrainRecord, write_train_records
from edgekit.verify.records import CheckRecord, OnnxParity, ParityRecord, VariantParity, write_parity_record

HOSTILE_LABELS = ['he said "hi"', "back\\slash \\(x)", "naïve 😀 ü", "class", "self", "1st", "", "line\nbreak",
                  "rawValue", "\u202egnp.exe", "*/ /* `tick`"]

SIZES = {"fp32": 9000, "fp16": 6000, "int8": 4000, "palette6": 3500, "palette4": 3000, "w8a8": 4100}


# ---------------------------------------------------------------------------------------------
# fake build directories with real tiny models


REGRESSOR_STATE = 16  # the state size of make_model's activity checkpoint (hidden 8, one layer: h and c)


def _tiny_mlpackage(path: Path, role: str, length: int, labels: list[str] | None, meta: dict | None = None) -> None:
    """A real Core ML ML program with the contract's input and outputs."""
    import coremltools as ct
    import torch

    class Classifier(torch.nn.Module):
        def __init__(self, k: int) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(1, k)

        def forward(self, x):  # (1, T, 1) -> (1, k)
            return torch.softmax(self.lin(x / 1000.0).mean(dim=1), dim=-1)

    class Regressor(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(3, 1)

        def forward(self, x, state):  # (1, T, 3), (1, S) -> (1, T), (1, S): the activity contract
            return 150.0 + self.lin(x)[:, :, 0] + state.mean(), state + x[:, :, 0].mean()

    class Forecaster(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(1, 1)

        def forward(self, x):  # (1, T, 1) -> (1, 1)
            return 100.0 * torch.sigmoid(self.lin(x / 100.0).mean(dim=1))

    torch.manual_seed(0)
    module = (Classifier(len(labels)) if role == "classifier" else Regressor() if role == "regressor"
              else Forecaster()).eval()
    channels = 3 if role == "regressor" else 1
    example = torch.rand(1, length, channels) * (10 if role == "regressor" else 1000)
    state = torch.zeros(1, REGRESSOR_STATE)
    traced = torch.jit.trace(module, (example, state) if role == "regressor" else example)
    kwargs = {}
    if role == "classifier":
        kwargs["classifier_config"] = ct.ClassifierConfig(list(labels))
    elif role == "regressor":
        kwargs["outputs"] = [ct.TensorType(name="hr_bpm"), ct.TensorType(name="activity_state_out")]
    else:
        kwargs["outputs"] = [ct.TensorType(name="fatigue_score")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        name = "activity_sequence" if role == "regressor" else "rr_sequence"
        inputs = [ct.TensorType(name=name, shape=(1, length, channels))]
        if role == "regressor":
            inputs.append(ct.TensorType(name="activity_state", shape=(1, REGRESSOR_STATE),
                                        default_value=np.zeros((1, REGRESSOR_STATE), np.float32)))
        ml = ct.convert(traced, inputs=inputs, convert_to="mlprogram", minimum_deployment_target=ct.target.iOS17,
                        **kwargs)
    ml.author = meta.get("author", "edgekit") if meta else "edgekit"
    ml.short_description = (meta or {}).get("description", "tiny test model")
    for k, v in sorted(((meta or {}).get("user_defined") or {}).items()):
        ml.user_defined_metadata[k] = v
    ml.save(str(path))


_MLCACHE: dict[tuple, Path] = {}


def _cached_mlpackage(cache_dir: Path, role: str, length: int, labels: list[str] | None) -> Path:
    key = (role, length, tuple(labels or ()))
    if key not in _MLCACHE or not _MLCACHE[key].exists():
        p = cache_dir / f"ml{len(_MLCACHE)}.mlpackage"
        _tiny_mlpackage(p, role, length, labels)
        _MLCACHE[key] = p
    return _MLCACHE[key]


def _write_checkpoint(path: Path, model_type: str, params: dict, labels: list[str]) -> None:
    import torch

    from edgekit.tasks import task_for

    torch.manual_seed(1)
    model = task_for(model_type).build_model(params)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model_type": model_type, "model_config": model.config.to_dict(), "state_dict": model.state_dict(),
                "label_names": labels, "normalization": {}, "data_fingerprint": "0" * 64,
                "edgekit_version": "test", "seed": 0, "model_name": "x"}, path)


def make_model(root: Path, build: Path, name: str, model_type: str, *, labels: list[str] | None = None,
               length: int | None = None, passed: dict[str, bool] | None = None,
               sizes: dict[str, int] | None = None, description: str = "A test model",
               metrics: dict | None = None) -> Path:
    """Config + build/<name>/{train,coreml,verify} for one model. Returns the config path."""
    role = {"strain_transformer": "classifier", "fatigue_lstm": "forecaster", "hr_activity": "regressor",
            "strain_reading": "classifier", "fatigue_slots": "forecaster"}[model_type]
    length = length or (64 if model_type == "strain_reading" else {"classifier": 16, "forecaster": 24, "regressor": 12}[role])
    labels = list(labels) if labels is not None else (["healthy", "strained", "burnout_risk"] if role == "classifier" else [])
    params = ({"window_beats": length, "d_model": 8, "n_heads": 2, "n_layers": 1, "ff_dim": 16,
               "n_classes": len(labels)} if role == "classifier" else
              {"window_steps": length, "step_s": 10.0, "hidden_size": 8, "n_layers": 1, "dropout": 0.0}
              if role == "regressor" else
              {"sequence_hours": length, "hidden_size": 8, "n_layers": 1, "dropout": 0.0})
    params.update(WATCH_PARAMS.get(model_type, {}))
    cfg = root / "configs" / f"{abs(hash(name)) % 10**8}.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    lines = ["[model]", f"name = {json.dumps(name, ensure_ascii=False)}", f'type = "{model_type}"',
             f"description = {json.dumps(description, ensure_ascii=False)}", "[model.params]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in params.items()]
    cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    mdir = build / name
    _write_checkpoint(mdir / "train" / "model.pt", model_type, params, labels)
    headline = {"accuracy": 0.912, "macro_f1": 0.897} if role == "classifier" else {"mae": 6.3, "baseline_mae": 9.1}
    write_train_records(mdir / "train", TrainRecord.from_json({
        "model": name, "model_type": model_type, "split": "test (held-out subjects)", "n_windows": {"test": 5},
        "best_epoch": 1, "epochs_run": 1, "test": dict(headline), "synthetic_data": False, "data_source": "files",
        **headline, **(metrics or {})}))
    rng = np.random.default_rng(0)
    if role == "regressor":
        X = np.stack([3 + rng.normal(0, 0.3, (5, length)), rng.normal(0, 0.02, (5, length)),
                      np.zeros((5, length))], axis=2)
    elif role == "classifier":
        X = 800 + rng.normal(0, 40, (5, length))
    else:
        X = 40 + rng.normal(0, 8, (5, length))
    np.savez(mdir / "train" / "test_set.npz", X=X.astype(np.float32), y=np.zeros(5))
    passed = passed if passed is not None else {v: True for v in SIZES}
    sizes = sizes or SIZES
    coreml = mdir / "coreml"
    coreml.mkdir(parents=True, exist_ok=True)
    base = _cached_mlpackage(root.parent / "mlcache", role, length, labels)
    variants = {}
    for variant, ok in passed.items():
        dest = coreml / f"{variant}.mlpackage"
        shutil.copytree(base, dest)
        weights = dest / "Data" / "com.apple.CoreML" / "weights" / "pad.bin"
        weights.parent.mkdir(parents=True, exist_ok=True)
        weights.write_bytes(b"\0" * sizes[variant])
        # the schema edgekit.verify.parity writes
        check = CheckRecord(name="top1_agreement" if role == "classifier" else "fp32_output", figure="agreement",
                            value=1.0 if ok else 0.8, tolerance=0.99, comparison=">=", backend="reference-evaluator",
                            passed=ok)
        figures = {"max_abs_diff": 0.004 if role == "classifier" else 0.2,
                   **({"accuracy": 0.9, "top1_agreement": 1.0} if role == "classifier" else {"mae": 6.5})}
        variants[variant] = VariantParity(path=f"coreml/{variant}.mlpackage", backend="reference-evaluator",
                                          passed=ok, checks=[check], sha256=sha256_tree(dest), bytes=sizes[variant],
                                          figures=figures)
    ckpt_sha = sha256_file(mdir / "train" / "model.pt")
    write_convert_record(mdir, ConvertRecord(
        model=name, model_type=model_type, minimum_deployment_target="iOS17",
        onnx=OnnxExport(path="onnx/model.onnx", bytes=0, opset=17, sha256="0" * 64), checkpoint_sha256=ckpt_sha,
        variants={v: VariantBuild(path=f"coreml/{v}.mlpackage", method="copied", bytes_total=sizes[v], weight_bytes=0,
                                  params=0, params_compressed=0, bits_per_param=0.0, sha256=variants[v].sha256)
                  for v in passed},
        fp16_policy=None))
    write_parity_record(mdir, ParityRecord(
        model=name, model_type=model_type, fixtures="none", fixture_count=0, test_set=None, test_windows=0,
        checkpoint_sha256=ckpt_sha, backends=["torch"], onnx=OnnxParity(passed=True, checks=[]), variants=variants,
        passed=all(passed.values())))
    return cfg


#: The watch-shaped model types and their extra params (edgekit.toml's default models).
WATCH_TYPES = ("strain_reading", "fatigue_slots", "hr_activity")
WATCH_PARAMS = {"strain_reading": {"patch_beats": 4, "min_beats": 45}, "fatigue_slots": {"min_present_hours": 2}}


def make_project(tmp: Path, *, labels=None, names=("hrv_transformer", "hrv_lstm", "hr_activity"), max_kb=(64, 64, 64),
                 passed=None, package_name="HRVKit", descriptions=("Strain", "Fatigue", "Heart rate"),
                 types=("strain_transformer", "fatigue_lstm", "hr_activity"), metrics=None) -> tuple[Path, Path]:
    root = tmp / "proj"
    build = root / "build"
    build.mkdir(parents=True)
    (build / ".edgekit-build").write_text("a hand-made build directory in edgekit's layout\n")
    entries = []
    for name, kb, mtype, desc in zip(names, max_kb, types, descriptions):
        if name is None:
            continue
        role = "classifier" if mtype in ("strain_transformer", "strain_reading") else None
        cfg = make_model(root, build, name, mtype, labels=labels if role else None,
                         passed=passed, description=desc, metrics=(metrics or {}).get(name))
        entries.append(f'[[package.models]]\nconfig = "configs/{cfg.name}"\nmax_kb = {kb}\n')
    toml = root / "edgekit.toml"
    toml.write_text(f'[package]\nname = "{package_name}"\nios = "17.0"\nwatchos = "10.0"\nmacos = "14.0"\n\n'
                    + "\n".join(entries), encoding="utf-8")
    return toml, build


# ---------------------------------------------------------------------------------------------
# escaping


def test_swift_string_escapes_everything():
    assert swift_string('a"b\\c') == '"a\\"b\\\\c"'
    assert swift_string("\\(x)") == '"\\\\(x)"'
    assert swift_string("é\n\t😀") == '"\\u{E9}\\n\\t\\u{1F600}"'
    assert swift_string("\ud800") == '"\\u{FFFD}"'
    assert swift_string("\x00\x7f") == '"\\u{0}\\u{7F}"'


def test_identifiers_are_valid_and_unique():
    import re

    idents = unique_identifiers(HOSTILE_LABELS + ["class", "Class"], fallback="label")
    assert len(set(idents)) == len(idents)
    for ident in idents:
        assert re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", ident), ident
    assert swift_identifier("burnout_risk") == "burnoutRisk"
    assert swift_identifier("class") == "class_"
    assert swift_identifier("self") == "self_"
    assert swift_identifier("1st") == "_1st"
    assert swift_identifier("naïve") == "naive"
    assert swift_identifier("😀", fallback="label3") == "label3"
    assert swift_identifier("rawValue") == "rawValue_"


def test_doc_and_markdown_text_are_one_line():
    assert "\n" not in doc_text("a\nb\u2028c")
    assert "\u202e" not in doc_text("\u202eevil")
    assert md_code("a`b") == "``a`b``"


def test_resource_names_are_safe():
    assert resource_name("hrv-lstm") == "hrv_lstm"
    assert resource_name("class") == "model_class"
    assert resource_name("1x") == "model_1x"
    assert resource_name("日本") == "model"


# ---------------------------------------------------------------------------------------------
# config


def test_load_package_config_repo_file():
    cfg = load_package_config(Path(__file__).resolve().parent.parent / "edgekit.toml")
    assert cfg.name == "HRVKit" and cfg.ios == "17.0"
    assert [m.max_kb for m in cfg.models] == [256, 128, 128]
    assert all(m.config.is_file() for m in cfg.models)


@pytest.mark.parametrize("body, match", [
    ('[package]\nname = "Bad Name"\n[[package.models]]\nconfig = "a.toml"\nmax_kb = 1\n', "module name"),
    ('[package]\nname = "K"\nios = "16.0"\n[[package.models]]\nconfig = "a.toml"\nmax_kb = 1\n', "17.0"),
    ('[package]\nname = "K"\n', "no \\[\\[package.models\\]\\]"),
    ('[package]\nname = "K"\n[[package.models]]\nconfig = "a.toml"\nmax_kb = -1\n', "max_kb"),
    ('[package]\nname = "K"\n[[package.models]]\nconfig = "a.toml"\nmax_kb = 1\ncompute_units = "gpu"\n', "compute_units"),
    ('[package]\nname = "K"\nbogus = 1\n', "unknown key"),
    ('[package\n', "not valid TOML"),
])
def test_bad_package_config(tmp_path, body, match):
    p = tmp_path / "edgekit.toml"
    p.write_text(body)
    with pytest.raises(EdgekitError, match=match) as exc:
        load_package_config(p)
    assert "\n" not in str(exc.value)


# ---------------------------------------------------------------------------------------------
# selection


def test_selects_smallest_passing_within_budget(tmp_path):
    toml, build = make_project(tmp_path, passed={"fp32": True, "fp16": True, "int8": True, "palette6": False,
                                                 "palette4": False, "w8a8": True})
    choice = select_variant("hrv_transformer", build / "hrv_transformer", 64)
    assert choice.variant == "int8"  # smallest that passed (palette6/4 failed)
    assert "palette4 failed top1_agreement (0.8 vs limit 0.99)" in choice.why
    with pytest.raises(EdgekitError, match="int8: .* KB budget"):
        select_variant("hrv_transformer", build / "hrv_transformer", (choice.bytes - 1) / 1024)


def test_no_variant_within_budget_is_one_line_error(tmp_path):
    toml, build = make_project(tmp_path, max_kb=(1, 64))
    with pytest.raises(EdgekitError) as exc:
        run_package(toml, build)
    msg = str(exc.value)
    assert "\n" not in msg and "hrv_transformer" in msg and "max_kb=1" in msg
    assert not (build / "ios" / "HRVKit").exists()


def test_unverified_model_is_never_shipped(tmp_path):
    toml, build = make_project(tmp_path, passed={v: False for v in SIZES})
    with pytest.raises(EdgekitError, match="no verified variant"):
        run_package(toml, build)
    (build / "hrv_transformer" / "verify" / "parity.json").unlink()
    with pytest.raises(EdgekitError, match="parity.json"):
        run_package(toml, build)


def test_retrained_checkpoint_makes_verify_report_stale(tmp_path):
    toml, build = make_project(tmp_path)
    mdir = build / "hrv_transformer"
    parity = json.loads((mdir / "verify" / "parity.json").read_text())
    parity["checkpoint_sha256"] = "f" * 64
    (mdir / "verify" / "parity.json").write_text(json.dumps(parity))
    with pytest.raises(EdgekitError, match="re-run verify"):
        run_package(toml, build)


def test_changed_mlpackage_after_verify_is_stale(tmp_path):
    toml, build = make_project(tmp_path)
    mdir = build / "hrv_transformer"
    parity = json.loads((mdir / "verify" / "parity.json").read_text())
    for v, entry in parity["variants"].items():
        entry["sha256"] = sha256_tree(mdir / "coreml" / f"{v}.mlpackage")
    parity["variants"]["palette4"]["sha256"] = "0" * 64
    (mdir / "verify" / "parity.json").write_text(json.dumps(parity))
    choice = select_variant("hrv_transformer", mdir, 64)
    assert choice.variant == "palette6"
    assert "palette4 changed after verification" in choice.why


# ---------------------------------------------------------------------------------------------
# rendering


def test_render_is_atomic_deterministic_and_summarised(tmp_path):
    toml, build = make_project(tmp_path)
    summary = run_package(toml, build)
    out = build / "ios" / "HRVKit"
    assert summary["models"]["hrv_transformer"]["variant"] == "palette4"
    assert summary["models"]["hrv_lstm"]["bytes"] > 0
    assert (out / "Package.swift").is_file()
    assert (out / "Sources" / "HRVKit" / "Resources" / "hrv_transformer.mlpackage").is_dir()
    assert (out / "Tests" / "HRVKitCoreTests" / "Fixtures" / "core.json").is_file()
    readme = (out / "README.md").read_text()
    assert "palette4" in readme and "smallest" in readme and "NSHealthShareUsageDescription" in readme
    first = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    run_package(toml, build)
    second = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert first == second
    leftovers = [p.name for p in (build / "ios").iterdir() if p.name.startswith(".HRVKit")]
    assert leftovers == []
    text = "".join(b.decode("utf-8", "replace") for k, b in first.items() if k.suffix in (".swift", ".md", ".json"))
    assert str(tmp_path) not in text  # no machine paths in the package


#: metrics.json "coverage" / "per_profile" as the train stage of the watch model types writes them.
WATCH_METRICS = {
    "hrv_reading": {
        "coverage": {"all": {"readings": 1298, "strain_input_reading": 0.9969},
                     "watch": {"readings": 566, "strain_input_reading": 0.9929, "strain_input_today": 0.0},
                     "strap": {"readings": 40, "strain_input_reading": 1.0}},
        "per_profile": {"watch": {"macro_f1_per_reading": 0.8258, "macro_f1_per_day": 0.9062},
                        "strap": {"macro_f1_per_reading": 0.8727, "macro_f1_per_day": 0.8824}}},
    "hrv_slots": {
        "coverage": {"watch": {"wakeups": 26, "wakeups_with_3_readings_24h": 20, "forecast_input_slots": 0.9615,
                               "forecast_input_slots_given_3_readings": 1.0},
                     "spot": {"wakeups": 26, "wakeups_with_3_readings_24h": 26, "forecast_input_slots": 1.0,
                              "forecast_input_slots_given_3_readings": 1.0}},
        "per_profile": {"watch": {"mae": 5.234, "persistence_mae": 7.41, "mae_vs_persistence": 0.7063},
                        "watch_with_3_readings_24h": {"mae": 5.0}}},
}


def make_watch_project(tmp: Path, **kw) -> tuple[Path, Path]:
    """A project bundling the watch-shaped models (edgekit.toml's defaults), with coverage metrics."""
    return make_project(tmp, names=("hrv_reading", "hrv_slots", "hr_activity"), types=WATCH_TYPES,
                        metrics=WATCH_METRICS, **kw)


def test_task_specs_declare_their_swift_input():
    from edgekit.tasks.roles import SWIFT_ENCODINGS, swift_encoding
    from edgekit.tasks import TASKS

    for spec in TASKS.values():
        assert spec.swift_input in SWIFT_ENCODINGS, spec.type
        label = SWIFT_ENCODINGS[spec.swift_input][1]
        assert (spec.swift_input_param is None) == (label is None), spec.type
        value = spec.swift_input_value({})  # the params' defaults
        assert swift_encoding(spec.swift_input, value).startswith("." + SWIFT_ENCODINGS[spec.swift_input][0])
    with pytest.raises(EdgekitError, match="unknown input encoding"):
        swift_encoding("window", None)
    with pytest.raises(EdgekitError, match="needs a value"):
        swift_encoding("reading", None)


def test_watch_models_carry_their_encoding_and_coverage(tmp_path):
    """The catalog and the generated preprocessing carry each model's declared encoding (with its
    params' minimum); the README states each call's coverage per profile from metrics.json."""
    from edgekit.config.load import load_config
    from edgekit.package import _model_context, load_package_config

    toml, build = make_watch_project(tmp_path)
    pkg = load_package_config(toml)
    ctx = {}
    for entry in pkg.models:
        m, _ = _model_context(entry, load_config(entry.config), build, set())
        ctx[m.name] = m
    assert ctx["hrv_reading"].swift_encoding == ".reading(minBeats: 45)"
    assert ctx["hrv_slots"].swift_encoding == ".hourlySlots(minPresentHours: 2)"
    assert ctx["hr_activity"].swift_encoding == ".activity"
    rows = {r["profile"]: r for r in ctx["hrv_reading"].coverage}
    assert list(rows) == ["watch", "strap"]  # README order, "all" left out
    assert rows["watch"]["text"] == ("strain can be assessed from 99.3 % of readings (566 readings); macro-F1 0.826 "
                                     "per reading, 0.906 per day (a day's readings combined)")
    slots = {r["profile"]: r for r in ctx["hrv_slots"].coverage}
    assert list(slots) == ["watch", "spot"]
    assert slots["watch"]["text"] == ("a forecast can be made at 96.2 % of wake-ups (26 wake-ups; 100 % of the 20 with "
                                      "at least 3 readings in the previous 24 h); MAE 5.2 score points, 0.71 × the "
                                      "persistence baseline's 7.4")
    assert slots["spot"]["text"] == ("a forecast can be made at 100 % of wake-ups (26 wake-ups; 100 % of the 26 with "
                                     "at least 3 readings in the previous 24 h)")
    assert ctx["hr_activity"].coverage == []

    run_package(toml, build)
    out = build / "ios" / "HRVKit"
    catalog = (out / "Sources" / "HRVKit" / "BundledModels.swift").read_text()
    assert "inputEncoding: .reading(minBeats: 45),\n" in catalog
    assert "inputEncoding: .hourlySlots(minPresentHours: 2),\n" in catalog
    assert "inputEncoding: .activity,\n" in catalog  # then the state it carries across windows
    assert 'stateInputName: "activity_state",' in catalog and "stateSize: 16\n" in catalog
    constants = (out / "Sources" / "HRVKitCore" / "Constants.swift").read_text()
    assert "inputLength: 64, encoding: .reading(minBeats: 45))" in constants
    assert "inputLength: 24, encoding: .hourlySlots(minPresentHours: 2))" in constants
    readme = (out / "README.md").read_text()
    data = " ".join(readme.split("## Data requirements", 1)[1].split("\n## ", 1)[0].split())
    assert "Apple Watch background readings (about a minute each, every 1–5 hours): strain can be assessed from " \
           "99.3 % of readings (566 readings); macro-F1 0.826 per reading, 0.906 per day" in data
    assert "a forecast can be made at 96.2 % of wake-ups" in data
    assert "at least 45 clean beats" in data and "at least 2 of those hours" in data
    assert "usually too short" not in data and "watch-only wearer gets no forecast" not in data
    assert "`.reading(minBeats: 45)`" in readme


def test_window_models_still_render_with_their_encodings(tmp_path):
    """The window-shaped models stay a working alternative: their encodings, and the README's
    requirements without coverage figures (their builds measure none)."""
    toml, build = make_project(tmp_path)
    run_package(toml, build)
    out = build / "ios" / "HRVKit"
    catalog = (out / "Sources" / "HRVKit" / "BundledModels.swift").read_text()
    assert "inputEncoding: .beatWindow,\n" in catalog and "inputEncoding: .hourlyRun,\n" in catalog
    assert "stateInputName: nil," in catalog
    constants = (out / "Sources" / "HRVKitCore" / "Constants.swift").read_text()
    assert "encoding: .beatWindow)" in constants and "encoding: .hourlyRun)" in constants
    data = " ".join((out / "README.md").read_text().split("## Data requirements", 1)[1].split("\n## ", 1)[0].split())
    assert "16 consecutive beats without a gap" in data and "watch-only wearer gets no forecast" in data
    assert "Measured on simulated recordings" not in data


def test_models_are_processed_resources_so_xcode_compiles_them(tmp_path):
    """Xcode compiles a processed .mlpackage into .mlmodelc (watchOS needs it); SwiftPM's command
    line cannot process one (it flattens the folder: "multiple resources named 'Manifest.json'"),
    so the manifest copies on Linux and with EDGEKIT_COPY_MODELS=1 (see test_package_swift)."""
    toml, build = make_project(tmp_path, names=("class", "1-naïve_model"))
    run_package(toml, build)
    manifest = (build / "ios" / "HRVKit" / "Package.swift").read_text()
    assert "func model(_ path: String) -> Resource {\n    copyModels ? .copy(path) : .process(path)\n}" in manifest
    assert ('#if os(Linux)\nlet copyModels = true\n#else\n'
            'let copyModels = ProcessInfo.processInfo.environment["EDGEKIT_COPY_MODELS"] == "1"\n#endif') in manifest
    resources = sorted(p.name for p in (build / "ios" / "HRVKit" / "Sources" / "HRVKit" / "Resources").iterdir())
    assert resources == ["model_1_naive_model.mlpackage", "model_class.mlpackage"]
    for name in resources:
        assert f'model("Resources/{name}"),' in manifest
    assert '.copy("Resources/' not in manifest and '.process("Resources/' not in manifest
    assert '.copy("Fixtures")' in manifest  # test fixtures stay copied (plain JSON, read as files)


def test_failed_render_keeps_previous_package(tmp_path, monkeypatch):
    import edgekit.package.render as render  # where run_package looks render_package up

    toml, build = make_project(tmp_path)
    run_package(toml, build)
    marker = build / "ios" / "HRVKit" / "Package.swift"
    before = marker.read_bytes()

    def boom(*a, **k):
        raise RuntimeError("render failed")

    monkeypatch.setattr(render, "render_package", boom)
    with pytest.raises(RuntimeError):
        run_package(toml, build)
    assert marker.read_bytes() == before


def test_duplicate_or_equivalent_labels_refused(tmp_path):
    toml, build = make_project(tmp_path, labels=["caf\u00e9", "cafe\u0301", "x"])
    with pytest.raises(EdgekitError, match="not distinct as Swift strings"):
        run_package(toml, build)


def test_hostile_labels_are_escaped(tmp_path):
    toml, build = make_project(tmp_path, labels=HOSTILE_LABELS, names=("class", "1-naïve_model"),
                               descriptions=('quote " and \\ and """ and \\(interp)', "new\nline */"))
    run_package(toml, build)
    out = build / "ios" / "HRVKit"
    labels = (out / "Sources" / "HRVKitCore" / "StrainLabel.swift").read_text()
    for label in HOSTILE_LABELS:
        assert swift_string(label) in labels
    catalog = (out / "Sources" / "HRVKit" / "BundledModels.swift").read_text()
    assert swift_string('quote " and \\ and """ and \\(interp)') in catalog
    assert (out / "Sources" / "HRVKit" / "Resources" / "model_class.mlpackage").is_dir()


def test_model_metadata_labels_must_match_checkpoint(tmp_path):
    import coremltools as ct

    toml, build = make_project(tmp_path)
    mdir = build / "hrv_transformer"
    parity = json.loads((mdir / "verify" / "parity.json").read_text())
    for variant in SIZES:
        path = mdir / "coreml" / f"{variant}.mlpackage"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ml = ct.models.MLModel(str(path), skip_model_load=True)
            ml.user_defined_metadata["edgekit.labels"] = "healthy,burnout_risk,strained"
            tmp = path.with_name(path.name + ".new.mlpackage")
            ml.save(str(tmp))
        shutil.rmtree(path)
        tmp.rename(path)
        parity["variants"][variant]["sha256"] = sha256_tree(path)
    (mdir / "verify" / "parity.json").write_text(json.dumps(parity))
    with pytest.raises(EdgekitError, match="metadata labels"):
        run_package(toml, build)


# ---------------------------------------------------------------------------------------------
# the Swift API does not depend on the bundled models

#: The generated Swift sources: data only (the catalog, labels, constants) and the module re-export.
DATA_SOURCES = {"Sources/HRVKit/BundledModels.swift", "Sources/HRVKitCore/Constants.swift",
                "Sources/HRVKitCore/StrainLabel.swift"}
GENERATED_SOURCES = DATA_SOURCES | {"Sources/HRVKit/Exports.swift"}


def _swift_files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.swift"))
            if ".build" not in p.parts and p.name != "Package.swift"}


def _code_only(swift: str) -> str:
    """Swift source without comments and string literals (enough for generated files)."""
    swift = re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', swift)
    return "\n".join(line.split("//", 1)[0] for line in swift.splitlines())


def test_generated_swift_sources_are_data_only():
    """Only the data files (and the module re-export) are Swift source templates, and no Swift
    template branches on the bundled models."""
    from edgekit.package import _template_files, _template_source

    templates = {name[:-3] for name in _template_files() if name.startswith("Sources/") and name.endswith(".j2")}
    assert templates == GENERATED_SOURCES
    for name in _template_files():
        if name.startswith(("Sources/", "Tests/")) and name.endswith(".swift.j2"):
            assert not re.search(r"\{%-?\s*(if|elif)\b", _template_source(name)), \
                f"{name}: the API must not depend on the bundled models"


@pytest.mark.parametrize("names", [("hrv_transformer", None), (None, "hrv_lstm"), (None, None, "hr_activity")],
                         ids=["classifier", "forecaster", "activity"])
def test_swift_api_is_the_same_whatever_models_are_bundled(tmp_path, names):
    toml, build = make_project(tmp_path / "both")
    run_package(toml, build)
    both = build / "ios" / "HRVKit"
    toml1, build1 = make_project(tmp_path / "one", names=names)
    summary = run_package(toml1, build1)
    one = build1 / "ios" / "HRVKit"
    assert list(summary["models"]) == [n for n in names if n]
    a, b = _swift_files(both), _swift_files(one)
    assert a.keys() == b.keys()
    differ = {name for name in a if a[name] != b[name]}
    assert differ <= DATA_SOURCES, f"API files differ: {sorted(differ - DATA_SOURCES)}"
    assert "Sources/HRVKit/BundledModels.swift" in differ
    for name in DATA_SOURCES:
        code = _code_only(b[name].decode())
        assert not re.search(r"\b(func|init|switch|if|guard|for|while|repeat|var|protocol|struct|class|actor)\b",
                             code), name
    catalog = b["Sources/HRVKit/BundledModels.swift"].decode()
    roles = ("strainClassifier", "fatigueForecaster", "heartRatePredictor")
    for role, name in zip(roles, tuple(names) + (None,) * (3 - len(names))):
        assert (f"role: .{role}," in catalog) == (name is not None), role
    # The manifest differs only in the bundled resources.
    def manifest(pkg: Path) -> list[str]:
        return [line for line in (pkg / "Package.swift").read_text().splitlines() if 'model("Resources/' not in line]
    assert manifest(both) == manifest(one)
