"""The wearer's own baseline: a label-free readiness result from ln RMSSD (docs/baseline.md).

No model and no population: each day's HRV is read against the same person's recent days, the
way HRV-guided training does (HRV4Training, Elite HRV and the studies below). One public function
per method, composed by :func:`personal_baseline`:

- :func:`reading_values` — ln RMSSD of each reading (a heartbeat series such as one Apple Watch
  background reading, or each one-minute piece of a longer recording). RMSSD: Task Force of the
  ESC and NASPE (1996); its natural log, because RMSSD is skewed and ln RMSSD near normal within a
  person (Plews et al. 2012, Eur J Appl Physiol 112:3729; Plews et al. 2013, Sports Med 43:773).
- :func:`daily_ln_rmssd` — the day's value: the median ln RMSSD of the readings that start in the
  night window, 00:00-06:00 local time. Resting HRV is meant to be measured in the same standard
  condition every day, classically on waking (Buchheit 2014, Front Physiol 5:73); a watch gives no
  such condition by day but does at night, and wearable HRV is most reliable during sleep (Dudarev
  et al. 2023, Sensors 23:5863), which is what Oura and WHOOP use. The median keeps one noisy
  reading from moving the day. The windows ``morning`` (06:00-10:00) and ``all`` (the whole day)
  exist for comparison; docs/baseline.md has the measurement behind the choice.
- :func:`rolling_mean_7d` — the 7-day rolling mean of the daily values (Plews et al. 2012, 2013),
  the day itself and the 6 before, given when at least 3 of those 7 days have a value (Plews et
  al. 2014, Int J Sports Physiol Perform 9:783: 3 random days a week give the weekly mean's
  result).
- :func:`coefficient_of_variation_7d` — the CV (%) of ln RMSSD over the same 7 days (Plews et al.
  2012: the day-to-day variation falls towards non-functional overreaching).
- :func:`smallest_worthwhile_change` — SWC = 0.5 x the between-day s.d. of the baseline's daily
  values (Buchheit 2014).
- :func:`normal_range_60d` — the normal range: mean ± SWC of the daily values of the last 60 days
  (the day and the 59 before), given with at least 14 of them (HRV4Training's 60-day "normal
  values"; Buchheit 2014's SWC band; the baseline-period mean ± 0.5 s.d. of HRV-guided training,
  Vesterinen et al. 2016, Med Sci Sports Exerc 48:1347).
- :func:`trend_word` — ``below`` / ``within`` / ``above`` the range: for the 7-day mean (``trend``,
  the chronic response) and for the day's own value (``today``, the acute one).

Written with NumPy rather than taken from a library: no HRV library (NeuroKit2, hrv-analysis,
pyHRV, HeartPy) implements a personal baseline, each method is a few lines, and HRVKit's Swift
port (``PersonalBaseline`` in HRVKitCore) must repeat them operation for operation (checked
against fixtures within 1e-9). Times are seconds since 1970 (UTC); days are local calendar days
``floor((time_s + utc_offset_s) / 86400)``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

import numpy as np

from edgekit.data.rr import ARTIFACT_MASK, RRTable
from edgekit.data.signal.windows import MIN_READING_BEATS, READING_JOIN_S, reading_units

READING_S = 60.0  # a longer recording is read as consecutive one-minute readings
MAX_ARTIFACT_PCT = 20.0  # a reading with more artifact beats is not used (the watch models' limit)
WINDOWS = {"night": (0.0, 6.0), "morning": (6.0, 10.0), "all": (0.0, 24.0)}  # local hours [start, end)
DEFAULT_WINDOW = "night"
ROLLING_DAYS = 7
MIN_ROLLING_DAYS = 3  # Plews et al. 2014
NORMAL_RANGE_DAYS = 60
MIN_NORMAL_RANGE_DAYS = 14
SWC_FACTOR = 0.5  # Buchheit 2014
WORDS = ("below", "within", "above")
DAY_S = 86400.0


@dataclass(frozen=True)
class Readings:
    """Readings of one or more subjects, one row each, in time order per subject."""

    subject: np.ndarray  # (n,) str
    start_time_s: np.ndarray  # (n,) float: time of the reading's first beat
    end_time_s: np.ndarray  # (n,) float: time of its last beat
    beats: np.ndarray  # (n,) int: RR intervals
    rmssd_ms: np.ndarray  # (n,) float
    ln_rmssd: np.ndarray  # (n,) float: natural log of RMSSD in ms
    first_row: np.ndarray  # (n,) int: the reading's rows of the table are first_row ..< end_row
    end_row: np.ndarray  # (n,) int

    def __len__(self) -> int:
        return len(self.ln_rmssd)

    def of(self, subject: str) -> Readings:
        m = self.subject == subject
        return Readings(*(getattr(self, k)[m] for k in self.__dataclass_fields__))


@dataclass(frozen=True)
class DailyValues:
    """A day-by-day series from the first to the last day with a value (gaps are NaN)."""

    first_day: int  # days since 1970-01-01 (local calendar day)
    ln_rmssd: np.ndarray  # (D,) float, NaN on a day without readings in the window
    readings: np.ndarray  # (D,) int: readings that gave the day's value


@dataclass(frozen=True)
class BaselineDay:
    """The baseline's figures on one day; None where the data requirement is not met (``missing``
    says why). ln values are natural logs of RMSSD in ms."""

    day: int
    date: str
    ln_rmssd: float | None
    rmssd_ms: float | None
    readings: int
    rolling_mean_7d_ln: float | None
    days_in_7d: int
    cv_7d_pct: float | None
    swc_ln: float | None
    normal_range_low_ln: float | None
    normal_range_high_ln: float | None
    days_in_60d: int
    trend: str | None  # the 7-day mean vs the normal range
    today: str | None  # the day's value vs the normal range
    missing: dict = field(default_factory=dict)


@dataclass(frozen=True)
class BaselineResult:
    """The baseline of one subject: one :class:`BaselineDay` per calendar day from the first to the
    last day with a reading (none when no reading falls in the window)."""

    subject: str
    window: str
    utc_offset_s: float
    n_readings: int
    days: tuple[BaselineDay, ...]
    reason: str | None = None  # why there are no days

    @property
    def latest(self) -> BaselineDay | None:
        return self.days[-1] if self.days else None

    def day_of(self, time_s: float) -> BaselineDay | None:
        """The record of the local day holding ``time_s``, or None outside the days."""
        d = local_day(time_s, self.utc_offset_s)
        return next((x for x in self.days if x.day == d), None)

    def counts(self) -> dict[str, int]:
        """Days per trend word (days with a trend)."""
        return {w: sum(1 for x in self.days if x.trend == w) for w in WORDS}

    def to_json(self, days: bool = True) -> dict:
        out = {"subject": self.subject, "window": self.window, "window_hours": list(WINDOWS[self.window]),
               "utc_offset_s": self.utc_offset_s, "n_readings": self.n_readings,
               "days_with_value": sum(1 for x in self.days if x.ln_rmssd is not None),
               "trend_counts": self.counts(), "latest": asdict(self.latest) if self.latest else None,
               "requirements": requirements(), "reason": self.reason}
        if days:
            out["days"] = [asdict(x) for x in self.days]
        return out


def requirements() -> dict:
    """Days of readings each figure needs before it is given (docs/baseline.md)."""
    return {"daily_value": f"1 reading of >= {MIN_READING_BEATS} clean beats starting in the window that day",
            "rolling_mean_7d_ln": f"values on >= {MIN_ROLLING_DAYS} of the last {ROLLING_DAYS} days",
            "cv_7d_pct": f"values on >= {MIN_ROLLING_DAYS} of the last {ROLLING_DAYS} days",
            "normal_range": f"values on >= {MIN_NORMAL_RANGE_DAYS} of the last {NORMAL_RANGE_DAYS} days",
            "trend": "the 7-day mean and the normal range", "today": "the day's value and the normal range"}


def local_day(time_s, utc_offset_s: float = 0.0):
    """Local calendar day (days since 1970-01-01) of ``time_s`` (s since 1970, UTC)."""
    return np.floor((np.asarray(time_s, np.float64) + utc_offset_s) / DAY_S).astype(np.int64)


def day_date(day: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=int(day))).isoformat()


def reading_values(table: RRTable, max_artifact_pct: float = MAX_ARTIFACT_PCT, min_beats: int = MIN_READING_BEATS,
                   reading_s: float = READING_S, join_gap_s: float = READING_JOIN_S) -> Readings:
    """ln RMSSD of every reading of a cleaned table (Task Force 1996; Plews et al. 2012).

    A reading is a run of segments joined by breaks of at most ``join_gap_s`` (the strain
    classifier's readings, :func:`edgekit.data.signal.windows.reading_units`), cut into pieces of
    ``reading_s`` seconds by beat time from its first beat (piece k holds the beats with
    ``k <= (t - t_first) / reading_s < k + 1``): an Apple Watch background reading is one piece, a
    chest-strap night hundreds. A piece is a reading when it has at least ``min_beats`` beats, at
    least one successive difference (consecutive beats of one segment) and no more than
    ``max_artifact_pct`` % artifact-flagged beats; its RMSSD is over its own differences only.
    """
    flagged = (table.flags & ARTIFACT_MASK) != 0
    cols: dict[str, list] = {k: [] for k in ("subject", "start", "end", "beats", "rmssd", "first", "last")}
    for unit in reading_units(table, join_gap_s):
        rows = np.concatenate([np.arange(a, e) for a, e in unit])
        t = table.time_s[rows]
        piece = np.floor((t - t[0]) / reading_s).astype(np.int64)
        seg = table.segment[rows]
        same = np.zeros(len(rows), bool)
        same[1:] = (seg[1:] == seg[:-1]) & (piece[1:] == piece[:-1])
        d2 = np.zeros(len(rows))
        d2[1:] = np.diff(table.rr_ms[rows]) ** 2
        bounds = np.flatnonzero(np.r_[True, piece[1:] != piece[:-1], True])
        for a, e in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            n = e - a
            n_d = int(same[a + 1:e].sum())
            if n < min_beats or n_d == 0 or flagged[rows[a:e]].sum() * 100.0 > max_artifact_pct * n:
                continue
            cols["subject"].append(str(table.subject[rows[a]]))
            cols["start"].append(float(t[a]))
            cols["end"].append(float(t[e - 1]))
            cols["beats"].append(n)
            cols["rmssd"].append(math.sqrt(_seq_sum(d2[a + 1:e][same[a + 1:e]]) / n_d))
            cols["first"].append(int(rows[a]))
            cols["last"].append(int(rows[e - 1]) + 1)
    rmssd = np.asarray(cols["rmssd"], np.float64)
    with np.errstate(divide="ignore"):
        ln = np.log(rmssd)
    return Readings(np.asarray(cols["subject"], dtype=str), np.asarray(cols["start"], np.float64),
                    np.asarray(cols["end"], np.float64), np.asarray(cols["beats"], np.int64), rmssd, ln,
                    np.asarray(cols["first"], np.int64), np.asarray(cols["last"], np.int64))


def _seq_sum(x: np.ndarray) -> float:
    """Left-to-right sum (the Swift port's loop), not NumPy's pairwise one."""
    s = 0.0
    for v in x.tolist():
        s += v
    return s


def daily_ln_rmssd(start_time_s, ln_rmssd, utc_offset_s: float = 0.0, window: str = DEFAULT_WINDOW) -> DailyValues:
    """The day's value: the median ln RMSSD of the readings starting in ``window`` (local hours,
    :data:`WINDOWS`) of that day (Plews et al. 2012; night readings: Dudarev et al. 2023).
    Readings with a non-finite ln RMSSD (RMSSD 0) are not used."""
    if window not in WINDOWS:
        raise ValueError(f"unknown baseline window {window!r}; known: {', '.join(WINDOWS)}")
    t = np.asarray(start_time_s, np.float64)
    v = np.asarray(ln_rmssd, np.float64)
    local = t + utc_offset_s
    day = np.floor(local / DAY_S)
    hour = (local - day * DAY_S) / 3600.0
    lo, hi = WINDOWS[window]
    keep = (hour >= lo) & (hour < hi) & np.isfinite(v) & np.isfinite(t)
    if not keep.any():
        return DailyValues(0, np.zeros(0), np.zeros(0, np.int64))
    day, v = day[keep].astype(np.int64), v[keep]
    first = int(day.min())
    n_days = int(day.max()) - first + 1
    out = np.full(n_days, np.nan)
    count = np.zeros(n_days, np.int64)
    for k in np.unique(day).tolist():
        vals = v[day == k]
        out[k - first] = float(np.median(vals))
        count[k - first] = len(vals)
    return DailyValues(first, out, count)


def _windows(x: np.ndarray, days: int) -> list[np.ndarray]:
    """Per day d: the present values of x[d-days+1 .. d], oldest first."""
    return [x[max(0, d - days + 1):d + 1][np.isfinite(x[max(0, d - days + 1):d + 1])] for d in range(len(x))]


def rolling_mean_7d(x: np.ndarray, min_days: int = MIN_ROLLING_DAYS) -> tuple[np.ndarray, np.ndarray]:
    """The 7-day rolling mean of daily ln RMSSD ``x`` (NaN = no value): per day the mean of the
    values of that day and the 6 before (Plews et al. 2012, 2013), NaN with fewer than ``min_days``
    of them (Plews et al. 2014). Returns (means, values per window)."""
    w = _windows(np.asarray(x, np.float64), ROLLING_DAYS)
    n = np.array([len(v) for v in w], np.int64)
    return np.array([float(np.mean(v)) if len(v) >= min_days else np.nan for v in w]), n


def coefficient_of_variation_7d(x: np.ndarray, min_days: int = MIN_ROLLING_DAYS) -> np.ndarray:
    """CV (%) of daily ln RMSSD over the same 7-day windows: 100 x s.d. (n - 1) / mean (Plews et
    al. 2012), NaN with fewer than ``min_days`` values."""
    w = _windows(np.asarray(x, np.float64), ROLLING_DAYS)
    return np.array([100.0 * float(np.std(v, ddof=1)) / float(np.mean(v)) if len(v) >= max(min_days, 2) else np.nan
                     for v in w])


def smallest_worthwhile_change(values: np.ndarray) -> float:
    """SWC = 0.5 x the between-day s.d. (n - 1) of a baseline's daily ln RMSSD values
    (Buchheit 2014); NaN with fewer than two values."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    return SWC_FACTOR * float(np.std(v, ddof=1)) if len(v) >= 2 else float("nan")


def normal_range_60d(x: np.ndarray, min_days: int = MIN_NORMAL_RANGE_DAYS
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The normal range of each day: mean ± SWC of the daily values of that day and the 59 before
    (HRV4Training's 60-day normal values; SWC band of Buchheit 2014), NaN with fewer than
    ``min_days`` values. Returns (low, high, SWC, values per window)."""
    w = _windows(np.asarray(x, np.float64), NORMAL_RANGE_DAYS)
    n = np.array([len(v) for v in w], np.int64)
    swc = np.array([smallest_worthwhile_change(v) if len(v) >= min_days else np.nan for v in w])
    mean = np.array([float(np.mean(v)) if len(v) >= min_days else np.nan for v in w])
    return mean - swc, mean + swc, swc, n


def trend_word(value: float | None, low: float | None, high: float | None) -> str | None:
    """``below`` / ``within`` / ``above`` [low, high] (the bounds count as within); None when any
    is missing."""
    if value is None or low is None or high is None or not all(map(math.isfinite, (value, low, high))):
        return None
    return "below" if value < low else ("above" if value > high else "within")


def baseline_days(daily: DailyValues) -> tuple[BaselineDay, ...]:
    """Every figure per day of a daily series (:func:`rolling_mean_7d`,
    :func:`coefficient_of_variation_7d`, :func:`normal_range_60d`, :func:`trend_word`)."""
    x = daily.ln_rmssd
    mean7, n7 = rolling_mean_7d(x)
    cv7 = coefficient_of_variation_7d(x)
    low, high, swc, n60 = normal_range_60d(x)
    out = []
    for i in range(len(x)):
        def f(a):
            return float(a[i]) if math.isfinite(a[i]) else None
        missing = {}
        if f(x) is None:
            missing["daily_value"] = "no reading in the window this day"
        if f(mean7) is None:
            missing["rolling_mean_7d_ln"] = (f"needs values on {MIN_ROLLING_DAYS} of the last {ROLLING_DAYS} days "
                                             f"(found {int(n7[i])})")
        if f(low) is None:
            missing["normal_range"] = (f"needs values on {MIN_NORMAL_RANGE_DAYS} of the last {NORMAL_RANGE_DAYS} "
                                       f"days (found {int(n60[i])})")
        out.append(BaselineDay(
            day=daily.first_day + i, date=day_date(daily.first_day + i), ln_rmssd=f(x),
            rmssd_ms=math.exp(x[i]) if f(x) is not None else None, readings=int(daily.readings[i]),
            rolling_mean_7d_ln=f(mean7), days_in_7d=int(n7[i]), cv_7d_pct=f(cv7), swc_ln=f(swc),
            normal_range_low_ln=f(low), normal_range_high_ln=f(high), days_in_60d=int(n60[i]),
            trend=trend_word(f(mean7), f(low), f(high)), today=trend_word(f(x), f(low), f(high)), missing=missing))
    return tuple(out)


def personal_baseline(table: RRTable, utc_offset_s: float = 0.0, window: str = DEFAULT_WINDOW,
                      max_artifact_pct: float = MAX_ARTIFACT_PCT) -> dict[str, BaselineResult]:
    """The baseline of every subject of a cleaned RR table (beat times in seconds since 1970):
    :func:`reading_values` → :func:`daily_ln_rmssd` → :func:`baseline_days`."""
    readings = reading_values(table, max_artifact_pct)
    out = {}
    for subj in dict.fromkeys(table.subject.tolist()):
        out[subj] = baseline_of_readings(readings.of(subj), subj, utc_offset_s, window,
                                         clock=bool(len(table)) and float(np.nanmin(table.time_s)) > 1e8)
    return out


def baseline_of_readings(readings: Readings, subject: str, utc_offset_s: float = 0.0, window: str = DEFAULT_WINDOW,
                         clock: bool = True) -> BaselineResult:
    """The baseline of one subject's readings. ``clock`` False (beat times since the recording's
    start, not since 1970) gives no days: local days and hours cannot be placed."""
    if window not in WINDOWS:
        raise ValueError(f"unknown baseline window {window!r}; known: {', '.join(WINDOWS)}")
    if not clock:
        return BaselineResult(subject, window, utc_offset_s, len(readings), (),
                              "the recording has no clock time (times since its start): days cannot be placed")
    daily = daily_ln_rmssd(readings.start_time_s, readings.ln_rmssd, utc_offset_s, window)
    if len(daily.ln_rmssd) == 0:
        lo, hi = WINDOWS[window]
        why = (f"no reading of >= {MIN_READING_BEATS} clean beats" if len(readings) == 0
               else f"none of its {len(readings)} readings starts between {lo:02.0f}:00 and {hi:02.0f}:00 local time")
        return BaselineResult(subject, window, utc_offset_s, len(readings), (), why)
    # every day with a reading gets a record (a day without one in the window: no value, its week's figures)
    days = local_day(readings.start_time_s, utc_offset_s)
    return BaselineResult(subject, window, utc_offset_s, len(readings),
                          baseline_days(extend_days(daily, int(days.min()), int(days.max()))))


def extend_days(daily: DailyValues, first_day: int, last_day: int) -> DailyValues:
    """The series padded with days without a value to cover ``first_day .. last_day``."""
    first = min(first_day, daily.first_day)
    last = max(last_day, daily.first_day + len(daily.ln_rmssd) - 1)
    x = np.full(last - first + 1, np.nan)
    n = np.zeros(last - first + 1, np.int64)
    k = daily.first_day - first
    x[k:k + len(daily.ln_rmssd)] = daily.ln_rmssd
    n[k:k + len(daily.readings)] = daily.readings
    return DailyValues(first, x, n)

