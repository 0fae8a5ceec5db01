"""The wearer's own baseline (edgekit.data.signal.baseline): hand-computed cases of every method (a 7-day
ramp, a gap day, fewer days than required, the normal range and the trend words), readings cut
from recordings, the night window, pandas' rolling statistics as an independent reference, and the
verbs and report that show it."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from edgekit.data.signal import baseline as bl
from edgekit.data.rr import Flag, RRTable

DAY = 86400.0
T0 = 1_704_067_200.0  # 2024-01-01T00:00:00Z
D0 = int(T0 // DAY)


def _days(values) -> tuple[bl.BaselineDay, ...]:
    x = np.array([np.nan if v is None else v for v in values], float)
    return bl.baseline_days(bl.DailyValues(D0, x, np.where(np.isfinite(x), 1, 0)))


def _sd(v):  # sample s.d. by its definition (n - 1), independent of NumPy
    m = sum(v) / len(v)
    return math.sqrt(sum((a - m) ** 2 for a in v) / (len(v) - 1))


def test_seven_day_ramp_hand_computed():
    """ln RMSSD rising 0.1 a day for 7 days: the 7-day mean from day 3 on (3 values), CV, no range yet."""
    days = _days([3.0, 3.1, 3.2, 3.3, 3.4, 3.5, 3.6])
    assert [d.rolling_mean_7d_ln for d in days[:2]] == [None, None]
    assert [d.days_in_7d for d in days] == [1, 2, 3, 4, 5, 6, 7]
    for d, mean in zip(days[2:], (3.1, 3.15, 3.2, 3.25, 3.3)):
        assert d.rolling_mean_7d_ln == pytest.approx(mean, abs=1e-12)
    # day 3: 3.0 3.1 3.2 -> s.d. 0.1, CV 100 * 0.1 / 3.1; day 7: s.d. 0.1 * sqrt(28 / 6)
    assert days[2].cv_7d_pct == pytest.approx(100 * 0.1 / 3.1, abs=1e-9)
    assert days[6].cv_7d_pct == pytest.approx(100 * 0.1 * math.sqrt(28 / 6) / 3.3, abs=1e-9)
    assert days[6].cv_7d_pct == pytest.approx(100 * _sd([3.0, 3.1, 3.2, 3.3, 3.4, 3.5, 3.6]) / 3.3, abs=1e-9)
    last = days[-1]
    assert last.normal_range_low_ln is None and last.trend is None and last.today is None
    assert last.missing == {"normal_range": "needs values on 14 of the last 60 days (found 7)"}
    assert last.date == "2024-01-07" and last.rmssd_ms == pytest.approx(math.exp(3.6))


def test_a_gap_day_has_no_value_and_shrinks_the_windows():
    values = [3.5, 3.6, 3.4, 3.5, None, 3.7, 3.3, 3.6, 3.5]
    days = _days(values)
    gap = days[4]
    assert gap.ln_rmssd is None and gap.rmssd_ms is None and gap.today is None and gap.readings == 0
    assert "daily_value" in gap.missing
    # the gap day still has its week: days 0-4 hold 4 values
    assert gap.days_in_7d == 4 and gap.rolling_mean_7d_ln == pytest.approx((3.5 + 3.6 + 3.4 + 3.5) / 4, abs=1e-12)
    # day 8's window is days 2-8: 6 values around the gap
    w = [3.4, 3.5, 3.7, 3.3, 3.6, 3.5]
    assert days[8].days_in_7d == 6 and days[8].rolling_mean_7d_ln == pytest.approx(sum(w) / 6, abs=1e-12)
    assert days[8].cv_7d_pct == pytest.approx(100 * _sd(w) / (sum(w) / 6), abs=1e-9)
    assert [d.date for d in days][4] == "2024-01-05"


def test_fewer_days_than_required_give_none_with_the_reason():
    days = _days([3.2, None, None, None, None, 3.4])
    assert all(d.rolling_mean_7d_ln is None and d.cv_7d_pct is None for d in days)
    assert days[-1].missing["rolling_mean_7d_ln"] == "needs values on 3 of the last 7 days (found 2)"
    # two values a week apart: day 7 sees only one of them
    days = _days([3.2, None, None, None, None, None, None, 3.4])
    assert days[-1].days_in_7d == 1 and days[-1].rolling_mean_7d_ln is None
    assert bl.smallest_worthwhile_change(np.array([3.0])) != bl.smallest_worthwhile_change(np.array([3.0]))  # NaN


def test_normal_range_and_trend_words_hand_computed():
    """14 days alternating 3.4 / 3.6, then two low days: the range is mean ± 0.5 s.d. of the days so far."""
    base = [3.4, 3.6] * 7
    days = _days(base + [3.0, 3.0, 3.0])
    d13 = days[13]
    swc = 0.5 * _sd(base)
    assert d13.days_in_60d == 14 and d13.swc_ln == pytest.approx(swc, abs=1e-12)
    assert (d13.normal_range_low_ln, d13.normal_range_high_ln) == (pytest.approx(3.5 - swc, abs=1e-12),
                                                                   pytest.approx(3.5 + swc, abs=1e-12))
    assert d13.trend == "within" and d13.today == "above"  # 3.6 > 3.5 + 0.0519
    assert days[12].normal_range_low_ln is None  # 13 days
    # one low day: today below, the week still within (3.371 >= 3.339)
    v = base + [3.0, 3.0]
    m, s = sum(v) / 16, 0.5 * _sd(v)
    assert days[15].normal_range_low_ln == pytest.approx(m - s, abs=1e-12)
    assert days[15].rolling_mean_7d_ln == pytest.approx(sum(v[-7:]) / 7, abs=1e-12)
    assert days[15].today == "below" and days[15].trend == "within"
    # three low days pull the week below the range too (3.286 < 3.303)
    v = base + [3.0, 3.0, 3.0]
    m, s = sum(v) / 17, 0.5 * _sd(v)
    assert days[16].rolling_mean_7d_ln == pytest.approx(sum(v[-7:]) / 7, abs=1e-12)
    assert days[16].rolling_mean_7d_ln < m - s and days[16].trend == "below" and days[16].today == "below"


def test_trend_word_bounds_are_within():
    assert bl.trend_word(1.0, 1.0, 2.0) == "within" and bl.trend_word(2.0, 1.0, 2.0) == "within"
    assert bl.trend_word(0.999, 1.0, 2.0) == "below" and bl.trend_word(2.001, 1.0, 2.0) == "above"
    assert bl.trend_word(None, 1.0, 2.0) is None and bl.trend_word(1.5, float("nan"), 2.0) is None


def test_rolling_figures_equal_pandas_rolling_windows():
    """An independent reference: pandas' rolling mean / s.d. over 7 and 60 calendar days with gaps."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(3)
    x = rng.normal(3.6, 0.2, 90)
    x[rng.random(90) < 0.3] = np.nan
    s = pd.Series(x)
    mean7, _ = bl.rolling_mean_7d(x)
    ref7 = s.rolling(7, min_periods=3).mean().to_numpy()
    cv_ref = (100 * s.rolling(7, min_periods=3).std() / s.rolling(7, min_periods=3).mean()).to_numpy()
    low, high, swc, _ = bl.normal_range_60d(x)
    m60 = s.rolling(60, min_periods=14).mean().to_numpy()
    sd60 = s.rolling(60, min_periods=14).std().to_numpy()
    np.testing.assert_allclose(mean7, ref7, atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(bl.coefficient_of_variation_7d(x), cv_ref, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(swc, 0.5 * sd60, atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(low, m60 - 0.5 * sd60, atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(high, m60 + 0.5 * sd60, atol=1e-12, equal_nan=True)


def _recording(t0: float, rr, subject="p", segment=0, flags=None):
    rr = np.asarray(rr, float)
    t = t0 + np.cumsum(rr) / 1000.0
    return RRTable(np.full(len(rr), subject), np.full(len(rr), segment), t, rr,
                   np.zeros(len(rr), np.int64) if flags is None else flags)


def test_readings_are_one_minute_pieces_with_their_own_rmssd():
    # 150 s of 750 / 800 ms alternating: successive differences +-50 ms, RMSSD 50 in every piece
    rr = np.tile([750.0, 800.0], 97)
    r = bl.reading_values(_recording(T0 + 3600, rr))
    ends = T0 + 3600 + np.cumsum(rr) / 1000.0
    assert len(r) == 2  # pieces [0, 60) and [60, 120) s from the first beat; the 25 s tail has < 45 beats
    assert r.beats.tolist() == [int(((ends - ends[0]) < 60).sum()), int((((ends - ends[0]) >= 60) & ((ends - ends[0]) < 120)).sum())]
    np.testing.assert_allclose(r.rmssd_ms, 50.0, atol=1e-9)
    np.testing.assert_allclose(r.ln_rmssd, math.log(50.0), atol=1e-12)
    assert r.start_time_s[0] == ends[0] and r.first_row.tolist()[0] == 0 and r.end_row[-1] <= len(rr)


def test_reading_needs_beats_and_few_artifacts_and_no_difference_across_a_gap():
    short = _recording(T0, [800.0] * 44)
    assert len(bl.reading_values(short)) == 0
    flags = np.zeros(60, np.int64)
    flags[:13] = int(Flag.ECTOPIC)  # 21.7 % > 20 %
    assert len(bl.reading_values(_recording(T0, [800.0, 850.0] * 30, flags=flags))) == 0
    flags[:12] = int(Flag.ECTOPIC)
    flags[12] = 0  # 20 % exactly: kept
    assert len(bl.reading_values(_recording(T0, [800.0, 850.0] * 30, flags=flags))) == 1
    # two segments 2 s apart are one reading; the difference across the break is not taken
    a = _recording(T0, [800.0, 860.0] * 15, segment=0)
    b = _recording(a.time_s[-1] + 2.0, [900.0] * 30, segment=1)
    r = bl.reading_values(RRTable.concat([a, b]))
    assert len(r) == 1 and r.beats[0] == 60
    assert r.rmssd_ms[0] == pytest.approx(math.sqrt(29 * 60.0 ** 2 / 58), abs=1e-9)


def test_night_window_and_utc_offset_place_the_day():
    # readings at 02:00, 12:00 and 23:30 UTC of 2024-01-01
    t = T0 + np.array([2.0, 12.0, 23.5]) * 3600
    v = np.array([3.0, 4.0, 5.0])
    night = bl.daily_ln_rmssd(t, v, 0.0, "night")
    assert night.first_day == D0 and night.ln_rmssd.tolist() == [3.0] and night.readings.tolist() == [1]
    assert bl.daily_ln_rmssd(t, v, 0.0, "all").ln_rmssd.tolist() == [4.0]  # the median of the three
    # at UTC+02:00 the 23:30 reading is 01:30 the next local day, the 02:00 one is 04:00
    shifted = bl.daily_ln_rmssd(t, v, 7200.0, "night")
    assert shifted.first_day == D0 and shifted.ln_rmssd.tolist() == [3.0, 5.0]
    assert bl.daily_ln_rmssd(t, v, 0.0, "morning").ln_rmssd.tolist() == []
    with pytest.raises(ValueError):
        bl.daily_ln_rmssd(t, v, 0.0, "noon")
    # median of an even count: mean of the two middle values
    assert bl.daily_ln_rmssd(T0 + np.array([1.0, 2.0, 3.0, 4.0]) * 3600, np.array([1.0, 2.0, 4.0, 9.0])
                             ).ln_rmssd.tolist() == [3.0]


def test_personal_baseline_of_a_synthetic_watch_month_and_of_a_clockless_recording():
    from edgekit.data.synth import cohort as synth
    from edgekit.data.signal.clean import clean

    cohort = synth.generate(subjects=1, days=20, seed=5, recordings=["watch"])
    res = bl.personal_baseline(clean(cohort.table, "kubios").table)
    b = res["S000"]
    assert b.window == "night" and len(b.days) >= 19 and b.reason is None
    assert b.latest.trend in bl.WORDS and b.latest.normal_range_low_ln is not None
    assert sum(b.counts().values()) == sum(1 for d in b.days if d.trend)
    doc = json.loads(json.dumps(b.to_json()))
    assert doc["latest"]["date"] == b.latest.date and len(doc["days"]) == len(b.days)
    assert set(doc["requirements"]) >= {"rolling_mean_7d_ln", "normal_range", "trend"}
    clockless = _recording(0.0, [800.0, 850.0] * 40)
    only = bl.personal_baseline(clockless)["p"]
    assert only.days == () and "no clock time" in only.reason
    daytime = bl.personal_baseline(_recording(T0 + 12 * 3600, [800.0, 850.0] * 40))["p"]
    assert daytime.days == () and "00:00 and 06:00" in daytime.reason
    from edgekit.data.signal.baseline_text import text_lines

    assert text_lines(daytime)[1].startswith("  no daily value:")


def test_agreement_measure_runs_per_profile_with_a_stand_in_model():
    """scripts/baseline_agreement.py's measurement on a tiny cohort (SYNTHETIC): every profile row,
    the truth words from the latent recovery, and a stand-in model's day labels on the same days."""
    from edgekit.data.synth import baseline_eval as be

    calls = []

    def predict(X):
        calls.append(X.shape)
        p = np.zeros((len(X), 3))
        p[:, 0] = 1.0  # always healthy
        return p

    out = be.measure(subjects=4, days=16, seed=3, profiles=("watch", "spot"), predict=predict)
    rows = out["per_profile"]
    assert out["synthetic"] and set(rows) == {"all", "watch", "spot"}
    assert calls and all(s[1] == 128 for s in calls)
    a = rows["all"]
    assert a["subject_days"] == rows["watch"]["subject_days"] + rows["spot"]["subject_days"] > 0
    assert a["days_with_trend"] > 0 and -1 <= a["trend_vs_true_trend"]["kappa"] <= 1
    assert a["model"]["not_healthy_label_vs_not_healthy"]["flagged_share"] == 0.0  # the stand-in never flags
    assert be.cohen_kappa(["a", "b", "a"], ["a", "b", "a"]) == 1.0 and be.cohen_kappa([], []) is None
    d = be._detection(np.array([True, False, True, False]), np.array([True, True, False, False]))
    assert d == {"sensitivity": 0.5, "specificity": 0.5, "balanced_accuracy": 0.5, "flagged_share": 0.5}


def test_an_empty_table_has_no_baseline():
    assert bl.personal_baseline(RRTable.empty()) == {}
    assert len(bl.reading_values(RRTable.empty())) == 0
    assert bl.daily_ln_rmssd(np.zeros(0), np.zeros(0)).ln_rmssd.size == 0
