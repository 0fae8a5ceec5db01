"""The wearer's clock: a UTC offset from the command line (``--utc-offset``), for inputs and
figures made of local clock hours or days (hourly slots, the personal baseline's days)."""

from __future__ import annotations


def utc_offset_seconds(text: str | None, at_epoch_s: float = 0.0) -> float:
    """Seconds east of UTC of ``±HH[:MM]``, ``UTC``/``Z`` or an IANA zone name (its offset at
    ``at_epoch_s``); :class:`InputError` naming the value otherwise."""
    import re
    from datetime import datetime, timezone

    from edgekit.errors import InputError

    if text is None or text.strip().upper() in ("", "UTC", "Z", "GMT"):
        return 0.0
    m = re.fullmatch(r"([+-])(\d{1,2})(?::?(\d{2}))?", text.strip())
    if m:
        hours, minutes = int(m.group(2)), int(m.group(3) or 0)
        if hours > 14 or minutes >= 60 or hours * 60 + minutes > 14 * 60:
            raise InputError(f"--utc-offset {text!r}: offsets run from -14:00 to +14:00")
        return (1 if m.group(1) == "+" else -1) * (hours * 3600.0 + minutes * 60.0)
    try:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        zone = ZoneInfo(text.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InputError(f"--utc-offset {text!r}: not an offset (+05:30, -7) or a time-zone name "
                         f"(Europe/Berlin)") from None
    offset = datetime.fromtimestamp(at_epoch_s, timezone.utc).astimezone(zone).utcoffset()
    return offset.total_seconds() if offset is not None else 0.0
