"""The heart-rate-from-activity model through the real stages on a tiny synthetic population."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import REPO

from edgekit.train import person as person_eval
from edgekit.pipeline.build import run_stage
from edgekit.config.load import load_config
from edgekit.data.signal import hr_kinetics
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
calibration = "offset"
[data]
subjects = 8
workouts_per_runner = 10
seed = 5
window_stride_steps = 48
train_steps = 96
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


@pytest.mark.slow
def test_windows_follow_the_input_contract(built):
    _, model_dir = built
    with np.load(model_dir / "data" / "windows.npz") as z:
        X, y, ctx = z["X"], z["y"], z["context_steps"]
        # data.train_steps = 96: each workout from its start, one example of 96 steps (twice: +- context)
        assert X.ndim == 3 and X.shape[1:] == (96, 3) and X.dtype == np.float32 and np.isfinite(X).all()
        assert len(X) == 2 * 8 * 10 and np.array_equal(np.bincount(z["workout"]), np.full(80, 2))
        assert y.shape == X.shape[:2] and np.isfinite(y).any()
        assert set(ctx.tolist()) == {0, 12}  # 2 min of 10 s steps
        plain, given = X[ctx == 0], X[ctx == 12]
        assert (plain[:, :, 2] == 0).all() and (given[:, 12:, 2] == 0).all() and (given[:, :12, 2] > 0).any()
        assert {"subject", "year", "workout"} <= set(z.files)


@pytest.mark.slow
def test_the_build_leaves_the_person_scenario_to_edgekit_evaluate(built, capsys):
    """The train stage writes held-out figures per HR-sampling profile but not the person scenario;
    ``edgekit evaluate --person`` runs it, writes person/person.json with date and config fingerprint,
    and the report shows it; another run of the report stage re-runs no evaluator."""
    from edgekit.pipeline.build import is_up_to_date
    from edgekit.cli.main import main

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


@pytest.mark.slow
def test_the_report_reruns_no_evaluator(built, monkeypatch):
    """The report stage reads evaluate/ and person/; it never runs the real-set evaluation, the person
    scenario or a training again (each raises here)."""
    import edgekit.run.evaluate
    import edgekit.train.fit
    from edgekit.tasks import task_for

    cfg, model_dir = built

    def refuse(*a, **k):
        raise AssertionError("the report ran an evaluator")

    for owner, name in ((person_eval, "evaluate_person"), (person_eval, "run"), (edgekit.run.evaluate, "run"),
                        (edgekit.train.fit, "fit"), (type(task_for(cfg.model.type)), "evaluate_real")):
        monkeypatch.setattr(owner, name, refuse)
    run_stage(cfg, "report", model_dir.parent)
    assert (model_dir / "report" / "report.md").is_file()


def test_person_scenario_is_refused_for_a_model_without_one(tmp_path, capsys):
    from edgekit.cli.main import main

    (tmp_path / "configs").mkdir()
    p = tmp_path / "configs" / "slots.toml"
    p.write_text('[model]\nname = "s"\ntype = "fatigue_slots"\n')
    assert main(["evaluate", "--config", str(p), "--out", str(tmp_path / "build"), "--person"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("edgekit: error:") and "person scenario" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_every_variant_passes_parity_on_the_saved_program(built):
    _, model_dir = built
    doc = json.loads((model_dir / "verify" / "parity.json").read_text())
    assert doc["passed"] and doc["fixture_count"] >= 32 and doc["onnx"]["passed"]
    assert set(doc["variants"]) == {"fp32", "int8"}
    assert (model_dir / "report" / "report.html").is_file()
    # the state carried across windows: whole held-out runs (96 steps = 2 windows of 48), window after window
    assert {c["name"] for c in doc["onnx"]["checks"]} == {"onnx", "onnx_state"}
    fp32 = {c["name"]: c for c in doc["variants"]["fp32"]["checks"]}
    assert fp32["fp32_state"]["passed"] and fp32["fp32_state"]["value"] < 0.01
    assert doc["variants"]["int8"]["figures"]["max_abs_diff_carried_state"] < 5.0


@pytest.mark.slow
def test_the_program_takes_the_state_as_an_optional_input(built):
    """The saved ML program: input activity_sequence and an optional activity_state (zeros when not
    given), outputs hr_bpm and activity_state_out; metadata names them and the state size."""
    from edgekit.verify import ReferenceEvaluator
    from edgekit.mil.program import load_spec

    _, model_dir = built
    pkg = model_dir / "coreml" / "fp32.mlpackage"
    spec = load_spec(pkg)
    inputs = {f.name: f for f in spec.description.input}
    assert list(inputs) == ["activity_sequence", "activity_state"]
    assert inputs["activity_state"].type.isOptional and not inputs["activity_sequence"].type.isOptional
    assert [o.name for o in spec.description.output] == ["hr_bpm", "activity_state_out"]
    ud = spec.description.metadata.userDefined
    assert ud["edgekit.state_input"] == "activity_state" and int(ud["edgekit.state_size"]) == 2 * 16 + 3
    ev = ReferenceEvaluator(pkg)
    assert ev.optional_inputs == ["activity_state"]
    x = np.zeros((1, 48, 3), np.float32)
    x[..., 0] = 3.0
    first = ev.run({"activity_sequence": x})
    same = ev.run({"activity_sequence": x, "activity_state": np.zeros((1, 35), np.float32)})
    assert np.array_equal(first["hr_bpm"], same["hr_bpm"])
    later = ev.run({"activity_sequence": x, "activity_state": first["activity_state_out"]})
    assert not np.allclose(later["hr_bpm"], first["hr_bpm"])  # the run goes on: it remembers


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
        ele = f"<ele>{al:.1f}</ele>" if np.isfinite(al) else ""
        pts.append(f'<trkpt lat="{la:.7f}" lon="{lo:.7f}">{ele}<time>{stamp}</time>'
                   f'<extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>{hr:.0f}</gpxtpx:hr>'
                   f'</gpxtpx:TrackPointExtension></extensions></trkpt>')
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="test" '
                    'xmlns="http://www.topografix.com/GPX/1/1" '
                    'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">'
                    '<trk><type>running</type><trkseg>' + "".join(pts) + "</trkseg></trk></gpx>\n")


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["torch", "int8"])
def test_predict_a_gpx_workout(built, tmp_path, capsys, variant):
    from edgekit.cli.main import main
    from edgekit.data.synth.workouts import generate_runner

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
    assert rec["n_steps"] == len(rec["hr_bpm"]) >= rec["n_predicted_steps"] >= rec["n_scored_steps"]
    assert [w for w in out["warnings"] if "trained on SYNTHETIC data" not in w] == []  # no sport or size warning
    assert main(["predict", "--config", str(cfg.path), str(gpx), "--build", str(model_dir.parent),
                 "--context-minutes", "-1"]) != 0


def _predict(cfg, model_dir, *inputs, extra=()):
    from edgekit.cli.main import main

    return main(["predict", "--config", str(cfg.path), *map(str, inputs), "--build", str(model_dir.parent), *extra])


@pytest.mark.slow
def test_predict_refuses_other_sports_in_one_line(built, tmp_path, capsys):
    """A cycling FIT, TCX and GPX are refused (one line naming the file and the sport, nothing on
    stdout); walking is predicted with a warning; steps scored are printed."""
    from test_data_workouts import FIT_RECORDS, _fit_file

    from edgekit.data.synth.workouts import generate_runner

    cfg, model_dir = built
    bike = tmp_path / "ride.fit"
    bike.write_bytes(_fit_file(FIT_RECORDS, sport=2))  # FIT sport 2 = cycling
    assert _predict(cfg, model_dir, bike) == 1
    out = capsys.readouterr()
    assert out.out == "" and out.err.count("\n") == 1
    assert f"{bike}: workout ride.fit#0: sport 'cycling' is not running" in out.err
    workout = generate_runner(2, seed=4, workouts_per_runner=1, route_step_s=5.0)[0]
    gpx = tmp_path / "walk.gpx"
    _gpx(gpx, workout)
    for kind, code in (("cycling", 1), ("hiking", 0), ("9", 0)):  # 9: Strava's run
        gpx.write_text(gpx.read_text().replace("<type>running</type>", f"<type>{kind}</type>")
                       .replace("<type>cycling</type>", f"<type>{kind}</type>")
                       .replace("<type>hiking</type>", f"<type>{kind}</type>"))
        assert _predict(cfg, model_dir, gpx, extra=["--context-minutes", "0"]) == code, kind
        out = capsys.readouterr()
        if kind == "hiking":
            assert "edgekit: warning:" in out.err and "'hiking': predicted as a run/walk" in out.err
            assert " scored " in out.out and " predicted, " in out.out
    tcx = tmp_path / "bike.tcx"
    tcx.write_text('<?xml version="1.0"?><TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/'
                   'TrainingCenterDatabase/v2"><Activities><Activity Sport="Biking"><Id>2025-03-01T06:00:00Z</Id>'
                   '<Lap StartTime="2025-03-01T06:00:00Z"><Track>'
                   + "".join(f"<Trackpoint><Time>2025-03-01T06:{m:02d}:00Z</Time><Position><LatitudeDegrees>"
                             f"{47 + m * 1e-3}</LatitudeDegrees><LongitudeDegrees>8.5</LongitudeDegrees></Position>"
                             "<HeartRateBpm><Value>120</Value></HeartRateBpm></Trackpoint>" for m in range(12))
                   + "</Track></Lap></Activity></Activities></TrainingCenterDatabase>")
    assert _predict(cfg, model_dir, tcx) == 1
    assert "sport 'biking' is not running" in capsys.readouterr().err


@pytest.mark.slow
def test_predict_refuses_a_workout_too_short_for_one_step(built, tmp_path, capsys):
    """A one-point GPX (issue 24: it printed 'predicted mean nan bpm') is refused with one line."""
    cfg, model_dir = built
    one = tmp_path / "one.gpx"
    one.write_text('<?xml version="1.0"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
                   '<trk><trkseg><trkpt lat="47.0" lon="8.0"><ele>400</ele><time>2025-03-01T06:00:00Z</time></trkpt>'
                   "</trkseg></trk></gpx>")
    assert _predict(cfg, model_dir, one, extra=["--json"]) == 1
    out = capsys.readouterr()
    assert out.out == "" and "nan" not in out.err
    assert out.err.strip() == (f"edgekit: error: {one}: workout one.gpx#0: too short to predict one 10 s step "
                               "(1 route point over 0 s, no step with a speed)")


SHIFT = TINY.replace('name = "act_tiny"', 'name = "act_shift"').replace("window_steps = 48", "window_steps = 60") \
    .replace("hidden_size = 16", "hidden_size = 24").replace("subjects = 8", "subjects = 16") \
    .replace("workouts_per_runner = 10", "workouts_per_runner = 24").replace("seed = 5", "seed = 3") \
    .replace("window_stride_steps = 48", "window_stride_steps = 60").replace("context_minutes = 2.0", "context_minutes = 3.0") \
    .replace("train_steps = 96", "train_steps = 0") \
    .replace("epochs = 2", "epochs = 8").replace("patience = 1", "patience = 3").replace("[train]\n", "[train]\nlr = 0.004\n")


def _train(tmp_path_factory, text: str, name: str):
    root = tmp_path_factory.mktemp(name)
    (root / "configs").mkdir()
    p = root / "configs" / f"{name}.toml"
    p.write_text(text)
    cfg = load_config(p)
    for stage in ("data", "train"):
        run_stage(cfg, stage, root / "build")
    return cfg, root / "build" / name


@pytest.fixture(scope="module")
def shift(tmp_path_factory):
    """A small activity model (offset calibration) trained on windows of 60 steps."""
    return _train(tmp_path_factory, SHIFT, "act_shift")


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """A small activity model (offset calibration, windows of 60 steps) trained on whole workouts
    (their first hour: data.train_steps = 360), as the bundled model is."""
    return _train(tmp_path_factory, SHIFT.replace('name = "act_shift"', 'name = "act_whole"')
                  .replace("train_steps = 0", "train_steps = 360"), "act_whole")


@pytest.mark.slow
def test_temporal_shift_fine_tuning_and_context(shift):
    """The person's newest year (their fitness changed): fine-tuning on their older workouts beats the
    population model there, and calibration context helps further (synthetic, seeded)."""
    cfg, model_dir = shift
    person = person_eval.run(cfg, model_dir.parent)["result"]
    r = {k: v["mae_bpm"] for k, v in person["results"].items()}
    assert person["test_year"] > max(person["train_years"])
    assert r["fine-tuned, no context"] < r["baseline: population LSTM, no context, no fine-tuning"]
    assert r["fine-tuned + context"] < r["fine-tuned, no context"]
    assert person["fine_tune_gain_bpm"] > 0


def _two_hour_run(profile: dict, seed: int = 7):
    """A synthetic run of exactly two hours (a long workout cut to 7200 s) of a runner with ``profile``."""
    import dataclasses

    from edgekit.data.synth.workouts import generate_runner

    for i in range(40):
        for w in generate_runner(i, seed=seed, workouts_per_runner=30, route_step_s=5.0, profile=profile):
            if w.duration_s >= 7200 and not any(a["kind"].startswith("pause") or a["kind"] == "strap_contact"
                                                for a in w.meta["artifacts"]):
                end = w.start_s + 7200.0
                r, h = w.route_t_s <= end, w.hr_t_s <= end
                return dataclasses.replace(w, end_s=end, route_t_s=w.route_t_s[r], lat_deg=w.lat_deg[r],
                                           lon_deg=w.lon_deg[r], altitude_m=w.altitude_m[r], speed_mps=w.speed_mps[r],
                                           hr_t_s=w.hr_t_s[h], hr_bpm=w.hr_bpm[h])
    raise AssertionError("no two-hour run")


@pytest.mark.slow
def test_two_hour_run_carries_the_context_to_its_end(whole):
    """A two-hour run (12 windows of 10 min) is one run: what the model learned from the first 5 min
    of HR still lowers the error in the second hour. Windows started anew (the old predict) lose it
    after the first window: their second hour is the no-context prediction. Core ML (fp32 program,
    window after window with the state carried) matches torch on the whole run."""
    import torch

    from edgekit.data.signal.workout_grid import to_grid
    from edgekit.run.predict import load_runner
    from edgekit.data.workout_examples import workout_input
    from edgekit.models.workout_run import predict_grid

    cfg, model_dir = whole
    runner = load_runner(cfg, model_dir.parent)
    # a runner whose HR is ~25 bpm above the population's at any pace: the context must carry that level
    w = _two_hour_run({"hr_rest0_bpm": 85.0, "drift_bpm_per_min": 0.0, "sensor": "chest"})
    grid = to_grid(w)
    T = len(grid)
    assert T == 721
    rec = np.asarray(grid.hr_bpm, np.float64)
    second = (np.arange(T) >= 360) & np.isfinite(rec)
    ctx = 30  # 5 min
    with_ctx, _ = predict_grid(runner.run, grid, ctx)
    without, _ = predict_grid(runner.run, grid, 0)

    def mae(p):
        sel = second & np.isfinite(p)
        return float(np.mean(np.abs(p[sel] - rec[sel])))

    assert mae(with_ctx) < mae(without) - 5.0, (mae(with_ctx), mae(without))
    # the old way: every 60-step window from zeros, the context only in the first: from the second
    # window on, context or not makes no difference, and the second hour gets none of it
    def restarted(c):
        x, valid = workout_input(grid, c)
        n = -(-T // 60)
        padded = np.zeros((n * 60, 3), np.float32)
        padded[:T] = x
        return np.where(valid, runner.run(padded.reshape(n, 60, 3)).reshape(-1)[:T], np.nan)

    old_ctx, old_none = restarted(ctx), restarted(0)
    assert np.allclose(old_ctx[60:], old_none[60:], equal_nan=True)
    assert mae(with_ctx) < mae(old_ctx) - 5.0
    # the Core ML program, window after window, the state carried: the same run within 0.05 bpm
    ml = load_runner(cfg, model_dir.parent, "fp32") if (model_dir / "coreml" / "fp32.mlpackage").is_dir() else None
    if ml is None:
        from edgekit.pipeline.build import run_stage

        run_stage(cfg, "convert", model_dir.parent)
        ml = load_runner(cfg, model_dir.parent, "fp32")
    ml_ctx, _ = predict_grid(ml.run, grid, ctx)
    sel = np.isfinite(with_ctx)
    assert np.max(np.abs(ml_ctx[sel] - with_ctx[sel])) < 0.05
    assert torch.get_num_threads() >= 1


def test_a_pause_is_predicted_with_hr_recovery(bundled_build):
    """After a pause with the watch paused (no samples for minutes), the bundled model predicts the first
    step from the recovery the runner's HR makes, not from rest (issue 23: 75 bpm predicted, 114 recorded).

    The bundled model is judged, not a small one trained here: a 24-unit model of 8 epochs on 16 runners
    was off by a median of 1-16 bpm at this step depending on its training seed, and by -12 to +18 with
    8-16 epochs (measured when the simulator's drift doubled); the bundled model by 5 (synthetic)."""
    from edgekit.data.signal.workout_grid import to_grid
    from edgekit.data.synth.workouts import generate_runner
    from edgekit.run.predict import load_runner
    from edgekit.models.workout_run import predict_grid

    cfg = load_config(REPO / "configs" / "hr_activity.toml")
    if not (bundled_build / cfg.model.name / "train" / "model.pt").is_file():
        pytest.skip(f"{bundled_build}: no bundled {cfg.model.name} model")
    runner = load_runner(cfg, bundled_build)
    errors, gaps = [], []
    for i in range(30):
        for w in generate_runner(i, seed=23, workouts_per_runner=20, route_step_s=5.0):
            for a in w.meta["artifacts"]:
                if a["kind"] == "pause_unrecorded" and a["end_s"] - a["start_s"] >= 240:
                    grid = to_grid(w)
                    pred, _ = predict_grid(runner.run, grid, 18)
                    rec = np.asarray(grid.hr_bpm, np.float64)
                    k = int(np.ceil((a["end_s"] - grid.start_s) / grid.step_s))
                    while k < len(grid) and not (np.isfinite(rec[k]) and np.isfinite(pred[k])):
                        k += 1
                    before = rec[:int((a["start_s"] - grid.start_s) // grid.step_s)]
                    if k < len(grid) and np.isfinite(before).any():
                        errors.append(pred[k] - rec[k])
                        gaps.append(np.nanmax(before[-6:]) - rec[k])
        if len(errors) >= 8:
            break
    assert len(errors) >= 8
    assert np.median(gaps) > 15  # HR fell during the pause, but far from rest
    assert np.median(np.abs(errors)) < 15, errors


def test_training_data_from_fitrec_json_lines(tmp_path):
    """[data] source = "files": FitRec-style JSON lines stream through the (non-strict) quality filter."""
    from edgekit.pipeline.build import run_data_stage
    from edgekit.data.synth import workouts as workout_synth
    from edgekit.data.synth.workout_jsonl import write_jsonl

    pop = tmp_path / "pop.jsonl"
    n = write_jsonl(pop, (w for ch in workout_synth.iter_population(4, 6, seed=4, hr_sampling="mixed")
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


@pytest.mark.parametrize("calibration", ["none", "offset", "kinetics"])
def test_state_carried_across_windows_is_the_whole_run(calibration):
    """Three windows, each from the state the previous one ended with, equal the run read at once;
    the exported form takes the state as a second input and gives it back."""
    import torch

    from edgekit.models.hr_activity import HRActivity, StatefulActivity, state_size
    from edgekit.models.params import HRActivityConfig

    torch.manual_seed(0)
    cfg = HRActivityConfig(window_steps=20, hidden_size=8, n_layers=2, calibration=calibration,
                           context_settle_s=60.0 if calibration == "offset" else 0.0)
    m = HRActivity(cfg).eval()
    m.set_normalization(2.5, 0.8, 0.02, 140.0, 20.0, kin_hr0_bpm=95.0, kin_gain_bpm_per_mps=21.0)
    t = torch.arange(60.0)
    x = torch.stack([2.5 + torch.sin(t / 7), 0.02 * torch.cos(t / 11), torch.where(t < 25, 150.0 + t, 0.0)], 1)[None]
    with torch.no_grad():
        whole = m(x)
        state, parts = torch.zeros(1, m.state_size), []
        for i in range(3):
            y, state = StatefulActivity(m)(x[:, 20 * i:20 * (i + 1)], state)
            parts.append(y)
    assert m.state_size == state_size(cfg) == state.shape[1]
    assert torch.allclose(torch.cat(parts, 1), whole, atol=1e-5)
    assert torch.equal(StatefulActivity(m)(x[:, :20]), m(x[:, :20]))  # no state: the start of a run
