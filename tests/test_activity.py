"""The heart-rate-from-activity model through the real stages on a tiny synthetic population."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit import person_eval
from edgekit.build import run_stage
from edgekit.config import load_config
from edgekit.data import hr_kinetics
from edgekit.data.workout_examples import with_context

TINY = """
[model]
name = "act_tiny"
type = "hr_activity"
[model.params]
window_steps = 48
step_s = 10.0
hidden_size = 16
n_layers = 1
[data]
subjects = 8
workouts_per_runner = 10
seed = 5
window_stride_steps = 48
context_minutes = 2.0
[train]
epochs = 2
batch_size = 32
patience = 1
class_weighting = false
[convert]
variants = ["fp32", "int8"]
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("activity")
    (root / "configs").mkdir()
    cfg_path = root / "configs" / "act_tiny.toml"
    cfg_path.write_text(TINY)
    cfg = load_config(cfg_path)
    build = root / "build"
    for stage in ("data", "train", "convert", "verify", "report"):
        run_stage(cfg, stage, build)
    return cfg, build / "act_tiny"


def test_windows_follow_the_input_contract(built):
    _, model_dir = built
    with np.load(model_dir / "data" / "windows.npz") as z:
        X, y, ctx = z["X"], z["y"], z["context_steps"]
        assert X.ndim == 3 and X.shape[1:] == (48, 3) and X.dtype == np.float32 and np.isfinite(X).all()
        assert y.shape == X.shape[:2] and np.isfinite(y).any()
        assert set(ctx.tolist()) == {0, 12}  # 2 min of 10 s steps
        plain, given = X[ctx == 0], X[ctx == 12]
        assert (plain[:, :, 2] == 0).all() and (given[:, 12:, 2] == 0).all() and (given[:, :12, 2] > 0).any()
        assert {"subject", "year", "workout"} <= set(z.files)


def test_the_build_leaves_the_person_scenario_to_edgekit_evaluate(built, capsys):
    """The train stage writes held-out figures per HR-sampling profile but not the person scenario;
    ``edgekit evaluate --person`` runs it, writes person/person.json with date and config fingerprint,
    and the report shows it; another run of the report stage re-runs no evaluator."""
    from edgekit.build import is_up_to_date
    from edgekit.cli import main

    cfg, model_dir = built
    m = json.loads((model_dir / "train" / "metrics.json").read_text())
    assert np.isfinite(m["test"]["mae"]) and m["test"]["n_steps"] > 0
    assert "person" not in m and m["held_out_by_profile"]
    stamp = json.loads((model_dir / ".stamps" / "train.json").read_text())
    assert stamp["cpu_seconds"] > 0 and stamp["seconds"] > 0  # make bench reads both
    assert not (model_dir / "person").exists()
    md = (model_dir / "report" / "report.md").read_text()
    assert "One person over the years" not in md and "Held-out runners by HR sampling" in md
    assert main(["evaluate", "--config", str(cfg.path), "--out", str(model_dir.parent), "--person"]) == 0
    assert "wrote" in capsys.readouterr().out
    doc = json.loads((model_dir / "person" / "person.json").read_text())
    assert doc["date"].endswith("Z") and len(doc["config_fingerprint"]) == 64
    person = doc["result"]
    if "skipped" not in person:
        names = set(person["results"])
        assert {"baseline: the person's mean HR", "baseline: first-order kinetics fitted to the person",
                "baseline: population LSTM, no context, no fine-tuning", "fine-tuned, no context",
                "fine-tuned + context"} <= names
        assert all(np.isfinite(v["mae_bpm"]) for v in person["results"].values())
        md = (model_dir / "report" / "report.md").read_text()
        assert "One person over the years" in md and doc["date"] in md and doc["config_fingerprint"][:12] in md
    for stage in ("data", "train", "convert", "verify", "report"):
        assert is_up_to_date(cfg, stage, model_dir.parent), stage


def test_the_report_reruns_no_evaluator(built, monkeypatch):
    """The report stage reads evaluate/ and person/; it never runs the real-set evaluation, the person
    scenario or a training again (each raises here)."""
    import edgekit.evaluate
    import edgekit.train
    from edgekit.tasks import task_for

    cfg, model_dir = built

    def refuse(*a, **k):
        raise AssertionError("the report ran an evaluator")

    for owner, name in ((person_eval, "evaluate_person"), (person_eval, "run"), (edgekit.evaluate, "run"),
                        (edgekit.train, "fit"), (type(task_for(cfg.model.type)), "evaluate_real")):
        monkeypatch.setattr(owner, name, refuse)
    run_stage(cfg, "report", model_dir.parent)
    assert (model_dir / "report" / "report.md").is_file()


def test_person_scenario_is_refused_for_a_model_without_one(tmp_path, capsys):
    from edgekit.cli import main

    (tmp_path / "configs").mkdir()
    p = tmp_path / "configs" / "slots.toml"
    p.write_text('[model]\nname = "s"\ntype = "fatigue_slots"\n')
    assert main(["evaluate", "--config", str(p), "--out", str(tmp_path / "build"), "--person"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("edgekit: error:") and "person scenario" in err and len(err.strip().splitlines()) == 1


def test_every_variant_passes_parity_on_the_saved_program(built):
    _, model_dir = built
    doc = json.loads((model_dir / "verify" / "parity.json").read_text())
    assert doc["passed"] and doc["fixture_count"] >= 32 and doc["onnx"]["passed"]
    assert set(doc["variants"]) == {"fp32", "int8"}
    assert (model_dir / "report" / "report.html").is_file()


def test_context_channel_encoding():
    hr = np.array([150.0, np.nan, 152.0, 153.0, 154.0], np.float32)
    assert with_context(hr, 3).tolist() == [150.0, 0.0, 152.0, 0.0, 0.0]
    assert with_context(hr, 0).tolist() == [0.0] * 5


def test_kinetics_fit_recovers_a_known_response():
    t = np.arange(240)
    speed = np.where(t < 60, 2.0, 3.5)[None].repeat(4, 0) + 0.0
    grade = np.zeros_like(speed)
    truth = hr_kinetics.Kinetics(70.0, 24.0, 58.0, 10.0)
    hr = truth.predict(speed, grade) + np.random.default_rng(0).normal(0, 1, speed.shape)
    fit = hr_kinetics.fit(speed, grade, hr, 10.0)
    assert abs(fit.gain_bpm_per_mps - 24.0) < 1.0 and abs(fit.tau_s - 58.0) < 8.0
    uphill = hr_kinetics.effort(np.array([3.0]), np.array([0.1]))[0]
    assert uphill > 3.0 * 1.5  # Minetti: +10 % grade costs ~1.6x the flat energy


def _gpx(path, workout) -> None:
    """A GPX file of a synthetic workout: track points with elevation, time and Garmin HR."""
    from datetime import datetime, timezone

    hr_at = np.interp(workout.route_t_s, workout.hr_t_s, workout.hr_bpm)
    pts = []
    for t, la, lo, al, hr in zip(workout.route_t_s, workout.lat_deg, workout.lon_deg, workout.altitude_m, hr_at):
        stamp = datetime.fromtimestamp(float(t), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        pts.append(f'<trkpt lat="{la:.7f}" lon="{lo:.7f}"><ele>{al:.1f}</ele><time>{stamp}</time>'
                   f'<extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>{hr:.0f}</gpxtpx:hr>'
                   f'</gpxtpx:TrackPointExtension></extensions></trkpt>')
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="test" '
                    'xmlns="http://www.topografix.com/GPX/1/1" '
                    'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">'
                    '<trk><type>running</type><trkseg>' + "".join(pts) + "</trkseg></trk></gpx>\n")


@pytest.mark.parametrize("variant", ["torch", "int8"])
def test_predict_a_gpx_workout(built, tmp_path, capsys, variant):
    from edgekit.cli import main
    from edgekit.data.workout_synth import generate_runner

    cfg, model_dir = built
    workout = generate_runner(3, seed=9, workouts_per_runner=1, route_step_s=5.0)[0]
    gpx = tmp_path / "run.gpx"
    _gpx(gpx, workout)
    args = ["predict", "--config", str(cfg.path), str(gpx), "--build", str(model_dir.parent), "--json",
            "--context-minutes", "2"]
    if variant != "torch":
        args += ["--variant", variant]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    (rec,) = out["predictions"]
    assert rec["mae_bpm"] is not None and 0 < rec["mae_bpm"] < 80 and rec["n_scored_steps"] > 10
    assert len(rec["hr_bpm"]) == len(rec["recorded_hr_bpm"]) and rec["context_minutes"] == 2.0
    assert main(["predict", "--config", str(cfg.path), str(gpx), "--build", str(model_dir.parent),
                 "--context-minutes", "-1"]) != 0


SHIFT = TINY.replace('name = "act_tiny"', 'name = "act_shift"').replace("window_steps = 48", "window_steps = 60") \
    .replace("hidden_size = 16", "hidden_size = 24").replace("subjects = 8", "subjects = 16") \
    .replace("workouts_per_runner = 10", "workouts_per_runner = 24").replace("seed = 5", "seed = 3") \
    .replace("window_stride_steps = 48", "window_stride_steps = 60").replace("context_minutes = 2.0", "context_minutes = 3.0") \
    .replace("epochs = 2", "epochs = 8").replace("patience = 1", "patience = 3").replace("[train]\n", "[train]\nlr = 0.004\n")


def test_temporal_shift_fine_tuning_and_context(tmp_path):
    """The person's newest year (their fitness changed): fine-tuning on their older workouts beats the
    population model there, and calibration context helps further (synthetic, seeded)."""
    (tmp_path / "configs").mkdir()
    p = tmp_path / "configs" / "act_shift.toml"
    p.write_text(SHIFT)
    cfg = load_config(p)
    for stage in ("data", "train"):
        run_stage(cfg, stage, tmp_path / "build")
    person = person_eval.run(cfg, tmp_path / "build")["result"]
    r = {k: v["mae_bpm"] for k, v in person["results"].items()}
    assert person["test_year"] > max(person["train_years"])
    assert r["fine-tuned, no context"] < r["baseline: population LSTM, no context, no fine-tuning"]
    assert r["fine-tuned + context"] < r["fine-tuned, no context"]
    assert person["fine_tune_gain_bpm"] > 0


def test_training_data_from_fitrec_json_lines(tmp_path):
    """[data] source = "files": FitRec-style JSON lines stream through the (non-strict) quality filter."""
    from edgekit.build import run_data_stage
    from edgekit.data import workout_synth

    pop = tmp_path / "pop.jsonl"
    n = workout_synth.write_jsonl(pop, (w for ch in workout_synth.iter_population(4, 6, seed=4, hr_sampling="mixed")
                                        for w in ch))
    (tmp_path / "configs").mkdir()
    cfg_path = tmp_path / "configs" / "from_files.toml"
    cfg_path.write_text(TINY.replace('name = "act_tiny"', 'name = "from_files"').replace(
        "[data]\n", f'[data]\nsource = "files"\ninputs = ["{pop.as_posix()}"]\n'))
    summary = run_data_stage(load_config(cfg_path), tmp_path / "build")
    assert summary["quality_filter"]["read"] == n == 24 and summary["quality_filter"]["kept"] == n
    assert summary["n_subjects"] == 4 and summary["n_windows"] > 0 and not summary["synthetic"]


def test_person_scenario_without_context(tmp_path):
    """data.context_minutes = 0: no context copies; the scenario reports the rows it can."""
    (tmp_path / "configs").mkdir()
    p = tmp_path / "configs" / "act_noctx.toml"
    p.write_text(SHIFT.replace('name = "act_shift"', 'name = "act_noctx"').replace("context_minutes = 3.0",
                                                                                   "context_minutes = 0.0")
                 .replace("epochs = 8", "epochs = 1"))
    cfg = load_config(p)
    for stage in ("data", "train"):
        run_stage(cfg, stage, tmp_path / "build")
    person = person_eval.run(cfg, tmp_path / "build")["result"]
    assert "fine-tuned, no context" in person["results"] and "fine-tuned + context" not in person["results"]
