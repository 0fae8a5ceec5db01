"""Recording profiles of the synthetic cohort (spot, watch, breathe, strap), coverage per profile
and the input contracts that fit the watch. Small cohorts only."""

import numpy as np
import pytest

from edgekit.cli import main
from edgekit.config import ConfigError, load_config
from edgekit.data import synth

MIX = ["watch", "spot", "strap", "breathe"]


@pytest.fixture(scope="module")
def mixed():
    return synth.generate(8, 4, 5, recordings=MIX)


def test_assignment_balanced_and_deterministic():
    a = synth.assign_recordings(MIX, 10, 3)
    assert np.array_equal(a, synth.assign_recordings(MIX, 10, 3))
    counts = np.bincount(a, minlength=4)
    assert counts.max() - counts.min() <= 1
    assert not np.array_equal(a, synth.assign_recordings(MIX, 10, 4))
    assert synth.check_recordings(["spot"]) is None and synth.check_recordings(None) is None
    with pytest.raises(ValueError, match="unknown recording profile"):
        synth.check_recordings(["fitbit"])


def test_profiles_schedule_and_lengths(mixed):
    kinds = mixed.segment_kinds()
    seg = mixed.table.segment
    beats = np.bincount(seg, minlength=len(kinds))
    sub_kind = mixed.subject_recordings()
    # each segment belongs to a subject of a profile that records that kind
    assert all(sub_kind[s] == k or (sub_kind[s] == synth.BREATHE and k == synth.WATCH)
               for s, k in zip(mixed.seg_subject.tolist(), kinds.tolist()))
    w = beats[kinds == synth.WATCH]
    assert 35 <= np.percentile(w, 5) and np.percentile(w, 95) <= 100 and 55 <= np.median(w) <= 80
    # watch: a few readings a day, denser at night, none during blocked periods
    n_watch_subj = int(((sub_kind == synth.WATCH) | (sub_kind == synth.BREATHE)).sum())
    per_day = (kinds == synth.WATCH).sum() / (n_watch_subj * 4)
    assert 5 <= per_day <= 11
    st = mixed.recording_stats
    assert st["watch_lost_motion"] > 0 and st["subjects_watch"] == 2
    # spot: one 150 s measurement every hour; strap: long recordings
    assert (kinds == synth.SPOT).sum() == 2 * 4 * 24
    assert beats[kinds == synth.STRAP].min() > 1500
    b = beats[kinds == synth.BREATHE]
    assert len(b) == 0 or (b.min() >= 40 and b.max() <= 450)
    # Apple's SDNN value of each reading, from its beats
    sd = synth.reading_sdnn(mixed.table)
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
    from edgekit.data.coverage import measure

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
