"""A user's own data through the bundled model types (issue 24): training and fine-tuning
``strain_reading`` / ``fatigue_slots`` from labelled files, the per-reading and per-wake-up label
forms, small data without tracebacks, and refusals that leave no directories behind."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from edgekit.build import run_data_stage, run_stage
from edgekit.cli import main
from edgekit.config import load_config
from edgekit.errors import InputError

from own_data_helpers import synth, tiny_config, write_apple_export


@pytest.fixture(scope="module")
def watch(tmp_path_factory):
    """A labelled watch-profile table (3 subjects, 5 days: one ~1 min reading every few hours)."""
    root = tmp_path_factory.mktemp("own")
    return synth(root / "watch.csv", "--subjects", "3", "--days", "5", "--seed", "3", "--profiles", "watch")


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
    run_data_stage(cfg, tmp_path / "f")
    run_data_stage(_synthetic_twin(cfg), tmp_path / "s")
    f = np.load(tmp_path / "f" / cfg.name / "data" / "windows.npz")
    s = np.load(tmp_path / "s" / cfg.name / "data" / "windows.npz")
    assert f["X"].shape == s["X"].shape and np.abs(f["X"] - s["X"]).max() < 1e-3  # the CSV's 6 decimals
    assert (f["y"] == s["y"]).all() and (f["subject"] == s["subject"]).all()


def test_wakeup_scores_file_gives_the_synthetic_slots_examples(watch, tmp_path):
    """Per wake-up scores (subject,time_s,fatigue_score at each wake-up) give exactly the synthetic
    source's slots inputs and targets."""
    from edgekit.data import synth as sim

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
    from edgekit.data.labelled import load_labelled_files
    from edgekit.data.windows import reading_units

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
    from edgekit.data.labelled import load_labelled_files
    from edgekit.data.windows import reading_units

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
    cfg = tiny_config(tmp_path, "slots", ["rec.txt"])
    ckpt = tmp_path / "pop.pt"
    ckpt.write_bytes(b"not a checkpoint")
    build = tmp_path / "build"
    assert main(["train", "--config", str(cfg), "--out", str(build), "--init-from", str(ckpt),
                 "--data", str(rec), "--format", "rr-text"]) == 1
    assert not build.exists()
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

    from edgekit.train import one_cycle_pct_start

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
