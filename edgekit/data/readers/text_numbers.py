"""Fast paths for the columns of the streamed text readers: a whole column converted at C speed, or
``None`` when any value is not in the plain form, and the reader then parses that block line by
line (which names the bad line). Each fast path gives the floats its line-by-line twin gives.

No library fits: ``np.loadtxt`` and pandas raise without the line-level messages and accept forms
the readers refuse, and ``np.datetime64`` parsing accepts more ISO 8601 forms than
``datetime.fromisoformat`` (the readers' rule), so only fixed-shape times are taken here.
"""

from __future__ import annotations

import numpy as np

_DIGIT_COLUMNS = {23: (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22),
                  26: (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22, 23, 24, 25)}
_SEPARATORS = {4: b"-", 7: b"-", 10: b"T", 13: b":", 16: b":", 19: b"."}
_SAFE_US = 2**53  # microsecond counts below this are exact in float64


def finite_floats(texts: list[str]) -> np.ndarray | None:
    """``float(s)`` of every string as a float64 array (n,), or None when one is not a number or
    not finite (``float`` strips the whitespace ``str.strip`` strips, so the values are those of
    ``float(s.strip())``)."""
    try:
        values = np.array(list(map(float, texts)), dtype=np.float64)
    except ValueError:
        return None
    return values if np.isfinite(values).all() else None


def iso_times_utc(texts: list[str]) -> np.ndarray | None:
    """Seconds since the epoch of naive ISO 8601 times ``YYYY-MM-DDTHH:MM:SS.fff`` (or ``.ffffff``),
    all of one width, read as UTC: ``datetime.fromisoformat(s).replace(tzinfo=utc).timestamp()`` for
    each, as a float64 array (n,). None when any is of another form or not a valid time.

    Exact: the time is an integer count of microseconds (below 2**53, so exact in float64) divided
    by 10**6 once, correctly rounded, which is how ``timestamp()`` computes it.
    """
    if not texts:
        return None
    width = len(texts[0])
    if width not in _DIGIT_COLUMNS or set(map(len, texts)) != {width}:
        return None
    try:
        raw = "".join(texts).encode("ascii")
    except UnicodeEncodeError:
        return None
    chars = np.frombuffer(raw, np.uint8).reshape(len(texts), width)
    for col, sep in _SEPARATORS.items():
        if not (chars[:, col] == sep[0]).all():
            return None
    digits = chars[:, _DIGIT_COLUMNS[width]].astype(np.int64) - 48
    if ((digits < 0) | (digits > 9)).any():
        return None

    def number(first: int, count: int) -> np.ndarray:
        out = np.zeros(len(texts), np.int64)
        for k in range(first, first + count):
            out = out * 10 + digits[:, k]
        return out

    year, month, day = number(0, 4), number(4, 2), number(6, 2)
    hour, minute, second = number(8, 2), number(10, 2), number(12, 2)
    frac_digits = width - 20
    micro = number(14, frac_digits) * 10 ** (6 - frac_digits)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int64)
    valid = ((year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (hour <= 23) & (minute <= 59)
             & (second <= 59))
    if not valid.all():
        return None
    if (day > month_days[month] + (leap & (month == 2))).any():
        return None
    # days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant, "chrono-compatible low-level
    # date algorithms", days_from_civil)
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    us = ((days * 86400 + hour * 3600 + minute * 60 + second) * 1_000_000) + micro
    if (np.abs(us) >= _SAFE_US).any():
        return None
    return us.astype(np.float64) / 1e6
