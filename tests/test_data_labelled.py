"""Labelled files: `edgekit data synth` output and user CSVs as training data (data.source = "files")."""

import copy

import numpy as np
import pytest

from edgekit.pipeline.build import run_data_stage
from edgekit.config.load import load_config
from edgekit.data.readers.labelled import load_labelled_files
from edgekit.core.errors import InputError
from helpers import synth as _synth


@pytest.fixture(scope="module")
def cohort_csv(synth_cohort):
    return synth_cohort(subjects=3, days=4, seed=5)


def _cfgs(kind):
    cfg = load_config({"strain": "configs/hrv_transformer.toml", "lstm": "configs/hrv_lstm.toml"}[kind])
    cfg.data.subjects, cfg.data.days, cfg.data.seed = 3, 4, 5
    files = copy.deepcopy(cfg)
    files.data.source = "files"
    return cfg, files


def test_synth_csv_says_synthetic_and_carries_labels(cohort_csv):
    lines = cohort_csv.read_text().splitlines()
    assert lines[0].startswith("# SYNTHETIC")
    assert lines[1].split(",")[:7] == ["subject", "segment", "time_s", "rr_ms", "flags", "label", "fatigue_score"]


def test_classifier_from_files_equals_synthetic_source(cohort_csv, tmp_path):
    cfg, files = _cfgs("strain")
    files.data.inputs = [str(cohort_csv)]
    run_data_stage(cfg, tmp_path / "a")
    s = run_data_stage(files, tmp_path / "b")
    a = np.load(tmp_path / "a" / cfg.name / "data" / "windows.npz")
    b = np.load(tmp_path / "b" / cfg.name / "data" / "windows.npz")
    assert a["X"].shape == b["X"].shape
    assert np.abs(a["X"] - b["X"]).max() < 1e-3  # the CSV holds 6 decimals
    assert (a["y"] == b["y"]).all() and (a["subject"] == b["subject"]).all()
    assert s["synthetic"] and "SYNTHETIC" in s["note"] and s["n_excluded_label"] == 0


def test_forecaster_from_files_matches_synthetic_targets(cohort_csv, tmp_path):
    cfg, files = _cfgs("lstm")
    files.data.inputs = [str(cohort_csv)]
    run_data_stage(cfg, tmp_path / "a")
    s = run_data_stage(files, tmp_path / "b")
    a = np.load(tmp_path / "a" / cfg.name / "data" / "windows.npz")
    b = np.load(tmp_path / "b" / cfg.name / "data" / "windows.npz")
    assert s["n_windows"] > 10 and len(b["y_today"]) == len(b["y"])
    # files need beats in hour e+23 (the synthetic source also knows the morning after the last
    # day), so the file series are a subset with the same targets
    for subj, x, y, yt in zip(b["subject"], b["X"], b["y"], b["y_today"]):
        i = np.flatnonzero((a["subject"] == subj) & (np.abs(a["X"] - x).max(axis=1) < 1e-2))
        assert len(i) == 1
        assert a["y"][i[0]] == pytest.approx(y, abs=1e-3) and a["y_today"][i[0]] == pytest.approx(yt, abs=1e-3)


def test_scores_file_instead_of_column(cohort_csv, tmp_path):
    """A plain RR table plus a scores file (subject,time_s,fatigue_score) gives the same targets."""
    lines = cohort_csv.read_text().splitlines()[1:]
    head = lines[0].split(",")
    i_sc = head.index("fatigue_score")
    rows = [r.split(",") for r in lines[1:]]
    (tmp_path / "rr.csv").write_text("\n".join([",".join(head[:5])] + [",".join(r[:5]) for r in rows]) + "\n")
    # issue times: the first beat carrying each new score
    issued, last = [], {}
    for r in rows:
        if r[i_sc] and last.get(r[0]) != r[i_sc]:
            issued.append(f"{r[0]},{float(r[2]) - 1e-3:.6f},{r[i_sc]}")
            last[r[0]] = r[i_sc]
    (tmp_path / "scores.csv").write_text("subject,time_s,fatigue_score\n" + "\n".join(issued) + "\n")
    _, col = _cfgs("lstm")
    col.data.inputs = [str(cohort_csv)]
    run_data_stage(col, tmp_path / "a")
    _, f = _cfgs("lstm")
    f.data.inputs = [str(tmp_path / "scores.csv"), str(tmp_path / "rr.csv")]
    run_data_stage(f, tmp_path / "b")
    a = np.load(tmp_path / "a" / col.name / "data" / "windows.npz")
    b = np.load(tmp_path / "b" / col.name / "data" / "windows.npz")
    assert len(a["y"]) == len(b["y"]) and np.allclose(a["y"], b["y"]) and np.allclose(a["y_today"], b["y_today"])


def test_labels_required(tmp_path):
    p = tmp_path / "rec.txt"
    p.write_text("\n".join(str(800 + 30 * np.sin(i)) for i in range(400)) + "\n")
    for kind, what in (("lstm", "fatigue forecaster"), ("strain", "strain classifier")):
        _, f = _cfgs(kind)
        f.data.inputs = [str(p)]
        f.data.format = "rr-text"
        with pytest.raises(InputError, match=f"labels are required to train the {what}") as ei:
            run_data_stage(f, tmp_path / "b")
        assert "\n" not in str(ei.value)


def test_time_order_and_bad_labels(tmp_path):
    """Files of one person given out of order come back in time order; bad labels are refused."""
    full = _synth(tmp_path / "p.csv", "--subjects", "1", "--days", "2", "--seed", "3")
    lines = full.read_text().splitlines()
    body = lines[2:]
    half = len(body) // 2
    while body[half].split(",")[1] == body[half - 1].split(",")[1]:
        half += 1  # split at a segment boundary
    (tmp_path / "late.csv").write_text("\n".join(lines[1:2] + body[half:]) + "\n")
    (tmp_path / "early.csv").write_text("\n".join(lines[1:2] + body[:half]) + "\n")
    _, f = _cfgs("strain")
    f.data.inputs = [str(tmp_path / "late.csv"), str(tmp_path / "early.csv")]
    d = load_labelled_files(f)
    assert np.all(np.diff(d.table.time_s) > 0) and np.all(np.diff(d.table.segment) >= 0)
    assert not d.synthetic  # the split files lost the SYNTHETIC line
    bad = lines[1:3] + [lines[3].replace(lines[3].split(",")[5], "tired", 1)]
    (tmp_path / "bad.csv").write_text("\n".join(bad) + "\n")
    f.data.inputs = [str(tmp_path / "bad.csv")]
    with pytest.raises(InputError, match="line 3: label 'tired'"):
        load_labelled_files(f)


def test_atypical_profile_is_off_population():
    from edgekit.data.synth import cohort as synth

    pop = synth.generate(4, 2, 99)
    odd = synth.generate(1, 2, 99, profile="atypical")
    assert np.median(odd.table.rr_ms) < np.median(pop.table.rr_ms) - 100  # ~80 vs ~64 bpm
    from edgekit.data.signal.features import rmssd

    assert rmssd(odd.table.rr_ms, odd.table.segment) < 0.7 * rmssd(pop.table.rr_ms, pop.table.segment)
