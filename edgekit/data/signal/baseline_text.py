"""Human-readable lines of the personal baseline (``edgekit hrv`` and ``edgekit predict``)."""

from __future__ import annotations

from edgekit.data.signal.baseline import WINDOWS, WORDS, BaselineDay, BaselineResult


def _offset_text(utc_offset_s: float) -> str:
    sign = "+" if utc_offset_s >= 0 else "-"
    m = int(round(abs(utc_offset_s) / 60.0))
    return f"UTC{sign}{m // 60:02d}:{m % 60:02d}"


def _num(v: float | None, fmt: str) -> str:
    width = int(fmt.split(".")[0])
    return "-".rjust(width) if v is None else format(v, fmt)


def day_text(x: BaselineDay) -> str:
    """One line of a day's figures."""
    rng = ("-" if x.normal_range_low_ln is None
           else f"{x.normal_range_low_ln:.3f}-{x.normal_range_high_ln:.3f}")
    return (f"{x.date}  {_num(x.ln_rmssd, '8.3f')}  {_num(x.rmssd_ms, '8.1f')}  {x.readings:8d}  "
            f"{_num(x.rolling_mean_7d_ln, '10.3f')}  {_num(x.cv_7d_pct, '5.1f')}  {rng:>11s}  "
            f"{x.trend or '-':>6s}  {x.today or '-':>6s}")


def text_lines(result: BaselineResult, every_day: bool = True) -> list[str]:
    """The human-readable baseline of one subject: a heading, then every day (or the latest)."""
    lo, hi = WINDOWS[result.window]
    head = (f"baseline of {result.subject} (the wearer's own, label-free; {result.window} readings "
            f"{lo:02.0f}:00-{hi:02.0f}:00 {_offset_text(result.utc_offset_s)}): {result.n_readings} readings")
    if not result.days:
        return [head, f"  no daily value: {result.reason}"]
    n_val = sum(1 for x in result.days if x.ln_rmssd is not None)
    counts = result.counts()
    out = [head + f", {n_val} days with a value; trend days " + ", ".join(f"{w} {counts[w]}" for w in WORDS),
           "  date         ln RMSSD  RMSSD ms  readings  7-day mean  CV %  normal range   trend   today"]
    days = result.days if every_day else result.days[-1:]
    out += ["  " + day_text(x) for x in days]
    latest = result.days[-1]
    if latest.missing:
        out.append("  not yet: " + "; ".join(f"{k.split('_ln')[0].replace('_', ' ')} {v}"
                                            for k, v in latest.missing.items() if k != "daily_value"))
    return [line for line in out if line != "  not yet: "]
