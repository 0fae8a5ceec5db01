"""The realism measure (edgekit.data.real.realism): features checked against NeuroKit2, the grouped domain AUC."""

import numpy as np
import pytest

from edgekit.data.real.realism import (FEATURES, DFA_SCALES, dfa_alpha1, domain_auc, feature_matrix, reading_features,
                                  sample_entropy, simulated_readings)


def _series(seed, n=80):
    rng = np.random.default_rng(seed)
    return 800 + np.cumsum(rng.normal(0, 10, n)) * 0.3 + rng.normal(0, 20, n)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dfa_and_sample_entropy_match_neurokit2(seed):
    nk = pytest.importorskip("neurokit2")
    x = _series(seed)
    a_nk, _ = nk.fractal_dfa(x, scale=DFA_SCALES, overlap=False, integrate=True, order=1)
    assert dfa_alpha1([x]) == pytest.approx(a_nk, abs=1e-9)
    s_nk, _ = nk.entropy_sample(x, dimension=2, delay=1, tolerance=0.2 * np.std(x, ddof=1))
    assert sample_entropy(x) == pytest.approx(s_nk, abs=1e-9)


def test_reading_features_by_hand():
    x = np.zeros(128)
    x[:6] = [800, 850, 800, 860, 800, 900]  # differences +50 -50 +60 -60 +100: every pair changes sign
    f = reading_features(x)
    d = np.diff(x[:6])
    assert f["mean_rr_ms"] == pytest.approx(835.0)
    assert f["rmssd_ms"] == pytest.approx(np.sqrt(np.mean(d * d)))
    assert f["pnn50"] == pytest.approx(3 / 5)  # 50 is not above 50
    assert f["sign_change"] == 1.0
    assert set(f) == set(FEATURES)


def test_a_separator_is_never_differenced():
    x = np.zeros(128)
    x[:50] = 800 + 10 * np.sin(np.arange(50))
    one = reading_features(x)
    x2 = x.copy()
    x2[50], x2[51:101] = 0.0, x[:50] + 400  # a second part 400 ms slower after a separator
    two = reading_features(x2)
    assert two["rmssd_ms"] == pytest.approx(one["rmssd_ms"], rel=1e-9)  # no 400 ms jump counted
    assert np.isnan(reading_features(np.zeros(128))["rmssd_ms"])


def test_domain_auc_is_half_for_one_distribution_and_one_when_apart():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(150, len(FEATURES)))
    sim = rng.normal(size=(150, len(FEATURES)))
    groups_r = [f"p{i % 10}" for i in range(150)]
    groups_s = [f"s{i % 10}" for i in range(150)]
    same = domain_auc(real, groups_r, sim, groups_s)
    assert 0.35 < same["auc"] < 0.65 and same["folds"] == 5
    apart = domain_auc(real, groups_r, sim + 3.0, groups_s)
    assert apart["auc"] > 0.95 and apart["features"]["rmssd_ms"]["auc"] > 0.95
    with pytest.raises(ValueError, match="at least 2 persons"):
        domain_auc(real, ["one"] * 150, sim, groups_s)


def test_simulated_readings_are_one_minute_reading_windows():
    sim = simulated_readings(["watch", "strap"], 2, 1, 3, 128, 45, 20.0)
    X = sim["X"]
    assert X.shape[1] == 128 and len(X) == len(sim["subject"]) == len(sim["label"]) == len(sim["profile"])
    beats = (X > 0).sum(axis=1)
    assert beats.min() >= 45 and beats.max() <= 110  # about a minute each, strap sessions cut too
    assert set(sim["profile"]) <= {"watch", "strap"}
    F = feature_matrix(X[:5])
    assert F.shape == (5, len(FEATURES)) and np.isfinite(F[:, :4]).all()
