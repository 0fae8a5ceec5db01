"""What a client library would add to the InfluxDB 1.x HTTP API (:mod:`.client`): escaping for the line
protocol and InfluxQL, and exact time conversion between float seconds and integer nanoseconds.
Every function refuses a control character or non-finite value with one :class:`EdgekitError` line.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal

from edgekit.core.errors import EdgekitError


def _check_text(what: str, value: str) -> str:
    if not isinstance(value, str) or not value:
        raise EdgekitError(f"{what} must be a non-empty string")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise EdgekitError(f"{what} {value[:40]!r} holds a control character (newline, tab, ...)")
    return value


def lp_measurement(name: str) -> str:
    """A measurement name for line protocol: commas and spaces backslash-escaped."""
    _check_text("measurement", name)
    return name.replace(",", "\\,").replace(" ", "\\ ")


def lp_key(value: str) -> str:
    """A tag key, tag value or field key for line protocol: ``,``, ``=``, space escaped.

    A trailing backslash would escape the separator after it, so it is refused.
    """
    _check_text("tag or field", value)
    if value.endswith("\\"):
        raise EdgekitError(f"tag or field {value[:40]!r} ends with a backslash")
    return value.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def lp_string(value: str) -> str:
    """A string field value: double-quoted, ``"`` and ``\\`` escaped."""
    if "\n" in value or "\r" in value:
        raise EdgekitError(f"string field {value[:40]!r} holds a newline")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def lp_float(x: float) -> str:
    """A float field value at full precision (repr round-trips exactly); NaN/inf are refused."""
    x = float(x)
    if not math.isfinite(x):
        raise EdgekitError(f"field value {x} is not finite (line protocol cannot store it)")
    return repr(x)


def ql_ident(name: str) -> str:
    """An InfluxQL identifier: double-quoted, ``"`` and ``\\`` backslash-escaped."""
    _check_text("identifier", name)
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def ql_string(value: str) -> str:
    """An InfluxQL string literal: single-quoted, ``'`` and ``\\`` backslash-escaped."""
    _check_text("string", value)
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def ql_or_equal(key: str, values: Iterable[str]) -> str:
    """``("key" = 'a' OR "key" = 'b')`` for a tag filter."""
    parts = [f"{ql_ident(key)} = {ql_string(v)}" for v in values]
    return "(" + " OR ".join(parts) + ")" if parts else "false"


def seconds_to_ns(t: float) -> int:
    """Unix seconds (float) -> integer ns, from the shortest decimal that round-trips ``t``.

    ``ns_to_seconds(seconds_to_ns(t)) == t`` whenever ``repr(t)`` has at most 9 decimals (every
    epoch time of the 21st century: a float64 near 1.7e9 s resolves 2.4e-7 s); finer digits are
    rounded to the nanosecond (half to even).
    """
    if not math.isfinite(t):
        raise EdgekitError(f"timestamp {t} is not finite")
    return int((Decimal(repr(float(t))) * 1_000_000_000).to_integral_value())


def ns_to_seconds(ns: int) -> float:
    """Integer ns -> float seconds, correctly rounded (the inverse of :func:`seconds_to_ns`)."""
    sign = "-" if ns < 0 else ""
    q, r = divmod(abs(int(ns)), 1_000_000_000)
    return float(f"{sign}{q}.{r:09d}")
