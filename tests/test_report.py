"""The report stage: files, byte counts vs disk, figures vs their source files, bad input, HTML rendering."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from edgekit.config.load import load_config
from edgekit.core.errors import EdgekitError
from edgekit.report import REPORT_FILES, run, write_build_summary
from edgekit.report.sources import resolve_source
from test_report_fixtures import make_build

MODELS = ("hrv_transformer", "hrv_lstm")
PLOTS = {"hrv_transformer": {"size_vs_accuracy.png", "confusion.png", "training_curves.png", "parity_errors.png"},
         "hrv_lstm": {"size_vs_accuracy.png", "training_curves.png", "parity_errors.png"}}


def _cfgs(root: Path):
    return [load_config(root / "configs" / f"{m}.toml") for m in MODELS]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A fake build of both models with their reports and the build summary."""
    root = tmp_path_factory.mktemp("proj")
    build = make_build(root)
    for cfg in _cfgs(root):
        run(cfg, build)
    write_build_summary(_cfgs(root), build)
    return root


@pytest.fixture
def fresh(tmp_path: Path, built: Path) -> Path:
    """A private copy of the built project (for tests that damage it)."""
    dst = tmp_path / "proj"
    shutil.copytree(built, dst)
    return dst


def _report(root: Path, model: str) -> dict:
    return json.loads((root / "build" / model / "report" / "report.json").read_text())


def test_every_model_has_three_report_files_and_plots(built: Path) -> None:
    for model in MODELS:
        out = built / "build" / model / "report"
        for name in REPORT_FILES:
            assert (out / name).stat().st_size > 0, name
        pngs = {p.name for p in out.glob("*.png")}
        assert pngs == PLOTS[model]
        for p in pngs:
            assert (out / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert set(_report(built, model)["plots"]) == pngs


def _disk_bytes(path: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files)
    return total


def test_every_byte_count_equals_the_files_on_disk(built: Path) -> None:
    for model in MODELS:
        rep = _report(built, model)
        md = built / "build" / model
        assert {r["name"] for r in rep["variants"]} == {p.stem for p in (md / "coreml").glob("*.mlpackage")}
        for r in rep["variants"]:
            pkg = md / r["path"]
            assert r["bytes_total"] == _disk_bytes(pkg), r["name"]
            assert r["weight_bytes"] == os.path.getsize(pkg / "Data/com.apple.CoreML/weights/weight.bin")
            assert r["bits_per_param_blob"] == pytest.approx(8 * r["weight_bytes"] / r["params"])
        # the Markdown shows the same sizes
        text = (md / "report" / "report.md").read_text()
        for r in rep["variants"]:
            assert f"| {r['name']} | {r['precision']} | {r['bytes_total'] / 1024:,.1f} |" in text


ACCURACY_FIELDS = ("accuracy", "macro_f1", "mae", "onnx_max_abs_diff", "onnx_top1_agreement",
                   "coreml_max_abs_diff", "coreml_top1_agreement", "coreml_backend", "passed", "bits_per_param")


def test_every_figure_equals_its_source_file(built: Path) -> None:
    for model in MODELS:
        rep = _report(built, model)
        md = built / "build" / model
        cache: dict = {}
        parity = json.loads((md / "verify" / "parity.json").read_text())
        metrics = json.loads((md / "train" / "metrics.json").read_text())
        convert = json.loads((md / "coreml" / "convert.json").read_text())
        for r in rep["variants"]:
            for field, source in r["sources"].items():
                assert resolve_source(md, source, cache) == r[field], (model, r["name"], field, source)
            # no measured figure without a source
            for field in ACCURACY_FIELDS:
                if r.get(field) is not None:
                    assert field in r["sources"], (model, r["name"], field)
            # independently of the pointers: the report's figures are the verify stage's figures
            p = parity["variants"][r["name"]]
            assert r["passed"] is p["passed"]
            assert r["coreml_max_abs_diff"] == p["max_abs_diff"]
            assert r["coreml_backend"] == p["backend"]
            assert r["bits_per_param"] == convert["variants"][r["name"]]["bits_per_param"]
            if r["name"] == "fp32":
                assert r["onnx_max_abs_diff"] == parity["onnx"]["max_abs_diff"]
            else:
                assert r["onnx_max_abs_diff"] is None  # no ONNX of a quantized variant
            if rep["role"] == "classifier":
                assert r["accuracy"] == p["accuracy"]
                assert r["coreml_top1_agreement"] == p["top1_agreement"]
                assert r["accuracy_drop"] == p["accuracy_drop"]
                assert r["macro_f1"] == p["macro_f1"]
                assert r["macro_f1_drop"] == p["figures"]["macro_f1_drop"]
            else:
                assert r["mae"] == p["mae"]
                assert r["mae_drop"] == p["figures"]["mae_change"]
            gates = [(g["name"], g["passed"], g["value"], g["limit"]) for g in r["gates"]]
            assert gates == [(c["name"], c["passed"], c["value"], c["tolerance"]) for c in p["checks"]]
        assert [(g["name"], g["value"]) for g in rep["onnx_gates"]] == [
            (c["name"], c["value"]) for c in parity["onnx"]["checks"]]
        assert rep["verify_passed"] is parity["passed"]
        for k, v in rep["fp32_torch"].items():
            if k != "source":
                assert v == metrics["test"][k]
        assert rep["test_metrics"] == metrics["test"]
        assert rep["params"] == metrics["params"]


def _verify_figures(cfg, variant: str, seed: int) -> dict:
    """Figures of one variant as the verify stage computes them (verify.parity.variant_checks) from
    synthetic torch / Core ML outputs on a synthetic held-out test set."""
    import numpy as np

    from edgekit.verify.backends import Outputs
    from edgekit.verify.gates import variant_checks

    rng = np.random.default_rng(seed)
    classifier = cfg.model.type == "strain_transformer"
    if classifier:
        labels = ["healthy", "strained", "burnout_risk"]
        ref_fix, ref_test = (Outputs(rng.dirichlet(np.ones(3), size=n), labels) for n in (10, 300))
        got_fix, got_test = (Outputs(np.abs(o.values + rng.normal(0, 0.05, o.values.shape)))
                             for o in (ref_fix, ref_test))
        got_fix.labels = [labels[int(k)] for k in got_fix.values.argmax(axis=1)]
        y_test = rng.integers(0, 3, 300)
    else:
        ref_fix, ref_test = (Outputs(rng.uniform(0, 100, n)) for n in (10, 240))
        got_fix, got_test = (Outputs(o.values + rng.normal(0, 0.5, o.values.shape)) for o in (ref_fix, ref_test))
        y_test = rng.uniform(0, 100, 240)
    _, figures = variant_checks(variant, classifier, cfg.verify, ref_fix, got_fix, ref_test, got_test, y_test)
    return figures


def _html_table(page: str, heading: str) -> tuple[list[str], list[list[str]]]:
    """(header cells, body rows) of the table after ``<h2>heading</h2>`` in a report.html."""
    import html

    table = page.split(f"<h2>{html.escape(heading)}</h2>", 1)[1].split("</table>", 1)[0]
    cell = re.compile(r"<t[hd][^>]*>(.*?)</t[hd]>")
    head, body = table.split("</thead>", 1)
    return ([html.unescape(c) for c in cell.findall(head)],
            [[html.unescape(c) for c in cell.findall(tr)] for tr in body.split("</tr>") if "<td" in tr])


def test_accuracy_table_shows_every_variants_held_out_metric(fresh: Path) -> None:
    """Each variant's row of the HTML accuracy table shows the held-out metric verify measured for it
    (macro-F1 of the classifier, MAE of the forecaster), not a dash; figures from verify's own code."""
    from edgekit.report.render import num

    build = fresh / "build"
    for cfg in _cfgs(fresh):
        path = build / cfg.name / "verify" / "parity.json"
        parity = json.loads(path.read_text())
        for i, (variant, entry) in enumerate(parity["variants"].items()):
            for key in entry.pop("figures"):  # drop the fake's figures (and their top-level copies)
                entry.pop(key, None)
            entry["figures"] = _verify_figures(cfg, variant, i)
        path.write_text(json.dumps(parity))
        run(cfg, build)
        metric, header = ("macro_f1", "macro-F1") if cfg.model.type == "strain_transformer" else ("mae", "MAE")
        headers, rows = _html_table((build / cfg.name / "report" / "report.html").read_text(),
                                    "Held-out accuracy and parity")
        col = headers.index(header)
        assert {r[0] for r in rows} == set(parity["variants"])
        for r in rows:
            assert r[col] != "—", (cfg.name, r[0], header)
            assert r[col] == num(parity["variants"][r[0]]["figures"][metric], 3), (cfg.name, r[0], header)


def test_packaged_variant_and_reason_come_from_the_package_stage(built: Path) -> None:
    from edgekit.package import select_variant

    for model, max_kb in (("hrv_transformer", 256), ("hrv_lstm", 128)):
        rep = _report(built, model)
        choice = select_variant(model, built / "build" / model, max_kb)
        assert rep["packaging"]["variant"] == choice.variant
        assert rep["packaging"]["why"] == choice.why
        assert [r["name"] for r in rep["variants"] if r["packaged"]] == [choice.variant]
        failed = next(r for r in rep["variants"] if r["name"] == "palette4")
        assert failed["passed"] is False and failed["package_status"] == "failed"
        assert "palette4" in (built / "build" / model / "report" / "report.md").read_text()


def test_bundled_variant_is_identified_on_disk_by_hash(fresh: Path) -> None:
    build = fresh / "build"
    res = build / "ios" / "HRVKit" / "Sources" / "HRVKit" / "Resources"
    res.mkdir(parents=True)
    shutil.copytree(build / "hrv_lstm" / "coreml" / "int8.mlpackage", res / "hrvLstm_0123abcd.mlpackage")
    (build / "ios" / ".package-stamp.json").write_text('{"seconds": 4.25}')
    cfgs = _cfgs(fresh)
    run(cfgs[1], build)
    assert _report(fresh, "hrv_lstm")["packaging"]["bundled_on_disk"] == "int8"
    write_build_summary(cfgs, build)
    text = (build / "report.md").read_text()
    assert "int8 ✓" in text and "Package stage: 4.2 s" in text


def test_build_summary_covers_both_models(built: Path) -> None:
    text = (built / "build" / "report.md").read_text()
    for model in MODELS:
        assert f"[{model}]({model}/report/report.md)" in text
        assert f"## {model}" in text
        rep = _report(built, model)
        assert f"**Why {rep['packaging']['variant']}:**" in text
    assert "## Build time per stage" in text


def test_stage_times_and_environment(built: Path) -> None:
    rep = _report(built, "hrv_transformer")
    stamps = built / "build" / "hrv_transformer" / ".stamps"
    for stage in ("data", "train", "convert", "verify"):
        assert rep["stage_seconds"][stage] == json.loads((stamps / f"{stage}.json").read_text())["seconds"]
    env = rep["environment"]
    assert env["packages"]["torch"] and env["packages"]["coremltools"] and env["python"]
    assert "git" in env
    text = (built / "build" / "hrv_transformer" / "report" / "report.md").read_text()
    assert "## Build time per stage" in text and "## Environment" in text
    # no machine paths in what the report writes
    for name in REPORT_FILES:
        assert str(built) not in (built / "build" / "hrv_transformer" / "report" / name).read_text()


def test_plots_are_deterministic(fresh: Path, built: Path) -> None:
    cfg = _cfgs(fresh)[0]
    run(cfg, fresh / "build")
    for name in PLOTS["hrv_transformer"]:
        a = (built / "build" / "hrv_transformer" / "report" / name).read_bytes()
        b = (fresh / "build" / "hrv_transformer" / "report" / name).read_bytes()
        assert a == b, name


def test_html_is_one_self_contained_file(built: Path) -> None:
    for model in MODELS:
        page = (built / "build" / model / "report" / "report.html").read_text()
        assert page.startswith("<!DOCTYPE html>")
        assert "<script" not in page and "<link" not in page
        assert not re.search(r"""(src|href)\s*=\s*["'](?!data:|#)""", page)
        imgs = re.findall(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
        assert len(imgs) == len(PLOTS[model])


# ---------------------------------------------------------------------------------------------
# bad input: one line naming the file, no partial report


BAD_FILES = ["train/metrics.json", "train/history.json", "train/model.pt", "data/summary.json",
             "coreml/convert.json", "verify/parity.json"]


@pytest.mark.parametrize("rel", BAD_FILES)
@pytest.mark.parametrize("damage", ["missing", "malformed"])
def test_bad_stage_file_is_one_line_error_naming_it(fresh: Path, rel: str, damage: str) -> None:
    md = fresh / "build" / "hrv_transformer"
    before = {p.name: p.read_bytes() for p in (md / "report").iterdir()}
    target = md / rel
    if damage == "missing":
        target.unlink()
    else:
        target.write_bytes(b"{not json" if rel.endswith(".json") else b"garbage")
    with pytest.raises(EdgekitError) as exc:
        run(_cfgs(fresh)[0], fresh / "build")
    msg = str(exc.value)
    assert "\n" not in msg and str(target) in msg, msg
    # the previous report is left exactly as it was, and no temporary directory remains
    assert {p.name: p.read_bytes() for p in (md / "report").iterdir()} == before
    assert [p.name for p in md.iterdir() if p.name.startswith(".report")] == []


@pytest.mark.parametrize("mutate, needle", [
    (lambda d: d.pop("test"), "missing 'test'"),
    (lambda d: d["test"].pop("confusion"), "test.confusion"),
    (lambda d: d.update(params=1), "params 1 differ"),
])
def test_wrong_shape_metrics_is_one_line_error(fresh: Path, mutate, needle: str) -> None:
    path = fresh / "build" / "hrv_transformer" / "train" / "metrics.json"
    doc = json.loads(path.read_text())
    mutate(doc)
    path.write_text(json.dumps(doc))
    shutil.rmtree(fresh / "build" / "hrv_transformer" / "report")
    with pytest.raises(EdgekitError, match=re.escape(needle)) as exc:
        run(_cfgs(fresh)[0], fresh / "build")
    assert str(path) in str(exc.value)
    assert not (fresh / "build" / "hrv_transformer" / "report").exists()


def test_missing_mlpackage_and_stamp_are_named(fresh: Path) -> None:
    md = fresh / "build" / "hrv_lstm"
    shutil.rmtree(md / "coreml" / "fp16.mlpackage")
    with pytest.raises(EdgekitError, match=re.escape(str(md / "coreml" / "fp16.mlpackage"))):
        run(_cfgs(fresh)[1], fresh / "build")
    (md / ".stamps" / "train.json").write_text("[]")
    md2 = fresh / "build" / "hrv_transformer"
    (md2 / ".stamps" / "train.json").write_text('{"seconds": "slow"}')
    with pytest.raises(EdgekitError, match=re.escape(str(md2 / ".stamps" / "train.json"))):
        run(_cfgs(fresh)[0], fresh / "build")


def test_build_summary_without_model_report_names_it(fresh: Path) -> None:
    shutil.rmtree(fresh / "build" / "hrv_lstm" / "report")
    with pytest.raises(EdgekitError, match=re.escape(str(fresh / "build" / "hrv_lstm" / "report" / "report.json"))):
        write_build_summary(_cfgs(fresh), fresh / "build")


def test_cli_report_prints_one_line_error(fresh: Path, capsys) -> None:
    from edgekit.cli.main import main

    (fresh / "build" / "hrv_lstm" / "verify" / "parity.json").unlink()
    rc = main(["report", "--config", str(fresh / "configs" / "hrv_lstm.toml"), "--out", str(fresh / "build")])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and err.count("\n") == 0 and err.startswith("edgekit: error: ") and "parity.json" in err


# ---------------------------------------------------------------------------------------------
# the HTML renders in a headless browser


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_html_renders_in_headless_chromium(built: Path, tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium on this machine (make setup installs it: apt-get install chromium)")
    from PIL import Image

    page = built / "build" / "hrv_transformer" / "report" / "report.html"
    shot = tmp_path / "report.png"
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--no-first-run", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}",
              "--enable-logging=stderr", "--v=0"]
    proc = subprocess.run(common + ["--window-size=1280,2600", f"--screenshot={shot}", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line
               or "net::ERR" in line or "Failed to load resource" in line]
    assert console == [], console
    img = Image.open(shot).convert("RGB")
    assert img.size == (1280, 2600)
    colors = img.getcolors(maxcolors=1 << 20)
    assert colors is not None and len(colors) > 200  # text, tables and plots, not a blank page
    keep = os.environ.get("EDGEKIT_REPORT_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)
    dom = subprocess.run(common + ["--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0
    assert "hrv_transformer — size / accuracy report" in dom.stdout
    assert dom.stdout.count("<img") == len(PLOTS["hrv_transformer"])


WATCH_METRICS = {
    "coverage": {
        "watch": {"strain_input_reading": 0.9929, "readings": 566, "forecast_input_slots": 1.0,
                  "forecast_input_slots_given_3_readings": 1.0, "wakeups": 91, "wakeups_with_3_readings_24h": 91},
        "strap": {"strain_input_reading": 1.0, "readings": 40, "forecast_input_slots": 0.815,
                  "forecast_input_slots_given_3_readings": 1.0, "wakeups": 27, "wakeups_with_3_readings_24h": 22},
    },
    "per_profile": {"watch": {"macro_f1_per_reading": 0.8258, "macro_f1_per_day": 0.9062,
                              "mae": 5.4, "persistence_mae": 9.5, "mae_vs_persistence": 0.568},
                    "strap": {"macro_f1_per_reading": 0.8727, "macro_f1_per_day": 0.8824}},
    "accuracy_vs_beats": [{"beats": 16, "macro_f1": 0.69, "watch_macro_f1": 0.66},
                          {"beats": 45, "macro_f1": 0.85, "watch_macro_f1": 0.80},
                          {"beats": 96, "macro_f1": 0.90, "watch_macro_f1": 0.87}],
}


@pytest.mark.parametrize("model_type", ["strain_reading", "fatigue_slots"])
def test_watch_models_report_coverage_per_profile_and_the_beats_curve(model_type) -> None:
    """Watch-shaped models: the report carries coverage and accuracy per recording profile (from
    metrics.json, the figures the package README states) and, for the reading classifier, a plot of
    macro-F1 against the beats of a reading."""
    from edgekit.report.collect import coverage_section
    from edgekit.report.plots import accuracy_vs_beats
    from edgekit.report.render import _coverage_rows
    from edgekit.tasks import task_for

    task = task_for(model_type)
    section = coverage_section(task, WATCH_METRICS, {} if model_type == "fatigue_slots" else {"min_beats": 45})
    report = {"role": task.role.name, "coverage": section}
    head, rows = _coverage_rows(report)
    assert [r[0].split(" (")[0] for r in rows] == ["Apple Watch background readings", "chest-strap recordings"]
    if task.role.has_labels:
        assert head[2:] == ["input available", "macro-F1 per reading", "macro-F1 per day"]
        assert rows[0][1:] == ["566", "99.3 %", "0.8258", "0.9062"]
        assert section["min_beats"] == 45 and accuracy_vs_beats(report).startswith(b"\x89PNG")
    else:
        assert rows[0][2:] == ["100.0 %", "100.0 %", "5.4", "0.568"] and rows[1][2] == "81.5 %"
    assert coverage_section(task_for("strain_transformer"), {}, None) is None  # nothing measured: no section
