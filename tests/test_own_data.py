"""A user's own data through the bundled model types (issue 24): training and fine-tuning
``strain_reading`` / ``fatigue_slots`` from labelled files, the per-reading and per-wake-up label
forms, small data without tracebacks, and refusals that leave no directories behind."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from edgekit.pipeline.build import run_data_stage, run_stage
from edgekit.cli.main import main
from edgekit.config.load import load_config
from edgekit.core.errors import InputError

from helpers import synth, tiny_config, write_apple_export, write_fit_hrv


@pytest.fixture(scope="module")
def watch(synth_cohort):
    """A labelled watch-profile table (3 subjects, 5 days: one ~1 min reading every few hours)."""
    return synth_cohort(subjects=3, days=5, seed=3, profiles="watch", name="watch.csv")


# --- finding 1: the bundled model types train from files -------------------------------------------


@pytest.mark.parametrize("kind", ["reading", "slots"])
def test_bundled_types_make_training_examples_from_files(watch, kind):
    """Was: 'trains on the synthetic cohort only for now' for strain_reading and fatigue_slots."""
    cfg = load_config(tiny_config(watch.parent, kind, ["watch.csv"]))
    s = run_data_stage(cfg, watch.parent / f"b_{kind}")
    assert s["source"] == "files" and s["synthetic"] and s["n_windows"] > 10
    a = np.load(watch.parent / f"b_{kind}" / cfg.name / "data" / "windows.npz")
    if kind == "reading":
        assert s["windows_per_profile"] == {"recorded": s["n_windows"]} and s["n_excluded_label"] == 0
        assert ((a["X"] > 0).sum(axis=1) >= 45).all() and set(a["y"].tolist()) <= {0, 1, 2}
    else:
        assert s["n_series"] == 3 * 4  # wake-ups of days 1-4 of each subject (day 0 has no score in force)
        assert (a["present_hours"] >= 1).all() and np.isfinite(a["y_today"]).all()


def _synthetic_twin(cfg):
    syn = copy.deepcopy(cfg)
    syn.data.source, syn.data.subjects, syn.data.days, syn.data.seed = "synthetic", 3, 5, 3
    syn.data.profiles = ["watch"]
    return syn


def test_reading_windows_from_the_table_equal_the_synthetic_source(watch, tmp_path):
    """The labelled table of `data synth` gives the synthetic source's reading windows and labels."""
    cfg = load_config(tiny_config(watch.parent, "reading", ["watch.csv"], name="reading_twin"))
    cfg.data.seed = 3  # the twin's: a reading longer than the window is cut into pieces drawn from data.seed
    run_data_stage(cfg, tmp_path / "f")
    run_data_stage(_synthetic_twin(cfg), tmp_path / "s")
    f = np.load(tmp_path / "f" / cfg.name / "data" / "windows.npz")
    s = np.load(tmp_path / "s" / cfg.name / "data" / "windows.npz")
    assert f["X"].shape == s["X"].shape and np.abs(f["X"] - s["X"]).max() < 1e-3  # the CSV's 6 decimals
    assert (f["y"] == s["y"]).all() and (f["subject"] == s["subject"]).all()


def test_wakeup_scores_file_gives_the_synthetic_slots_examples(watch, tmp_path):
    """Per wake-up scores (subject,time_s,fatigue_score at each wake-up) give exactly the synthetic
    source's slots inputs and targets."""
    from edgekit.data.synth import cohort as sim

    co = sim.generate(3, 5, 3, recordings=["watch"])
    rows = ["subject,time_s,fatigue_score"]
    for si, name in enumerate(co.subject_ids.tolist()):
        for day in range(co.readiness.shape[1]):
            if day * 24 + int(co.wake_hour[si]) > co.score.shape[1]:
                break  # as the synthetic source: wake-ups within the simulated hours
            t = sim.EPOCH0 + (day * 24 + int(co.wake_hour[si])) * 3600.0
            rows.append(f"{name},{t:.3f},{co.readiness[si, day]:.6f}")
    (watch.parent / "wake.csv").write_text("\n".join(rows) + "\n")
    lines = watch.read_text().splitlines()
    (watch.parent / "rr_only.csv").write_text("\n".join([",".join(r.split(",")[:5]) for r in lines[1:]]) + "\n")
    cfg = load_config(tiny_config(watch.parent, "slots", ["rr_only.csv", "wake.csv"], name="slots_twin"))
    run_data_stage(cfg, tmp_path / "f")
    run_data_stage(_synthetic_twin(cfg), tmp_path / "s")
    f = np.load(tmp_path / "f" / cfg.name / "data" / "windows.npz")
    s = np.load(tmp_path / "s" / cfg.name / "data" / "windows.npz")
    assert f["X"].shape == s["X"].shape and np.abs(f["X"] - s["X"]).max() < 1e-3
    assert np.allclose(f["y"], s["y"], atol=1e-4) and np.allclose(f["y_today"], s["y_today"], atol=1e-4)


def test_labels_per_reading_file(watch, tmp_path):
    """A labels file with one row per reading (subject,time_s,label) labels every beat of that
    reading; a row that names no reading is refused with its line."""
    from edgekit.data.readers.labelled import load_labelled_files
    from edgekit.data.signal.windows import reading_units

    lines = watch.read_text().splitlines()
    (tmp_path / "rr.csv").write_text("\n".join([",".join(r.split(",")[:5]) for r in lines[1:]]) + "\n")
    full = load_labelled_files(load_config(tiny_config(watch.parent, "reading", [str(watch)], name="full")))
    rows = ["subject,time_s,label"]
    for u in reading_units(full.table):
        a, e = u[0][0], u[-1][1]
        mid = 0.5 * (full.table.time_s[a] + full.table.time_s[e - 1])  # any time inside the reading
        rows.append(f"{full.table.subject[a]},{mid:.3f},{['healthy', 'strained', 'burnout_risk'][full.beat_label[a]]}")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    cfg = load_config(tiny_config(tmp_path, "reading", ["rr.csv", "labels.csv"], name="per_reading"))
    got = load_labelled_files(cfg)
    assert (got.beat_label == full.beat_label).all()
    (tmp_path / "labels.csv").write_text("subject,time_s,label\nS000,1.0,healthy\n")
    with pytest.raises(InputError, match=r"labels.csv: line 2: no reading of subject 'S000' at time_s 1.000"):
        load_labelled_files(cfg)


def test_apple_export_keeps_one_reading_per_heartbeat_series(tmp_path):
    """An Apple export's HRV records are readings: a record split by a dropped beat is still one
    reading (one training window, one prediction)."""
    from edgekit.data.readers.labelled import load_labelled_files
    from edgekit.data.signal.windows import reading_units

    export = write_apple_export(tmp_path / "export.xml", readings=6, drop_beat_in=2)
    (tmp_path / "labels.csv").write_text("subject,time_s,label\n" + "\n".join(
        f"export,{t:.3f},{lab}" for t, lab in zip(export["starts"], ["healthy", "strained"] * 3)) + "\n")
    p = tiny_config(tmp_path, "reading", ["export.xml", "labels.csv"], name="apple")
    p.write_text(p.read_text().replace('[train]', 'format = "apple-health"\n[train]'))
    cfg = load_config(p)
    d = load_labelled_files(cfg)
    assert len(np.unique(d.table.segment)) == 7  # six records, one split by the dropped beat
    assert len(reading_units(d.table)) == 6
    s = run_data_stage(cfg, tmp_path / "b")
    assert s["n_windows"] == 6 and s["class_counts"] == {"healthy": 3, "strained": 3, "burnout_risk": 0}


def test_refusal_leaves_no_empty_directories(tmp_path):
    """Was: a refused fine-tuning left empty hrv_slots/ and hrv_slots_personal/data/ behind."""
    rec = tmp_path / "rec.txt"
    rec.write_text("\n".join(str(800 + 30 * np.sin(i)) for i in range(400)) + "\n")
    # a population model of the bundled forecaster type, trained on the synthetic cohort as shipped
    pop = tiny_config(tmp_path, "slots", [])
    pop.write_text(pop.read_text().replace('source = "files"\ninputs = []',
                                           'source = "synthetic"\nsubjects = 3\ndays = 3\nprofiles = ["watch"]'))
    cfg = load_config(pop)
    for stage in ("data", "train"):
        run_stage(cfg, stage, tmp_path / "population")
    ckpt = tmp_path / "population" / cfg.name / "train" / "model.pt"
    build = tmp_path / "build"
    # the person's file has no scores: refused, and the new build directory is gone again
    assert main(["train", "--config", str(pop), "--out", str(build), "--init-from", str(ckpt),
                 "--data", str(rec), "--format", "rr-text"]) == 1
    assert not build.exists()
    assert main(["train", "--config", str(pop), "--out", str(tmp_path / "population"), "--init-from", str(ckpt),
                 "--data", str(rec), "--format", "rr-text"]) == 1
    assert not (tmp_path / "population" / f"{cfg.name}_personal").exists()
    # an unlabelled file: the data stage refuses, nothing is left either
    p = tiny_config(tmp_path, "reading", ["rec.txt"])
    p.write_text(p.read_text().replace("[train]", 'format = "rr-text"\n[train]'))
    assert main(["build", "--config", str(p), "--out", str(build)]) == 1
    assert not build.exists()
    # a build directory in use: the failed model leaves no directory, the rest stays
    build.mkdir()
    (build / ".edgekit-build").write_text("edgekit build directory\n")
    (build / "other_model").mkdir()
    (build / "other_model" / "notes.txt").write_text("keep")
    assert main(["build", "--config", str(p), "--out", str(build)]) == 1
    assert sorted(x.name for x in build.iterdir()) == [".edgekit-build", "other_model"]
    assert (build / "other_model" / "notes.txt").read_text() == "keep"


# --- finding 2: small data never ends in a traceback; fine-tuning warns as training does -------------


def test_one_cycle_schedule_of_five_steps():
    """Was: ZeroDivisionError in OneCycleLR when epochs x batches = 5 (a one-batch person, 5 epochs)."""
    import torch

    from edgekit.train.fit import one_cycle_pct_start

    for total in range(1, 40):
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=total,
                                                    pct_start=one_cycle_pct_start(total))
        for _ in range(total):
            opt.step()
            sched.step()
    assert one_cycle_pct_start(4000) == 0.2  # every real run keeps its schedule (same weights)


def test_small_finetune_writes_warnings_not_a_traceback(tmp_path, capsys):
    """A fine-tuning set of one batch for 5 epochs (5 optimizer steps): no traceback; metrics.json
    carries the same weak-result warnings as training, and they are printed."""
    person = synth(tmp_path / "person.csv", "--subjects", "1", "--days", "14", "--seed", "99", "--profiles", "watch")
    pop = synth(tmp_path / "pop.csv", "--subjects", "3", "--days", "4", "--seed", "1", "--profiles", "watch")
    cfg = load_config(tiny_config(tmp_path, "slots", [pop.name], epochs=5))
    build = tmp_path / "build"
    for stage in ("data", "train"):
        run_stage(cfg, stage, build)
    code = main(["train", "--config", str(cfg.path), "--out", str(build), "--init-from",
                 str(build / cfg.name / "train" / "model.pt"), "--data", str(person)])
    err = capsys.readouterr().err
    assert code in (0, 1) and "Traceback" not in err
    m = json.loads((build / f"{cfg.name}_personal" / "train" / "metrics.json").read_text())
    assert m["n_windows"]["train"] <= 32 and m["epochs_run"] >= 1
    assert any("only" in w and "windows" in w for w in m["warnings"]), m["warnings"]
    assert m["synthetic_data"] is True
    for w in m["warnings"]:
        assert w in err


# --- finding 8: outputs say when a model was trained on SYNTHETIC data -------------------------------


def test_package_readme_says_synthetic(tmp_path):
    """Was: 'MAE 7.52 bpm (held-out test subjects)' as measured accuracy, no word of the simulator."""
    from test_package import WATCH_METRICS, WATCH_TYPES, make_project

    from edgekit.package import run_package

    trained = {"hrv_reading": {"synthetic_data": True, "data_source": "synthetic"},
               "hrv_slots": {"synthetic_data": False, "data_source": "files"},
               "hr_activity": {"synthetic_data": True, "data_source": "synthetic"}}
    toml, build = make_project(tmp_path, names=tuple(trained), types=WATCH_TYPES,
                               metrics={k: {**WATCH_METRICS.get(k, {}), **v} for k, v in trained.items()})
    run_package(toml, build)
    readme = (build / "ios" / "HRVKit" / "README.md").read_text()
    table = readme.split("## Bundled models", 1)[1].split("Why these variants", 1)[0]
    rows = {r.split("|")[1].strip().replace("\\", ""): r for r in table.splitlines() if r.startswith("| hr")}
    assert "| SYNTHETIC data |" in rows["hrv_reading"] and "held-out SYNTHETIC test subjects" in rows["hr_activity"]
    assert "| recorded data (files) |" in rows["hrv_slots"] and "SYNTHETIC" not in rows["hrv_slots"]
    assert "not on real wearers" in table


def test_report_says_what_the_model_was_trained_on():
    from edgekit.report.render import trained_on

    assert trained_on({"synthetic": True, "note": "SYNTHETIC cohort"}).startswith("SYNTHETIC data")
    assert trained_on({"synthetic": False, "source": "files"}) == "recorded data from files"


# --- findings 5-7: predict answers every reading, finds the build, and warns ---------------------------


@pytest.fixture(scope="module")
def built(watch):
    """Tiny hrv_reading- and hrv_slots-type models trained on the SYNTHETIC watch table, fp32 verified."""
    build = watch.parent / "build_p"
    cfgs = {}
    for kind in ("reading", "slots"):
        cfg = tiny_config(watch.parent, kind, ["watch.csv"], name=f"{kind}_p")
        assert main(["-q", "build", "--config", str(cfg), "--out", str(build)]) == 0
        cfgs[kind] = cfg
    return {"build": build, "cfg": cfgs, "root": watch.parent}


def _rr_text(path: Path, n: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    path.write_text("\n".join(f"{850 + 40 * np.sin(i / 3) + 10 * rng.standard_normal():.1f}" for i in range(n)) + "\n")
    return path


def _predict(built, kind, *args) -> tuple[int, dict | None, str]:
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["predict", "--config", str(built["cfg"][kind]), "--build", str(built["build"]), *args])
    text = out.getvalue()
    return code, (json.loads(text) if "--json" in args and code == 0 else None), err.getvalue()


@pytest.mark.slow
def test_predict_answers_every_reading_of_a_recording(built, tmp_path):
    """Was: one answer (the newest 128 beats) for a one-hour recording."""
    rec = _rr_text(tmp_path / "hour.txt", 64 + 2 * 128)
    code, out, _ = _predict(built, "reading", str(rec), "--format", "rr-text", "--json")
    assert code == 0
    p = out["predictions"]
    assert [r["beats"] for r in p] == [64, 128, 128]  # oldest first, the newest 128 last
    assert p[0]["start_time_s"] < p[1]["start_time_s"] < p[2]["start_time_s"]


@pytest.mark.slow
def test_predict_without_the_build_says_how_to_find_it(built, tmp_path, capsys):
    """Was: 'checkpoint not found; run the train stage first' for a model built with --out DIR."""
    rec = _rr_text(tmp_path / "r.txt", 200)
    assert main(["predict", "--config", str(built["cfg"]["reading"]), str(rec), "--format", "rr-text",
                 "--build", str(tmp_path / "elsewhere")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--build DIR" in err and "edgekit build --config" in err


def test_config_inputs_are_read_from_the_config_folder(tmp_path, monkeypatch, watch):
    """Was: data.inputs resolved against the working directory, and the error named no base."""
    import shutil

    (tmp_path / "configs").mkdir()
    shutil.copy(watch, tmp_path / "w.csv")
    cfg = tiny_config(tmp_path / "configs", "slots", ["../w.csv"], name="rel")
    monkeypatch.chdir(tmp_path / "configs")
    assert load_config(cfg).data.inputs == [str(tmp_path / "configs" / "../w.csv")]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # any working directory
    assert run_data_stage(load_config(cfg), tmp_path / "b")["n_windows"] > 0
    bad = tiny_config(tmp_path / "configs", "slots", ["w.csv"], name="bad")
    monkeypatch.chdir(tmp_path)  # w.csv is here, not beside the config
    from edgekit.pipeline.build import check_model_inputs
    from edgekit.core.errors import EdgekitError

    with pytest.raises(EdgekitError, match=r"relative paths are read from the config file's folder.*w.csv exists in "
                                           r"the working directory"):
        check_model_inputs(load_config(bad))


@pytest.mark.slow
def test_predict_warns_synthetic_thin_coverage_and_no_clock(built, tmp_path):
    """Was: the forecaster answered from 1 of 24 hours, from a file without a clock, silently."""
    rec = _rr_text(tmp_path / "one_reading.txt", 70)
    code, out, err = _predict(built, "slots", str(rec), "--format", "rr-text", "--json")
    assert code == 0
    w = out["warnings"]
    assert any("trained on SYNTHETIC data" in x for x in w)
    assert any("holds 1 of 24 hours" in x for x in w)
    assert any("no clock" in x and "--start" in x for x in w)
    for x in w:
        assert f"edgekit: warning: {x}" in err
    # with --start the recording has a clock: no such warning, and times are dates
    code, out, _ = _predict(built, "slots", str(rec), "--format", "rr-text", "--start", "2024-05-01T07:30:00+02:00",
                            "--json")
    assert not any("no clock" in x for x in out["warnings"])
    assert out["predictions"][0]["end_time_s"] == 1714543200.0  # 05:30Z start: the UTC hour after it, 06:00Z


@pytest.mark.slow
def test_predict_variant_that_failed_its_gate_warns(built, tmp_path):
    """Was: 'predict --variant w8a8' ran a variant that failed its gate without a word."""
    parity = built["build"] / "slots_p" / "verify" / "parity.json"
    rec = _rr_text(tmp_path / "r.txt", 200)
    code, out, _ = _predict(built, "slots", str(rec), "--format", "rr-text", "--variant", "fp32", "--json")
    assert code == 0 and not any("parity gate" in x for x in out["warnings"])
    saved = parity.read_text()
    try:
        doc = json.loads(saved)
        doc["variants"]["fp32"]["passed"] = False
        doc["variants"]["fp32"]["checks"][1]["passed"] = False
        parity.write_text(json.dumps(doc))
        code, out, err = _predict(built, "slots", str(rec), "--format", "rr-text", "--variant", "fp32", "--json")
        assert code == 0 and any("FAILED its parity gate" in x for x in out["warnings"])
        parity.unlink()
        code, out, _ = _predict(built, "slots", str(rec), "--format", "rr-text", "--variant", "fp32", "--json")
        assert any("has not been verified" in x for x in out["warnings"])
    finally:
        parity.write_text(saved)


def test_hrv_warns_on_input_implausible_for_its_format(capsys):
    """Was: 'hrv --format rr-text' on a PPG gave 2,483 beats at 120 bpm, and '--format ecg' on it
    97 % artifacts, both silently."""
    import importlib.util

    data = Path(importlib.util.find_spec("heartpy").origin).parent / "data" / "data.csv"
    assert main(["hrv", str(data), "--format", "rr-text", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert any("change smoothly like a sampled signal" in w for w in out["warnings"])
    assert main(["hrv", str(data), "--format", "ecg", "--sample-rate", "100", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert any("not clean ECG beats" in w for w in out["warnings"]), out["warnings"]
    assert main(["hrv", str(data), "--format", "ppg", "--sample-rate", "100", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == []


# --- finding 9: edgekit's own table through --format csv ---------------------------------------------


def test_csv_reader_reads_edgekits_own_table(watch, capsys):
    """Was: 'cannot tell which column holds RR intervals' (the '#' first line was taken as the header)."""
    from edgekit.data.readers import formats as readers

    assert main(["hrv", str(watch), "--format", "csv", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_beats"] > 1000
    t = readers.read([watch], "csv", column="rr_ms")  # one column of it: the "#" line skipped
    assert len(t) == len(watch.read_text().splitlines()) - 2


# --- finding 10: a real smartwatch PPG log as it comes ------------------------------------------------

PPG_SET = Path(__file__).resolve().parents[1] / "realdata" / "ppg"


def test_real_watch_ppg_log_is_read_and_agrees_with_the_watch(capsys):
    """Was: the 12-minute ~20 Hz smartwatch log (E2E-PPG, MIT; the tune split of realdata/ppg) was
    refused (2 repeated timestamps), and without them HeartPy found no peaks. Now its times are
    resampled with a warning that names them, and the derived HR follows the watch's."""
    log = PPG_SET / "e2e_ppg" / "201902020222_watch_ppg.csv"
    assert main(["hrv", str(log), "--format", "ppg", "--column", "ppg", "--time-column", "timestamp", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert any("2 repeated" in w and "resampled" in w for w in out["warnings"])
    check = out["device_hr_check"]
    assert check["minutes"] == 12 and check["within_5_bpm"] >= 11 and check["median_abs_diff_bpm"] < 3
    assert 75 < out["mean_hr_bpm"] < 85


def test_ppg_set_evaluates_every_recording_by_split():
    """Every PPG recording of realdata/ppg is read against its reference; the figures carry their split
    (Welltory is holdout: reported, never tuned on, so no threshold here)."""
    from edgekit.data.real.ppg_eval import evaluate_set, markdown

    rows = evaluate_set(PPG_SET)
    assert {r["split"] for r in rows} == {"tune", "holdout"} and len(rows) == 22
    held = [r for r in rows if r["split"] == "holdout"]
    assert all(("hr_error_bpm" in r) != ("error" in r) for r in held)
    assert "**holdout**" in markdown(rows)


def test_signal_sample_times_and_gaps(tmp_path):
    """Jittered and repeated sample times are resampled (with a count), a coarse clock's repeats are
    spread at the mean rate, NaN samples are filled or split, times going backwards are refused."""
    from edgekit.data.readers.signals import even_parts, finite_runs

    rng = np.random.default_rng(0)
    t = np.cumsum(rng.uniform(0.045, 0.057, 2000))
    t[100] = t[99]  # a repeated time
    parts, note = even_parts(t, np.sin(t), tmp_path / "x.csv")
    assert len(parts) == 1 and "1 repeated" in note and "resampled" in note
    coarse = np.floor(np.arange(3000) * 0.01 / 0.0156) * 0.0156  # a 100 Hz signal stamped by a 15.6 ms clock
    parts, note = even_parts(coarse, np.zeros(3000), tmp_path / "x.csv")
    assert abs(parts[0][2] - 100.0) < 1.0 and "coarser than the sampling" in note
    x = np.sin(np.arange(3200) / 5.0)
    x[100:110] = np.nan  # 0.3 s: filled
    x[1000:1200] = np.nan  # 6 s: split
    parts, note = finite_runs(x, 32.0, tmp_path / "x.csv")
    assert len(parts) == 2 and parts[1][0] == 1200 / 32.0 and np.isfinite(parts[0][1]).all()
    bad = tmp_path / "back.csv"
    bad.write_text("timestamp,ppg\n" + "\n".join(f"{1000 + (i if i != 50 else 10) * 50},{np.sin(i / 3):.3f}"
                                                 for i in range(400)) + "\n")
    from edgekit.data.readers import formats as readers
    from edgekit.core.errors import InputError

    with pytest.raises(InputError, match=r"back.csv: line 52: time column 'timestamp' goes backwards"):
        readers.read([bad], "ppg", column="ppg", time_column="timestamp")


def test_fit_hrv_messages_are_an_rr_source(tmp_path, capsys):
    """Was: FIT files were not read as an RR source (their hrv messages hold the beat intervals)."""
    rr = [800.0 + 30 * np.sin(i / 4) for i in range(300)]
    rr[150] = None  # a dropout
    p = write_fit_hrv(tmp_path / "strap.fit", 1714541400.0, rr)
    assert main(["hrv", str(p), "--format", "fit", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_beats"] >= 295 and 70 < out["mean_hr_bpm"] < 80
    from edgekit.data.readers import formats as readers

    t = readers.read([p], "fit")
    assert len(np.unique(t.segment)) == 2 and t.time_s[0] == pytest.approx(1714541400.0 + 0.8)
    assert main(["hrv", str(p)]) == 1
    assert "give --format fit" in capsys.readouterr().err


# --- findings 3, 4 and 11: defaults and examples name the bundled models; small things ---------------


def _help(*verb: str) -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main([*verb, "--help"])
    return out.getvalue()


def test_defaults_and_examples_name_the_bundled_configs():
    """Was: forecast defaulted to configs/hrv_lstm.toml and the examples of predict, forecast and the
    README's InfluxDB section named hrv_lstm / hrv_transformer, which the bundled build no longer makes."""
    from edgekit.cli.main import build_parser

    forecast = build_parser().parse_args(["forecast", "--influx", "http://x:8086", "--database", "d"])
    assert forecast.config == "configs/hrv_slots.toml" and forecast.utc_offset is None
    for verb in (("predict",), ("forecast",), ()):
        text = _help(*verb) if verb else build_parser().format_help()
        examples = text.split("examples:", 1)[1]
        assert "hrv_lstm" not in examples and "hrv_transformer" not in examples, verb
        assert "configs/hrv_slots.toml" in examples or "configs/hrv_reading.toml" in examples
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    influx = readme.split("## InfluxDB and Grafana", 1)[1].split("\n## ", 1)[0]
    assert "hrv_lstm" not in influx and "configs/hrv_slots.toml" in influx


def test_help_says_every_default():
    """Was: data synth --subjects/--days/--seed and coverage options had no help; hrv --min-rr/--max-rr
    and --gap-s showed no default."""
    synth_help = " ".join(_help("data", "synth").split())
    for text in ("(default 48)", "(default 14)", "(default 7)"):
        assert text in synth_help
    coverage = " ".join(_help("data", "coverage").split())
    assert "(default 24, at least 3)" in coverage and "(default watch,spot,strap,breathe)" in coverage
    hrv = " ".join(_help("hrv").split())
    assert "(default 300)" in hrv and "(default 2000)" in hrv and "(default 3;" in hrv and "--start" in hrv
    predict = " ".join(_help("predict").split())
    assert "FIT" in predict and "apple-health" in predict


@pytest.mark.slow
def test_one_is_singular_and_a_closed_pipe_is_quiet(built, tmp_path, monkeypatch, capsys):
    """Was: '1 windows'; 'edgekit: error: edgekit: broken pipe' when piped to head."""
    import io

    rec = _rr_text(tmp_path / "one.txt", 70)
    assert main(["predict", "--config", str(built["cfg"]["reading"]), "--build", str(built["build"]), str(rec),
                 "--format", "rr-text"]) == 0
    assert ": 1 reading\n" in capsys.readouterr().out

    class ClosedPipe(io.StringIO):
        def write(self, s):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("sys.stdout", ClosedPipe())
    assert main(["hrv", str(rec), "--format", "rr-text"]) == 141
    assert capsys.readouterr().err == ""


def test_config_keys_another_source_reads_are_warned_about(tmp_path, watch, capsys):
    """Was: config keys that do not apply to the source were ignored silently."""
    import shutil

    shutil.copy(watch, tmp_path / "w.csv")
    p = tiny_config(tmp_path, "slots", ["w.csv"], name="keys")
    p.write_text(p.read_text().replace("[train]", "subjects = 64\nprofiles = [\"watch\"]\n[train]"))
    from edgekit.config.load import ConfigError

    with pytest.raises(ConfigError, match="data.profiles is for data.source = 'synthetic'"):
        load_config(p)
    p.write_text(p.read_text().replace('profiles = ["watch"]\n', ""))
    assert main(["data", "windows", "--config", str(p), "--out", str(tmp_path / "b")]) == 0
    assert "data.subjects does not apply to data.source = 'files': ignored" in capsys.readouterr().err
    assert (tmp_path / "b" / "keys" / "data" / "windows.npz").is_file()


def test_train_before_the_data_stage_names_the_verb(tmp_path, watch, capsys):
    """Was: 'run the data stage first (edgekit build)', and no verb ran the data stage alone."""
    import shutil

    shutil.copy(watch, tmp_path / "w.csv")
    p = tiny_config(tmp_path, "slots", ["w.csv"], name="early")
    assert main(["train", "--config", str(p), "--out", str(tmp_path / "b")]) == 1
    assert "edgekit data windows --config" in capsys.readouterr().err


def test_activity_report_speaks_bpm_and_swift_error_speaks_of_usable_hours():
    """Was: the activity report said 'score points on N series' for BPM; HRVKitError.notEnoughHistory
    said 'consecutive hours' for the slots model too."""
    from edgekit.report.render import _headline

    report = {"role": "regressor", "model_type": "hr_activity", "fp32_torch": {"mae": 7.52, "baseline_mae": 11.0},
              "packaging": {}, "variants": [], "test_metrics": {"n": 3176}, "params": 1000, "training": {},
              "data": {"synthetic": True, "note": "SYNTHETIC workouts"}, "coreml_backend": None}
    rows = dict(_headline(report))
    assert rows["fp32 torch (held-out)"] == "MAE 7.52 bpm (baseline 11) on 3,176 windows"
    assert rows["Trained on"].startswith("SYNTHETIC data")
    report.update(role="forecaster", model_type="fatigue_slots")
    assert dict(_headline(report))["fp32 torch (held-out)"].startswith("MAE 7.52 score points (persistence baseline")
    errors = (Path(__file__).resolve().parents[1] / "edgekit" / "swift_template" / "Sources" / "HRVKitCore"
              / "Errors.swift").read_text()
    assert "consecutive hours of" not in errors and "usable hours of the" in errors


def test_activity_model_refuses_a_format_it_does_not_read():
    """Was: 'predict --format csv' was silently ignored for the activity model."""
    import argparse

    from edgekit.core.errors import InputError
    from edgekit.cli.run import _predict_workouts

    cfg = argparse.Namespace(name="hr_activity")
    with pytest.raises(InputError, match="--format csv does not apply to hr_activity: it reads workouts"):
        _predict_workouts(argparse.Namespace(fmt="csv"), cfg, None, [])
