"""What every workout reader shares: :class:`WorkoutSet`, the expat driver that refuses entity
declarations (:func:`_parse_xml`) and the XML handlers' base class, the float64 point columns
(:class:`_Points`), the :class:`~edgekit.data.workouts.Workout` constructor, time and file helpers.
"""

from __future__ import annotations

import math
import zipfile
from array import array
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO
from xml.parsers import expat

import numpy as np

from edgekit.data.workouts import Workout
from edgekit.core.errors import InputError

CHUNK = 1 << 20


@dataclass
class WorkoutSet:
    """Workouts read from one source, and what was read, kept and skipped (see each reader)."""

    workouts: list[Workout]
    counts: dict = field(default_factory=dict)


class _Refused(Exception):
    """An entity declaration in the XML: refused, never expanded."""


def _refuse(*_args):
    raise _Refused()


def _parse_xml(fh: IO[bytes], name: str, handler) -> None:
    """Feed ``fh`` to one expat parser in CHUNK blocks; ``handler.start/end`` (and ``text`` when it
    has one) see each element. Errors become one-line InputErrors naming ``name`` and the line."""
    p = expat.ParserCreate()
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    p.buffer_text = True
    p.EntityDeclHandler = _refuse
    p.ExternalEntityRefHandler = lambda *a: 0  # never fetch
    p.StartElementHandler = handler.start
    if not getattr(handler, "lazy_end", False):  # else the handler sets it when it needs it
        p.EndElementHandler = handler.end
    if hasattr(handler, "text"):
        p.CharacterDataHandler = handler.text
    handler.parser = p
    first = True
    try:
        while True:
            block = fh.read(CHUNK)
            if first:
                first = False
                head = block.removeprefix(b"\xef\xbb\xbf").lstrip()
                if not head:
                    raise InputError(f"{name}: empty file")
                if not head.startswith(b"<"):
                    raise InputError(f"{name}: line 1: not XML")
            if not block:
                p.Parse(b"", True)
                break
            p.Parse(block, False)
    except _Refused:
        raise InputError(f"{name}: line {p.CurrentLineNumber}: entity declaration refused "
                         f"(edgekit never expands XML entities)") from None
    except expat.ExpatError as exc:
        msg = str(exc)
        what = "truncated XML" if "no element found" in msg or "unclosed token" in msg else "malformed XML"
        raise InputError(f"{name}: line {exc.lineno}, column {exc.offset}: {what} "
                         f"({expat.ErrorString(exc.code)})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"{name}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    if handler.root is None:
        raise InputError(f"{name}: no XML element")


def _local(name: str) -> str:
    """The local part of an element name (expat without namespace processing keeps prefixes)."""
    return name.rpartition(":")[2]


def _iso_epoch(text: str) -> float:
    """ISO 8601 date-time -> UTC epoch seconds; no offset means UTC (GPX and TCX say UTC)."""
    dt = datetime.fromisoformat(text.strip())
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def _utc_iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Points:
    """Route and HR columns accumulated as float64 arrays (no per-point Python objects kept)."""

    ROUTE = ("t", "lat", "lon", "alt", "speed", "course", "hacc", "vacc", "dist")
    EXTRA = {"course": "course_deg", "hacc": "h_acc_m", "vacc": "v_acc_m", "dist": "distance_m"}

    def __init__(self):
        self.col = {k: array("d") for k in self.ROUTE}
        self.hr_t = array("d")
        self.hr = array("d")

    def add(self, t, lat=math.nan, lon=math.nan, alt=math.nan, speed=math.nan, course=math.nan,
            hacc=math.nan, vacc=math.nan, dist=math.nan):
        c = self.col
        c["t"].append(t)
        c["lat"].append(lat)
        c["lon"].append(lon)
        c["alt"].append(alt)
        c["speed"].append(speed)
        c["course"].append(course)
        c["hacc"].append(hacc)
        c["vacc"].append(vacc)
        c["dist"].append(dist)

    def __len__(self) -> int:
        return len(self.col["t"])

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.frombuffer(v, np.float64).copy() if len(v) else np.zeros(0) for k, v in self.col.items()}

    @staticmethod
    def concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        """Routes merged in time order (a stable sort: points of equal time keep their order)."""
        if not parts:
            return {k: np.zeros(0) for k in _Points.ROUTE}
        out = {k: np.concatenate([p[k] for p in parts]) for k in _Points.ROUTE}
        order = np.argsort(out["t"], kind="stable")
        return {k: v[order] for k, v in out.items()}


def _workout(*, workout_id: str, runner: str, sport: str, route: dict[str, np.ndarray], hr_t, hr,
             source: str, meta: dict, start_s: float | None = None, end_s: float | None = None) -> Workout:
    hr_t = np.asarray(hr_t, np.float64)
    hr = np.asarray(hr, np.float64)
    ts = [x for x in (route["t"][:1], route["t"][-1:], hr_t[:1], hr_t[-1:]) if len(x)]
    if start_s is None:
        start_s = float(min(x[0] for x in ts)) if ts else math.nan
    if end_s is None:
        end_s = float(max(x[-1] for x in ts)) if ts else math.nan
    extra = {name: route[k] for k, name in _Points.EXTRA.items() if np.isfinite(route[k]).any()}
    return Workout(workout_id=workout_id, runner=runner, sport=sport, start_s=float(start_s),
                   end_s=float(end_s), route_t_s=route["t"], lat_deg=route["lat"], lon_deg=route["lon"],
                   altitude_m=route["alt"], speed_mps=route["speed"], hr_t_s=hr_t, hr_bpm=hr,
                   source=source, meta=meta, route_extra=extra)


class _XmlHandler:
    """Common state of the handlers: the parser (for line numbers), the root, one-line errors."""

    def __init__(self, name: str):
        self.name = name
        self.parser = None
        self.root: str | None = None

    @property
    def line(self) -> int:
        return self.parser.CurrentLineNumber

    def err(self, msg: str, line: int | None = None) -> InputError:
        return InputError(f"{self.name}: line {self.line if line is None else line}: {msg}")

    def number(self, text: str | None, what: str, lo: float = -math.inf, hi: float = math.inf,
               line: int | None = None) -> float:
        if text is None:
            raise self.err(f"{what} missing", line)
        try:
            v = float(text)
        except ValueError:
            raise self.err(f"{what} {text.strip()[:40]!r} is not a number", line) from None
        if not math.isfinite(v):
            raise self.err(f"{what} {text.strip()[:40]!r} is not a finite number", line)
        if not lo <= v <= hi:
            raise self.err(f"{what} {text.strip()[:40]!r} is out of range [{lo:g}, {hi:g}]", line)
        return v

    def time(self, text: str | None, what: str, line: int | None = None) -> float:
        if text is None or not text.strip():
            raise self.err(f"{what} missing", line)
        try:
            return _iso_epoch(text)
        except (ValueError, OverflowError):
            raise self.err(f"{what} {text.strip()[:40]!r} is not an ISO 8601 date-time", line) from None


def _nonneg(v: float) -> float:
    """Core Location reports an invalid speed, course or accuracy as a negative number: NaN."""
    return v if v >= 0 else math.nan


def _open(path: Path) -> IO[bytes]:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
