"""Cleaning accuracy and feature agreement on real recordings shipped in packages."""

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest

from benchmarks.bench_data import inject_artifacts, match_events
from edgekit.data.signal import clean as C
from edgekit.data.signal.features import frequency_domain, time_domain
from edgekit.data.rr import Flag, RRTable


def _pkg_file(pkg, *parts):
    spec = importlib.util.find_spec(pkg)
    if spec is None:
        pytest.skip(f"{pkg} not installed")
    return Path(list(spec.submodule_search_locations)[0]).joinpath(*parts)


@pytest.fixture(scope="module")
def nni():
    return np.load(_pkg_file("pyhrv", "files", "SampleNNISeriesLong.npy")).astype(float)


def _table(rr, seg=None):
    n = len(rr)
    return RRTable(np.full(n, "x"), np.zeros(n, np.int64) if seg is None else seg, np.cumsum(rr) / 1000,
                   rr, np.zeros(n, np.int64))


def _nk():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pytest.importorskip("neurokit2")


def _peaks(nni):
    return np.concatenate([[0], np.cumsum(nni)]).astype(np.int64)


def test_time_domain_matches_independent_implementation(nni):
    """NeuroKit2 hrv_time (pyhrv and hrv-analysis: tests/test_data_references.py)."""
    nk = _nk()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = nk.hrv_time(_peaks(nni), sampling_rate=1000).iloc[0]
    ours = time_domain(nni)
    assert ours["rmssd_ms"] == pytest.approx(ref["HRV_RMSSD"], rel=5e-3)
    assert ours["sdnn_ms"] == pytest.approx(ref["HRV_SDNN"], rel=5e-3)
    assert ours["mean_rr_ms"] == pytest.approx(ref["HRV_MeanNN"], rel=5e-3)
    # NeuroKit2 divides by N, we by N-1 differences (Task Force): equal within 0.5 %
    assert ours["pnn50_pct"] == pytest.approx(ref["HRV_pNN50"], rel=5e-3)
    assert ours["mean_hr_bpm"] == pytest.approx(np.mean(60000.0 / nni), rel=1e-12)
    # Poincare identities (Brennan 2001)
    d = np.diff(nni)
    assert ours["sd1_ms"] == pytest.approx(np.std(d, ddof=1) / np.sqrt(2), rel=1e-12)


def test_lf_hf_agrees_with_independent_implementation(nni):
    nk = _nk()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = nk.hrv_frequency(_peaks(nni), sampling_rate=1000, psd_method="welch").iloc[0]
    ours = frequency_domain(nni)
    # both Welch on a 4 Hz tachogram; segmenting/detrending differ: ratio within 10 %
    assert ours["lf_hf"] == pytest.approx(ref["HRV_LFHF"], rel=0.10)


@pytest.mark.parametrize("seed", range(5))
def test_kubios_detection_and_rmssd_on_injected_artifacts(nni, seed):
    rng = np.random.default_rng(seed)
    bad, _, events = inject_artifacts(nni, 0.02, rng)
    det = C.detect_kubios(bad, np.zeros(len(bad), np.int64))
    spans = [(a, b) for a, b, _, _ in C._resolve(det, len(bad))]
    recall, precision = match_events(events, spans)
    assert recall >= 0.95
    assert precision >= 0.90
    fixed, _ = C.correct_kubios(_table(bad))
    r0 = np.sqrt(np.mean(np.diff(nni) ** 2))
    r1 = np.sqrt(np.mean(np.diff(fixed.rr_ms) ** 2))
    assert abs(r1 - r0) / r0 < 0.03
    assert abs(len(fixed) - len(nni)) <= 0.003 * len(nni)


def test_each_class_corrected_its_own_way():
    rr = np.full(200, 800.0) + 20 * np.sin(np.arange(200) * 2 * np.pi / 4.3)
    bad = rr.copy().tolist()
    bad[150:151] = [400.0, 400.0]  # extra beat
    bad[100] = bad[100] + bad[101]
    del bad[101]  # missed beat
    bad[50] -= 250.0
    bad[51] += 250.0  # ectopic pair
    res = C.clean(_table(np.array(bad)))
    assert res.counts["extra"] == 1 and res.counts["missed"] == 1 and res.counts["ectopic"] == 1
    assert len(res.table) == len(rr)
    fl = res.table.flags
    assert (fl & Flag.MISSED).sum() and (fl & Flag.EXTRA).sum() and (fl & Flag.ECTOPIC).sum()
    assert np.abs(res.table.rr_ms - rr).max() < 60


def test_bounds_split_segments_and_malik():
    rr = np.array([800.0] * 20 + [2500.0] + [800.0] * 20 + [100.0] + [810.0] * 10)
    res = C.clean(_table(rr), "none")
    assert res.n_out_of_bounds == 2
    assert len(res.segment_origin) == 3
    rr2 = np.array([800.0] * 30 + [500.0] + [800.0] * 30)
    res = C.clean(_table(rr2), "malik")
    assert res.counts["malik"] == 1
    assert res.table.rr_ms[30] == pytest.approx(800.0)


def test_rolling_quantiles_match_numpy():
    rng = np.random.default_rng(0)
    seg = np.sort(rng.integers(0, 6, 500))
    v = rng.normal(size=500)
    start, end = C._row_segment_limits(seg)
    q1, q3 = C.rolling_quantiles(v, start, end, 45, (0.25, 0.75))
    for j in range(0, 500, 7):
        w = v[max(j - 45, start[j]):min(j + 46, end[j])]
        assert q1[j] == pytest.approx(np.quantile(w, 0.25), abs=1e-12)
        assert q3[j] == pytest.approx(np.quantile(w, 0.75), abs=1e-12)


def test_no_false_ectopics_on_real_clean_nni(nni):
    """Respiratory swings just above Th1 are not ectopic pairs (ECT_MIN_DIFF floor)."""
    det = C.detect_kubios(nni, np.zeros(len(nni), np.int64))
    assert len(C._resolve(det, len(nni))) <= 2
    res = C.clean(_table(nni))
    assert res.table.rr_ms.tolist() == pytest.approx(nni.tolist())


def test_short_half_of_extra_beat_is_merged_not_dropped():
    """An extra beat whose first half is below min_rr_ms: merged back (bounds apply after cleaning)."""
    rr = np.full(120, 800.0) + 15 * np.sin(np.arange(120) * 2 * np.pi / 4.3)
    bad = rr.tolist()
    bad[60:61] = [220.0, rr[60] - 220.0]
    res = C.clean(_table(np.array(bad)))
    assert res.counts["extra"] == 1 and res.n_out_of_bounds == 0 and len(res.segment_origin) == 1
    assert res.table.rr_ms == pytest.approx(rr)


def test_ectopic_pair_is_short_and_long_interval():
    """A premature beat: the short interval and its compensatory pause are both corrected."""
    rr = np.full(120, 800.0) + 15 * np.sin(np.arange(120) * 2 * np.pi / 4.3)
    bad = rr.copy()
    bad[60] -= 240.0
    bad[61] += 240.0
    res = C.clean(_table(bad))
    assert res.counts == {"detector_rejected": 0, "ectopic": 1, "missed": 0, "extra": 0, "long_short": 0}
    assert (res.table.flags[[60, 61]] & Flag.ECTOPIC).all() and not (res.table.flags[59] & Flag.ECTOPIC)
    assert np.abs(res.table.rr_ms - rr).max() < 40
