"""Recording profiles of the synthetic cohort (spot, watch, breathe, strap), coverage per profile
and the input contracts that fit the watch. Small cohorts only."""

import re
from pathlib import Path

import numpy as np
import pytest

from edgekit.cli.main import main
from edgekit.config.load import ConfigError, load_config
from edgekit.data.synth import cohort as synth
from edgekit.data.synth import recordings

MIX = ["watch", "spot", "strap", "breathe"]


@pytest.fixture(scope="module")
def mixed():
    return synth.generate(8, 4, 5, recordings=MIX)


def test_assignment_balanced_and_deterministic():
    a = recordings.assign_recordings(MIX, 10, 3)
    assert np.array_equal(a, recordings.assign_recordings(MIX, 10, 3))
    counts = np.bincount(a, minlength=4)
    assert counts.max() - counts.min() <= 1
    assert not np.array_equal(a, recordings.assign_recordings(MIX, 10, 4))
    assert synth.check_recordings(["spot"]) is None and synth.check_recordings(None) is None
    with pytest.raises(ValueError, match="unknown recording profile"):
        synth.check_recordings(["fitbit"])


def test_profiles_schedule_and_lengths(mixed):
    kinds = mixed.segment_kinds()
    seg = mixed.table.segment
    beats = np.bincount(seg, minlength=len(kinds))
    sub_kind = mixed.subject_recordings()
    # each segment belongs to a subject of a profile that records that kind
    assert all(sub_kind[s] == k or (sub_kind[s] == recordings.BREATHE and k == recordings.WATCH)
               for s, k in zip(mixed.seg_subject.tolist(), kinds.tolist()))
    w = beats[kinds == recordings.WATCH]
    assert 35 <= np.percentile(w, 5) and np.percentile(w, 95) <= 100 and 55 <= np.median(w) <= 80
    # watch: a few readings a day, denser at night, none during blocked periods
    n_watch_subj = int(((sub_kind == recordings.WATCH) | (sub_kind == recordings.BREATHE)).sum())
    per_day = (kinds == recordings.WATCH).sum() / (n_watch_subj * 4)
    assert 5 <= per_day <= 11
    st = mixed.recording_stats
    assert st["watch_lost_motion"] > 0 and st["subjects_watch"] == 2
    # spot: one 150 s measurement every hour; strap: long recordings
    assert (kinds == recordings.SPOT).sum() == 2 * 4 * 24
    assert beats[kinds == recordings.STRAP].min() > 1500
    b = beats[kinds == recordings.BREATHE]
    assert len(b) == 0 or (b.min() >= 40 and b.max() <= 450)
    # Apple's SDNN value of each reading, from its beats
    sd = recordings.reading_sdnn(mixed.table)
    assert len(sd) == len(np.unique(seg)) and all(v > 0 for v in sd.values())


def test_mixed_cohort_chunk_independent(mixed):
    parts = list(synth.iter_cohort(8, 4, 5, recordings=MIX, chunk_subjects=3))
    rr = np.concatenate([p.table.rr_ms for p in parts])
    t = np.concatenate([p.table.time_s for p in parts])
    assert np.array_equal(rr, mixed.table.rr_ms) and np.array_equal(t, mixed.table.time_s)
    # segments increase through the table, each in time order
    assert (np.diff(mixed.table.segment) >= 0).all()


def test_spot_only_is_the_default_cohort():
    a = synth.generate(2, 2, 1)
    b = synth.generate(2, 2, 1, recordings=["spot"])
    assert np.array_equal(a.table.rr_ms, b.table.rr_ms) and b.seg_kind is None


def _cfg(tmp_path, extra):
    text = open("configs/hrv_transformer.toml").read().replace("window_stride = 64", "window_stride = 64\n" + extra)
    p = tmp_path / "c.toml"
    p.write_text(text)
    return p


def test_config_profiles_validated(tmp_path):
    assert load_config(_cfg(tmp_path, "")).data.profiles == ["spot"]
    assert load_config(_cfg(tmp_path, 'profiles = ["watch", "spot"]')).data.profiles == ["watch", "spot"]
    for bad, msg in (('profiles = ["fitbit"]', "unknown profile"), ("profiles = []", "non-empty"),
                     ('profiles = ["spot", "spot"]', "twice"), ('profiles = "watch"', "must be a list")):
        with pytest.raises(ConfigError, match=msg) as e:
            load_config(_cfg(tmp_path, bad))
        assert "\n" not in str(e.value)


def test_cli_synth_profiles(tmp_path, capsys):
    out = tmp_path / "w.csv"
    assert main(["data", "synth", "--out", str(out), "--subjects", "4", "--days", "2", "--profiles", "watch,strap"]) == 0
    err = capsys.readouterr().err
    assert "watch: 2 subjects" in err and "recordings: watch,strap" in out.read_text().splitlines()[0]
    assert main(["data", "synth", "--out", str(tmp_path / "x.csv"), "--profiles", "fitbit"]) != 0


def test_coverage_today_contracts_fail_on_watch():
    from edgekit.data.synth.coverage import measure

    r = measure(8, 4, 5, MIX, heldout=None)["all_subjects"]
    w, s = r["watch"], r["spot"]
    assert w["readings"] > 50 and w["strain_input_today"] == 0.0 and w["forecast_input_today"] == 0.0
    assert s["strain_input_today"] > 0.7 and s["forecast_input_today"] > 0.5
    assert w["forecast_input_slots_given_3_readings"] == 1.0 and w["strain_input_reading"] > 0.6


def test_cli_coverage(capsys):
    import json

    assert main(["data", "coverage", "--subjects", "4", "--days", "2", "--profiles", "watch,spot"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["all_subjects"]) >= {"all", "watch", "spot"} and out["n_heldout"] == 1


# ---------------------------------------------------------------------------------------------
# watch input contracts


def test_reading_windows_encoding():
    from edgekit.data.rr import RRTable
    from edgekit.data.signal.windows import reading_windows

    n = [50, 30, 200]
    rr = np.concatenate([np.full(k, 800.0 + i) for i, k in enumerate(n)])
    seg = np.repeat(np.arange(3), n)
    t = RRTable(np.full(len(rr), "a"), seg, np.cumsum(rr) / 1000 + 3600 * seg, rr, np.zeros(len(rr), np.int64))
    X, segs, starts, lens, excl = reading_windows(t, 128, 45, 5.0)
    assert X.shape == (2, 128) and segs.tolist() == [0, 2] and lens.tolist() == [50, 128] and excl == 0
    assert (X[0, :50] == 800).all() and (X[0, 50:] == 0).all() and starts[1] == 80 + 72  # the newest 128
    Xp, _, _, lp, _ = reading_windows(t, 128, 45, 5.0, pieces=True, seed=1)
    assert len(Xp) >= 2 and ((lp >= 45) & (lp <= 128)).all()
    assert all((x[:k] > 0).all() and (x[k:] == 0).all() for x, k in zip(Xp, lp))
    # a reading split by cleaning (a gap of a few seconds) is one reading: its parts joined by one 0
    j = RRTable(np.full(70, "a"), np.repeat([0, 1], [30, 40]), np.r_[np.arange(30.0), 33 + np.arange(40.0)],
                np.full(70, 900.0), np.zeros(70, np.int64))
    X, _, starts, lens, _ = reading_windows(j, 128, 45, 5.0)
    assert len(X) == 1 and lens[0] == 70 and X[0, 30] == 0 and (X[0, :30] > 0).all() and (X[0, 31:71] > 0).all()
    assert (X[0, 71:] == 0).all() and starts[0] == 0


def test_crop_readings_cuts_shorter_readings():
    from edgekit.data.signal.windows import crop_readings

    rng = np.random.default_rng(3)
    X = np.zeros((400, 128), np.float32)
    lens = rng.integers(45, 129, 400)
    for i, k in enumerate(lens):
        X[i, :k] = 700 + rng.random(k) * 300
    sep = (np.arange(400) % 7 == 0) & (lens > 60)
    X[sep, 40] = 0.0  # a segment separator inside some readings (they keep >= 45 beats)
    Y = crop_readings(X, 45, np.random.default_rng(1), 0.5)
    assert Y.dtype == X.dtype and Y.shape == X.shape
    assert np.array_equal(Y, crop_readings(X, 45, np.random.default_rng(1), 0.5))  # seeded
    assert np.array_equal(crop_readings(X, 45, np.random.default_rng(1), 0.0), X)
    cut = (Y != X).any(axis=1)
    assert 0.3 < cut.mean() < 0.5  # rows of exactly 45 beats cannot be cut
    assert not cut[lens == 45].any()
    for x, y in zip(X[cut], Y[cut]):
        k = int(np.flatnonzero(y > 0).max()) + 1
        assert y[0] > 0 and (y[k:] == 0).all() and (y > 0).sum() >= 45 and k < len(x)
        assert any(np.array_equal(x[s:s + k], y[:k]) for s in range(128 - k + 1))  # a run of the reading
    assert (crop_readings(X, 45, np.random.default_rng(2), 1.0) > 0).sum(axis=1).min() >= 45


def test_crop_fraction_is_for_reading_windows_only(tmp_path):
    text = "".join(ln for ln in open("configs/hrv_reading.toml").readlines() if not ln.startswith("crop_fraction"))
    for value, msg in (("1.5", "in \\[0, 1\\]"), ("-0.1", "in \\[0, 1\\]")):
        p = tmp_path / "r.toml"
        p.write_text(text.replace("[train]", f"[train]\ncrop_fraction = {value}"))
        with pytest.raises(ConfigError, match=msg):
            load_config(p)
    p = tmp_path / "t.toml"
    p.write_text(open("configs/hrv_transformer.toml").read().replace("[train]", "[train]\ncrop_fraction = 0.5"))
    with pytest.raises(ConfigError, match="reading windows only"):
        load_config(p)
    from edgekit.tasks import task_for

    assert task_for("strain_transformer").augmenter(load_config("configs/hrv_transformer.toml")) is None


def test_hourly_slots_absent_is_zero():
    from edgekit.data.signal.windows import hourly_slots

    hr = {"a": (100, np.array([30.0, np.nan, 40.0]))}
    x = hourly_slots(hr, "a", 104, 6)
    assert x.tolist() == [0.0, 0.0, 30.0, 0.0, 40.0, 0.0]  # hours 98..103


def test_models_mask_absent_values():
    import torch

    from edgekit.tasks import task_for

    torch.manual_seed(0)
    m = task_for("strain_reading").build_model({"d_model": 16, "n_heads": 2, "ff_dim": 16}).eval()
    x = torch.zeros(1, 128, 1)
    x[0, :60, 0] = 800 + 40 * torch.sin(torch.arange(60.0))
    y = x.clone()
    y[0, 60:, 0] = -7.0  # any value <= 0 is absent
    assert torch.allclose(m(x), m(y), atol=1e-6)
    f = task_for("fatigue_slots").build_model({"hidden_size": 8, "n_layers": 1}).eval()
    h = torch.zeros(1, 24, 1)
    h[0, ::5, 0] = 40.0
    g = h.clone()
    g[h == 0] = -1.0
    with torch.no_grad():
        assert torch.allclose(f(h), f(g)) and 0 <= float(f(h)) <= 100


def _real_paths(text: str) -> str:
    """A bundled config's real-set paths (relative to configs/) made absolute for a copy in a temporary folder."""
    real = Path(__file__).resolve().parent.parent / "realdata" / "hrv"
    return text.replace('"../realdata/hrv"', f'"{real.as_posix()}"')


@pytest.mark.parametrize("name", ["hrv_reading", "hrv_slots"])
def test_watch_models_data_and_train_stage(tmp_path, name):
    import json

    from edgekit.pipeline.build import run_data_stage, run_stage

    text = _real_paths(open(f"configs/{name}.toml").read())
    text = re.sub(r"(?m)^subjects = \d+", "subjects = 8", text)
    text = re.sub(r"(?m)^epochs = \d+", "epochs = 1", text)
    for a, b in (("days = 14", "days = 3"), ("d_model = 64", "d_model = 16"),
                 ("ff_dim = 128", "ff_dim = 16"), ("n_layers = 2", "n_layers = 1")):
        text = text.replace(a, b)
    p = tmp_path / f"{name}.toml"
    p.write_text(text)
    cfg = load_config(p)
    s = run_data_stage(cfg, tmp_path / "b")
    assert s["n_windows"] > 0 and s["profiles"] == ["watch", "spot", "strap", "breathe"] and s["recording_stats"]["subjects_watch"] == 2
    with np.load(tmp_path / "b" / name / "data" / "windows.npz") as z:
        X = z["X"]
        assert X.dtype == np.float32 and X.shape[1] in (24, 128) and "cov_r_kind" in z.files and "kind" in z.files
        assert (X == 0).any() and (X >= 0).all()
    run_stage(cfg, "train", tmp_path / "b")
    m = json.loads((tmp_path / "b" / name / "train" / "metrics.json").read_text())
    assert "all" in m["coverage"] and "all" in m["per_profile"]
    if name == "hrv_reading":
        assert m["accuracy_vs_beats"] and "macro_f1_per_day" in m["per_profile"]["all"]
    else:
        assert "persistence_mae" in m["per_profile"]["all"]


def test_reading_crop_training_is_seeded(tmp_path):
    """train.crop_fraction: new cuts every epoch from the config's seed; same config ⇒ same weights."""
    import shutil

    import torch

    from edgekit.train import fit as train
    from edgekit.pipeline.build import run_data_stage
    from edgekit.tasks import task_for

    lines = [ln for ln in open("configs/hrv_reading.toml").readlines() if not ln.startswith("crop_fraction")]
    text = _real_paths("".join(lines))
    text = re.sub(r"(?m)^subjects = \d+", "subjects = 8", text)
    text = re.sub(r"(?m)^epochs = \d+", "epochs = 2", text)
    for a, b in (("days = 14", "days = 2"), ("d_model = 64", "d_model = 16"), ("ff_dim = 128", "ff_dim = 16"),
                 ("n_layers = 2", "n_layers = 1")):
        text = text.replace(a, b)

    def cfg(fraction):
        p = tmp_path / f"r{fraction}.toml"
        p.write_text(text.replace("[train]", f"[train]\ncrop_fraction = {fraction}"))
        return load_config(p)

    task = task_for("strain_reading")
    assert task.augmenter(cfg(0.0)) is None
    crop = task.augmenter(cfg(1.0))
    run_data_stage(cfg(1.0), tmp_path / "a")
    with np.load(tmp_path / "a" / "hrv_reading" / "data" / "windows.npz") as z:
        X = z["X"][:200]
    assert np.array_equal(crop(X, 1), crop(X, 1)) and not np.array_equal(crop(X, 1), crop(X, 2))
    weights = {}
    for name, fraction in (("a", 1.0), ("b", 1.0), ("c", 0.0)):
        if name != "a":
            shutil.copytree(tmp_path / "a" / "hrv_reading" / "data", tmp_path / name / "hrv_reading" / "data")
        train.run(cfg(fraction), tmp_path / name)
        weights[name] = torch.load(tmp_path / name / "hrv_reading" / "train" / "model.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(weights["a"][k], weights["b"][k]) for k in weights["a"])
    assert not torch.equal(weights["a"]["embed.weight"], weights["c"]["embed.weight"])
