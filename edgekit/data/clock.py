"""The wearer's clock: UTC offsets (``--utc-offset``, ``data.utc_offset``) and recordings without one.

Times in an RR table are Unix seconds when the source has a clock (Apple export, Polar, a CSV or
signal with a time column); a bare list of intervals (``rr-text``, a CSV without ``--time-column``,
a signal with ``--sample-rate``) has none, and its times are seconds from the first beat — shown as
1970-01-01 by anything that reads them as dates. :func:`has_clock` tells them apart the way
:func:`edgekit.run.predict.fmt_time` does; ``--start`` (:func:`parse_start`) places such a recording.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from edgekit.core.errors import InputError

CLOCK_EPOCH_S = 1e8  # times below this (1973-03-03) are seconds from the first beat, not dates


def has_clock(time_s: np.ndarray) -> bool:
    """Whether beat times are Unix seconds (a recording with a clock), not seconds from its start."""
    t = np.asarray(time_s, dtype=np.float64)
    return bool(len(t)) and float(np.nanmax(t)) > CLOCK_EPOCH_S


def no_clock_warning(where: str, purpose: str, fix: str = "give --start TIME") -> str:
    """The one-line warning for a recording without a clock, saying what it costs and what to do."""
    return (f"{where}: no clock (beat times are seconds from the first beat, shown as 1970-01-01): "
            f"{purpose}; {fix} (when the recording started, e.g. --start 2024-05-01T07:30:00+02:00)")


def parse_start(text: str) -> float:
    """Unix seconds of ``--start`` (ISO 8601; no offset = UTC), or a one-line InputError."""
    s = text.strip()
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00") if s.endswith("Z") else s)
    except ValueError:
        raise InputError(f"--start {text!r}: expected a date and time such as 2024-05-01T07:30:00+02:00") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    t = dt.timestamp()
    if not t > CLOCK_EPOCH_S:
        raise InputError(f"--start {text!r}: before 1973; give the recording's real date")
    return t


def utc_offset_seconds(text: str | None, at_epoch_s: float = 0.0, what: str = "--utc-offset") -> float:
    """Seconds east of UTC of ``±HH[:MM]``, ``UTC``/``Z`` or an IANA zone name (its offset at
    ``at_epoch_s``); :class:`InputError` naming the value otherwise."""
    if text is None or text.strip().upper() in ("", "UTC", "Z", "GMT"):
        return 0.0
    m = re.fullmatch(r"([+-])(\d{1,2})(?::?(\d{2}))?", text.strip())
    if m:
        hours, minutes = int(m.group(2)), int(m.group(3) or 0)
        if hours > 14 or minutes >= 60 or hours * 60 + minutes > 14 * 60:
            raise InputError(f"{what} {text!r}: offsets run from -14:00 to +14:00")
        return (1 if m.group(1) == "+" else -1) * (hours * 3600.0 + minutes * 60.0)
    try:
        zone = ZoneInfo(text.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InputError(f"{what} {text!r}: not an offset (+05:30, -7) or a time-zone name "
                         f"(Europe/Berlin)") from None
    offset = datetime.fromtimestamp(at_epoch_s, timezone.utc).astimezone(zone).utcoffset()
    return offset.total_seconds() if offset is not None else 0.0
