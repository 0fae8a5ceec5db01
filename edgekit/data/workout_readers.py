"""Workout readers: Apple Health export, GPX, TCX, FIT and FitRec JSON lines -> :class:`Workout`.

Every reader streams its input (fixed-size chunks or one line at a time) and raises
:class:`edgekit.errors.InputError` with one line naming the file and the place on bad input
(``<file>: line N: ...`` for XML and JSON lines, ``<file>: byte N: ...`` or the message number for
FIT). Times become UTC epoch seconds; absent values are NaN. The rules of each format are in
docs/data.md, section "Workouts".

Parsers. XML (the export, GPX, TCX) goes through the standard library's expat, the same way as
the HRV reader (:mod:`edgekit.data.apple_health`): entity declarations are refused, external
entities and DTDs never read. gpxpy 1.6.2 was checked and does read Apple's GPX extensions
(``<speed>``, ``<course>``, ``<hAcc>``, ``<vAcc>``, as ElementTree elements of each point) and
Garmin's TrackPointExtension ``hr``; it is not used because (1) an unreadable ``<time>`` silently
becomes ``None`` (a point without a time, no message); (2) its value errors name neither the line
nor the point (``Invalid value for <ele>... zz``), against this project's rule that bad input names
the file and the place; (3) it builds an ElementTree plus an object per point: 83 ms for a
one-hour, 3600-point Apple route, where the fast path here (expat without callbacks checks the
bytes, one regular expression picks Apple's trkpt form) takes about 16 ms — an export's hundreds
of routes are most of its reading time; (4) ElementTree expands internal entities. GPX files not
in Apple's exact form go through an expat handler that owns every message (``file: line N``);
both paths give the same arrays (tested), and the tests also read their GPX files with gpxpy and
check that it agrees. FIT goes through ``fitdecode`` (CRC checked, strict parsing).
"""

from __future__ import annotations

import ast
import json
import math
import posixpath
import re
import zipfile
from array import array
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Iterable, Iterator
from xml.parsers import expat

import numpy as np

from edgekit.data.apple_health import parse_apple_date
from edgekit.data.workouts import Workout
from edgekit.errors import InputError

CHUNK = 1 << 20
APPLE_RUNNING = "HKWorkoutActivityTypeRunning"
APPLE_HR = "HKQuantityTypeIdentifierHeartRate"  # exactly: not ...Variability, Resting, WalkingAverage, Recovery
APPLE_ACTIVITY_PREFIX = "HKWorkoutActivityType"
MAX_LINE_BYTES = 64 << 20  # a FitRec line longer than this is refused (bounded memory)
SEMICIRCLE_DEG = 180.0 / 2.0**31  # FIT position unit
KMH = 1.0 / 3.6  # FitRec speed km/h -> m/s


@dataclass
class WorkoutSet:
    """Workouts read from one source, and what was read, kept and skipped (see each reader)."""

    workouts: list[Workout]
    counts: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------------------------


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


_APPLE_DATE_RE = re.compile(r"(\d{4}-\d\d-\d\d) (\d\d):(\d\d):(\d\d) ([+-]\d{4})")
_day_epochs: dict[tuple[str, str], float] = {}


def _apple_epoch(text: str) -> float:
    """An export date ``2025-03-01 07:12:03 +0100`` (local time and its UTC offset) -> UTC epoch
    seconds; ValueError when unreadable. Same result as :func:`parse_apple_date`, faster for the
    millions of dates of an export (the local midnight of each day and offset is computed once)."""
    m = _APPLE_DATE_RE.fullmatch(text)
    if m is None:
        return parse_apple_date(text)[0]  # other spacing: the general parser (or its ValueError)
    day, hh, mm, ss, off = m.groups()
    h, mi, s = int(hh), int(mm), int(ss)
    if h > 23 or mi > 59 or s > 59:
        raise ValueError(text)
    key = (day, off)
    base = _day_epochs.get(key)
    if base is None:
        base = parse_apple_date(f"{day} 00:00:00 {off}")[0]
        if len(_day_epochs) > 100_000:
            _day_epochs.clear()
        _day_epochs[key] = base
    return base + float(h * 3600 + mi * 60 + s)


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


# ---------------------------------------------------------------------------------------------
# GPX
# ---------------------------------------------------------------------------------------------


class _Gpx(_XmlHandler):
    """trk/trkseg/trkpt: ``lat``/``lon`` attributes; children ``ele`` (m), ``time`` (ISO 8601,
    UTC); in ``extensions`` (any namespace prefix): ``speed`` (m/s, also GPX 1.0's direct child),
    ``course`` (deg), ``hAcc``/``vAcc`` (m) as Apple writes them, ``hr``/``heartrate`` (bpm, Garmin
    TrackPointExtension, ClueTrust). ``trk/type`` names the sport."""

    LEAVES = {"ele": "alt", "time": "t", "speed": "speed", "course": "course", "hAcc": "hacc",
              "vAcc": "vacc", "hr": "hr", "heartrate": "hr"}

    def __init__(self, name: str):
        super().__init__(name)
        self.pts = _Points()
        self.pt: dict | None = None
        self.leaf: str | None = None
        self.buf: list[str] = []
        self.in_trk = 0
        self.sport: str | None = None
        self.last_t = -math.inf
        self.n_trkpt = 0

    def start(self, name, attrs):
        local = _local(name)
        if self.root is None:
            self.root = local
            if local != "gpx":
                raise self.err(f"root element <{name}>, not <gpx>: not a GPX file")
            return
        if local == "trkpt":
            if self.pt is not None:
                raise self.err("<trkpt> inside <trkpt>")
            self.pt = {"line": self.line,
                       "lat": self.number(attrs.get("lat"), "<trkpt> lat", -90.0, 90.0),
                       "lon": self.number(attrs.get("lon"), "<trkpt> lon", -180.0, 180.0)}
        elif local == "trk":
            self.in_trk += 1
        elif self.pt is not None and local in self.LEAVES:
            self.leaf = local
            self.buf = []
        elif self.in_trk and self.pt is None and local == "type":
            self.leaf = local
            self.buf = []

    def text(self, data):
        if self.leaf is not None:
            self.buf.append(data)

    def end(self, name):
        local = _local(name)
        if self.leaf is not None and local == self.leaf:
            self.leaf = None
            text = "".join(self.buf).strip()
            if self.pt is None:
                self.sport = text.lower()
                return
            key = self.LEAVES[local]
            if key == "t":
                self.pt["t"] = self.time(text, "<time>")
            elif key == "hr":
                self.pt["hr"] = self.number(text, f"<{name}>", 0.0, 400.0)
            elif key == "alt":
                self.pt["alt"] = self.number(text, "<ele>")
            else:
                self.pt[key] = _nonneg(self.number(text, f"<{name}>"))
        elif local == "trkpt" and self.pt is not None:
            pt, self.pt = self.pt, None
            line = pt.pop("line")
            if "t" not in pt:
                raise self.err("<trkpt> without <time>", line)
            if pt["t"] < self.last_t:
                raise self.err(f"<trkpt> time {_utc_iso(pt['t'])} goes backwards", line)
            self.last_t = pt["t"]
            hr = pt.pop("hr", None)
            if hr is not None:
                self.pts.hr_t.append(pt["t"])
                self.pts.hr.append(hr)
            self.pts.add(**pt)
            self.n_trkpt += 1
        elif local == "trk":
            self.in_trk -= 1


# Apple's route form, one trkpt per line: the fast path reads these with one regular expression
_APPLE_TRKPT = re.compile(
    rb'<trkpt (lat|lon)="([^"<&]*)" (lat|lon)="([^"<&]*)">\s*<ele>([^<&]*)</ele>\s*<time>([^<&]*)</time>\s*'
    rb"<extensions>\s*<speed>([^<&]*)</speed>\s*<course>([^<&]*)</course>\s*<hAcc>([^<&]*)</hAcc>\s*"
    rb"<vAcc>([^<&]*)</vAcc>\s*</extensions>\s*</trkpt>")
FAST_GPX_MAX_BYTES = 256 << 20  # larger files are streamed by the strict path


class _Fallback(Exception):
    """The fast GPX path is not sure: the strict path reads the file (and owns every message)."""


def _gpx_fast(data: bytes) -> _Points:
    """The points of a GPX document written exactly in Apple's form, or _Fallback.

    expat (without per-element callbacks) checks that the whole document is well-formed, refusing
    entity declarations; every ``trkpt`` must match Apple's form (``ele``, ``time`` and the four
    extensions, no HR, no ``type``); values are converted with the strict path's functions and
    rules, so both give the same arrays. Anything else, and any value the strict path would
    refuse, hands the file to the strict path.
    """
    p = expat.ParserCreate()
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    p.EntityDeclHandler = _refuse
    p.ExternalEntityRefHandler = lambda *a: 0
    root: list[str] = []

    def first(name, _attrs):
        root.append(name)
        p.StartElementHandler = None

    p.StartElementHandler = first
    try:
        p.Parse(data, True)
    except (expat.ExpatError, _Refused):
        raise _Fallback from None
    if root != ["gpx"] or b"type>" in data:
        raise _Fallback
    matches = _APPLE_TRKPT.findall(data)
    if data.count(b"trkpt") != 2 * len(matches) or not matches:
        raise _Fallback
    try:
        cols = list(zip(*matches))
        k1, k2 = set(cols[0]), set(cols[2])
        if len(k1) != 1 or len(k2) != 1 or k1 == k2:
            raise _Fallback
        v1, v2 = (np.array([float(x) for x in cols[i]]) for i in (1, 3))
        lat, lon = (v1, v2) if k1 == {b"lat"} else (v2, v1)
        t = np.array([_iso_epoch(x.decode("ascii")) for x in cols[5]])
        ele, spd, crs, hacc, vacc = (np.array([float(x) for x in cols[i]]) for i in (4, 6, 7, 8, 9))
    except (ValueError, OverflowError, UnicodeDecodeError):
        raise _Fallback from None
    if not (np.all((lat >= -90.0) & (lat <= 90.0) & (lon >= -180.0) & (lon <= 180.0))
            and np.all(np.diff(t) >= 0) and all(np.isfinite(v).all() for v in (ele, spd, crs, hacc, vacc))):
        raise _Fallback
    pts = _Points()
    for key, v in (("t", t), ("lat", lat), ("lon", lon), ("alt", ele), ("speed", spd), ("course", crs),
                   ("hacc", hacc), ("vacc", vacc)):
        if key in ("speed", "course", "hacc", "vacc"):
            v = np.where(v >= 0, v, np.nan)  # as _nonneg
        pts.col[key] = array("d", v.tobytes())
    pts.col["dist"] = array("d", np.full(len(t), np.nan).tobytes())
    return pts


def _gpx_points(fh: IO[bytes], name: str, *, strict: bool = False) -> _Gpx:
    """The points of one GPX stream: Apple's form through :func:`_gpx_fast` (one regular
    expression, about 10x faster), anything else (or ``strict``) through the expat handler."""
    if not strict:
        try:
            data = fh.read(FAST_GPX_MAX_BYTES + 1)
        except (OSError, zipfile.BadZipFile, EOFError) as exc:
            raise InputError(f"{name}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
        if len(data) <= FAST_GPX_MAX_BYTES:
            try:
                h = _Gpx(name)
                h.pts = _gpx_fast(data)
                h.root = "gpx"
                h.path = "fast"
                return h
            except _Fallback:
                pass
        fh = _Chain(data, fh)
    h = _Gpx(name)
    _parse_xml(fh, name, h)
    h.path = "strict"
    return h


class _Chain:
    """Bytes already read, then the rest of the stream."""

    def __init__(self, head: bytes, rest: IO[bytes]):
        self.head = head
        self.rest = rest

    def read(self, n: int) -> bytes:
        if self.head:
            out, self.head = self.head[:n], self.head[n:]
            return out
        return self.rest.read(n)


def _open(path: Path) -> IO[bytes]:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None


def read_gpx(path: str | Path, *, runner: str = "", sport: str | None = None) -> Workout:
    """One workout from a GPX 1.0/1.1 file (all its tracks and segments, in file order).

    Per ``trkpt``: ``lat``/``lon`` (degrees), ``ele`` (m), ``time`` (ISO 8601; no offset = UTC, as
    the GPX spec says), and from ``extensions``: Apple's ``speed`` (m/s), ``course`` (deg),
    ``hAcc``/``vAcc`` (m) — negative values are Core Location's "invalid" and become NaN — and
    heart rate from Garmin's TrackPointExtension ``hr`` (or ``heartrate``), bpm. ``sport`` is the
    argument, else ``trk/type`` lower-cased, else ``"unknown"``. Refused with one line naming the
    line: malformed XML, a point without time, a time going backwards, a non-numeric or
    out-of-range value, no track points.
    """
    path = Path(path)
    with _open(path) as fh:
        h = _gpx_points(fh, str(path))
    if len(h.pts) == 0:
        raise InputError(f"{path}: no <trkpt> track points")
    return _workout(workout_id=f"{path.name}#0", runner=runner, sport=sport or h.sport or "unknown",
                    route=h.pts.arrays(), hr_t=h.pts.hr_t, hr=h.pts.hr, source=str(path),
                    meta={"format": "gpx"})


# ---------------------------------------------------------------------------------------------
# TCX
# ---------------------------------------------------------------------------------------------


class _Tcx(_XmlHandler):
    """TrainingCenterDatabase/Activities/Activity(Sport)/Lap/Track/Trackpoint."""

    LEAVES = {"Time", "LatitudeDegrees", "LongitudeDegrees", "AltitudeMeters", "DistanceMeters",
              "Value", "Speed"}

    def __init__(self, name: str):
        super().__init__(name)
        self.activities: list[dict] = []
        self.act: dict | None = None
        self.pt: dict | None = None
        self.stack: list[str] = []
        self.leaf: str | None = None
        self.buf: list[str] = []

    def start(self, name, attrs):
        local = _local(name)
        if self.root is None:
            self.root = local
            if local != "TrainingCenterDatabase":
                raise self.err(f"root element <{name}>, not <TrainingCenterDatabase>: not a TCX file")
        elif local == "Activity":
            self.act = {"sport": (attrs.get("Sport") or "unknown").lower(), "line": self.line,
                        "pts": _Points(), "id": None, "last_t": -math.inf}
        elif local == "Trackpoint" and self.act is not None:
            self.pt = {"line": self.line}
        elif self.act is not None and (local in self.LEAVES and self.pt is not None
                                       or local == "Id" and self.pt is None):
            self.leaf = local
            self.buf = []
        self.stack.append(local)

    def text(self, data):
        if self.leaf is not None:
            self.buf.append(data)

    def end(self, name):
        local = self.stack.pop()
        if self.leaf is not None and local == self.leaf:
            self.leaf = None
            text = "".join(self.buf).strip()
            pt = self.pt
            parent = self.stack[-1] if self.stack else ""
            if local == "Id":
                self.act["id"] = text
            elif local == "Time":
                pt["t"] = self.time(text, "<Time>")
            elif local == "LatitudeDegrees":
                pt["lat"] = self.number(text, "<LatitudeDegrees>", -90.0, 90.0)
            elif local == "LongitudeDegrees":
                pt["lon"] = self.number(text, "<LongitudeDegrees>", -180.0, 180.0)
            elif local == "AltitudeMeters":
                pt["alt"] = self.number(text, "<AltitudeMeters>")
            elif local == "DistanceMeters":
                pt["dist"] = self.number(text, "<DistanceMeters>", 0.0)
            elif local == "Value" and parent == "HeartRateBpm":
                pt["hr"] = self.number(text, "<HeartRateBpm><Value>", 0.0, 400.0)
            elif local == "Speed" and parent == "TPX":
                pt["speed"] = self.number(text, "<TPX><Speed>", 0.0)
        elif local == "Trackpoint" and self.pt is not None:
            pt, self.pt = self.pt, None
            line = pt.pop("line")
            act = self.act
            if "t" not in pt:
                raise self.err("<Trackpoint> without <Time>", line)
            if ("lat" in pt) != ("lon" in pt):
                raise self.err("<Position> needs both <LatitudeDegrees> and <LongitudeDegrees>", line)
            if pt["t"] < act["last_t"]:
                raise self.err(f"<Trackpoint> time {_utc_iso(pt['t'])} goes backwards", line)
            act["last_t"] = pt["t"]
            hr = pt.pop("hr", None)
            if hr is not None:
                act["pts"].hr_t.append(pt["t"])
                act["pts"].hr.append(hr)
            if len(pt) > 1:  # a position, altitude, speed or distance besides the time
                act["pts"].add(**pt)
        elif local == "Activity" and self.act is not None:
            self.activities.append(self.act)
            self.act = None


def read_tcx(path: str | Path, *, runner: str = "") -> list[Workout]:
    """The workouts of a Garmin TCX file (TrainingCenterDatabase v2), one per ``Activity``.

    ``Activity/@Sport`` lower-cased is the sport (``running``, ``biking``, ``other``). Per
    ``Trackpoint``: ``Time`` (ISO 8601, UTC), ``Position/LatitudeDegrees``/``LongitudeDegrees``,
    ``AltitudeMeters`` (m), ``DistanceMeters`` (m, cumulative; kept as ``route_extra['distance_m']``),
    ``HeartRateBpm/Value`` (bpm), ``Extensions/TPX/Speed`` (m/s, ActivityExtension v2, any prefix).
    A trackpoint with only a time and HR adds to the HR series only; one without a position has
    NaN latitude/longitude. Refused with one line naming the line: malformed XML, a trackpoint
    without time, half a position, a time going backwards, a bad number, no activity.
    """
    path = Path(path)
    h = _Tcx(str(path))
    with _open(path) as fh:
        _parse_xml(fh, str(path), h)
    if not h.activities:
        raise InputError(f"{path}: no <Activity> in the file")
    out = []
    for i, act in enumerate(h.activities):
        pts = act["pts"]
        if len(pts) == 0 and len(pts.hr) == 0:
            raise InputError(f"{path}: line {act['line']}: <Activity> without trackpoints")
        out.append(_workout(workout_id=f"{path.name}#{i}", runner=runner, sport=act["sport"],
                            route=pts.arrays(), hr_t=pts.hr_t, hr=pts.hr,
                            source=f"{path}: line {act['line']}",
                            meta={"format": "tcx", "activity_id": act["id"]}))
    return out


# ---------------------------------------------------------------------------------------------
# FIT
# ---------------------------------------------------------------------------------------------


def read_fit(path: str | Path, *, runner: str = "") -> Workout:
    """One workout from a FIT activity file, decoded by ``fitdecode`` (CRC checked, strict).

    ``record`` messages: ``timestamp`` (FIT date_time: seconds since 1989-12-31 UTC),
    ``position_lat``/``position_long`` (semicircles, x 180/2^31 -> degrees), ``enhanced_altitude``
    else ``altitude`` (m), ``enhanced_speed`` else ``speed`` (m/s), ``heart_rate`` (bpm),
    ``distance`` (m, cumulative). The sport is the first ``session`` (else ``sport``) message's
    ``sport``, else ``"unknown"``. Refused with one line: not a FIT file, a bad header or CRC, a
    truncated file or a message fitdecode cannot parse (with its byte offset), a record without a
    timestamp or whose timestamp goes backwards (with the record's number, 1-based).
    """
    import fitdecode

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found" if not path.exists() else f"{path}: not a regular file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file")
    pts = _Points()
    sport = None
    n_rec = 0
    last_t = -math.inf
    problem = None  # the first bad record: reported after the whole file passed fitdecode's checks,
    # so a damaged file is called damaged (CRC, truncation), not by what the damage looks like

    def val(msg, *names):
        for n in names:
            if msg.has_field(n):
                v = msg.get_value(n)
                if v is not None:
                    return v
        return None

    try:
        with fitdecode.FitReader(str(path), check_crc=fitdecode.CrcCheck.RAISE,
                                 error_handling=fitdecode.ErrorHandling.RAISE) as fit:
            for frame in fit:
                if frame.frame_type != fitdecode.FIT_FRAME_DATA:
                    continue
                if frame.name in ("session", "sport") and sport is None:
                    s = val(frame, "sport")
                    if s is not None:
                        sport = str(s).lower()
                if frame.name != "record":
                    continue
                n_rec += 1
                if problem is not None:
                    continue
                ts = val(frame, "timestamp")
                if not isinstance(ts, datetime):
                    problem = f"record message {n_rec}: no absolute timestamp"
                    continue
                t = ts.timestamp()
                if t < last_t:
                    problem = f"record message {n_rec}: timestamp {_utc_iso(t)} goes backwards"
                    continue
                last_t = t
                lat, lon = val(frame, "position_lat"), val(frame, "position_long")
                alt = val(frame, "enhanced_altitude", "altitude")
                spd = val(frame, "enhanced_speed", "speed")
                dist = val(frame, "distance")
                hr = val(frame, "heart_rate")
                if hr is not None:
                    pts.hr_t.append(t)
                    pts.hr.append(float(hr))
                if lat is not None and lon is not None:
                    la, lo = float(lat) * SEMICIRCLE_DEG, float(lon) * SEMICIRCLE_DEG
                    if not (-90.0 <= la <= 90.0 and -180.0 <= lo <= 180.0):
                        problem = f"record message {n_rec}: position {la:.6f}, {lo:.6f} out of range"
                        continue
                else:
                    la = lo = math.nan
                if lat is not None or alt is not None or spd is not None or dist is not None:
                    pts.add(t, la, lo, math.nan if alt is None else float(alt),
                            math.nan if spd is None else float(spd),
                            dist=math.nan if dist is None else float(dist))
    except fitdecode.FitHeaderError as exc:
        raise InputError(f"{path}: not a FIT file or bad FIT header ({_first_line(exc)})") from None
    except fitdecode.FitCRCError as exc:
        raise InputError(f"{path}: FIT CRC mismatch, the file is damaged ({_first_line(exc)})") from None
    except fitdecode.FitEOFError as exc:
        raise InputError(f"{path}: byte {exc.offset}: truncated FIT file (expected {exc.expected} "
                         f"bytes, got {exc.got})") from None
    except fitdecode.FitParseError as exc:
        raise InputError(f"{path}: byte {exc.offset}: malformed FIT message ({_first_line(exc)})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    except Exception as exc:  # noqa: BLE001 - fitdecode on hostile bytes: struct, key, value errors
        raise InputError(f"{path}: unreadable FIT file ({type(exc).__name__}: {_first_line(exc)})") from None
    if problem is not None:
        raise InputError(f"{path}: {problem}")
    if n_rec == 0:
        raise InputError(f"{path}: no record messages (not an activity file?)")
    return _workout(workout_id=f"{path.name}#0", runner=runner, sport=sport or "unknown",
                    route=pts.arrays(), hr_t=pts.hr_t, hr=pts.hr, source=str(path), meta={"format": "fit"})


def _first_line(exc: BaseException) -> str:
    s = str(exc).strip()
    return (s.splitlines()[0] if s else type(exc).__name__)[:160]


def read_workout_file(path: str | Path, *, runner: str = "") -> list[Workout]:
    """The workouts of one GPX, TCX or FIT file, by its extension (case-insensitive)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".gpx":
        return [read_gpx(path, runner=runner)]
    if suffix == ".tcx":
        return read_tcx(path, runner=runner)
    if suffix == ".fit":
        return [read_fit(path, runner=runner)]
    raise InputError(f"{path}: unknown workout file type {suffix or '(none)'!r}; expected .gpx, .tcx or .fit")


# ---------------------------------------------------------------------------------------------
# Apple Health export
# ---------------------------------------------------------------------------------------------


class _Export(_XmlHandler):
    """One pass over export.xml: every HR record (time, bpm) and every Workout element (its type,
    and for running workouts the routes: file references and inline locations).

    The end-element handler is set only inside a Workout (``lazy_end``): the millions of records
    outside cost one Python call each, not two."""

    lazy_end = True

    def __init__(self, name: str):
        super().__init__(name)
        self.hr_t = array("d")
        self.hr = array("d")
        self.workouts: list[dict] = []
        self.cur: dict | None = None
        self.route: dict | None = None
        self.n_locations = 0

    def start(self, name, attrs):
        if name == "Record":
            if attrs.get("type") == APPLE_HR:
                self.hr_record(attrs)
            return
        cur = self.cur
        if cur is not None:
            if not cur["keep"]:
                return
            if name == "Location":
                if self.route is None:
                    raise self.err("<Location> outside a <WorkoutRoute>")
                self.location(attrs)
            elif name == "FileReference":
                if self.route is None:
                    raise self.err("<FileReference> outside a <WorkoutRoute>")
                p = attrs.get("path")
                if not p:
                    raise self.err("<FileReference> without path")
                self.route["files"].append((p, self.line))
            elif name == "WorkoutRoute":
                self.route = {"line": self.line, "pts": _Points(), "files": [],
                              "source": attrs.get("sourceName", "")}
            elif name == "WorkoutStatistics":
                st = dict(attrs)
                cur["meta"].setdefault("statistics", {})[st.pop("type", "?")] = st
            elif name == "MetadataEntry" and self.route is None and "key" in attrs:
                cur["meta"].setdefault("metadata", {})[attrs["key"]] = attrs.get("value")
            return
        if name == "Workout":
            self.workout(attrs)
        elif self.root is None:
            self.root = name
            if name != "HealthData":
                raise self.err(f"root element <{name}>, not <HealthData>: not an Apple Health export")

    def end(self, name):
        if name == "WorkoutRoute" and self.route is not None:
            self.cur["routes"].append(self.route)
            self.route = None
        elif name == "Workout" and self.cur is not None:
            self.workouts.append(self.cur)
            self.cur = None
            self.parser.EndElementHandler = None

    def date(self, attrs, key: str, elem: str) -> float:
        s = attrs.get(key)
        if s is None:
            raise self.err(f"<{elem}> without {key}")
        try:
            return _apple_epoch(s)
        except ValueError:
            raise self.err(f"<{elem}> {key} {s[:40]!r} is not 'YYYY-MM-DD HH:MM:SS +ZZZZ'") from None

    def hr_record(self, attrs):
        t0 = self.date(attrs, "startDate", "Record")
        t1 = self.date(attrs, "endDate", "Record")
        if t1 < t0:
            raise self.err("heart-rate <Record> ends before it starts")
        unit = attrs.get("unit", "count/min")
        if unit not in ("count/min", "count/s"):
            raise self.err(f"heart-rate <Record> unit {unit[:20]!r}; expected count/min")
        v = self.number(attrs.get("value"), "heart-rate <Record> value", 0.0)
        bpm = v * 60.0 if unit == "count/s" else v
        if bpm > 400.0:
            raise self.err(f"heart-rate <Record> value {attrs.get('value')!r} {unit} is absurd")
        self.hr_t.append(0.5 * (t0 + t1))
        self.hr.append(bpm)

    def workout(self, attrs):
        typ = attrs.get("workoutActivityType")
        if not typ:
            raise self.err("<Workout> without workoutActivityType")
        start = self.date(attrs, "startDate", "Workout")
        end = self.date(attrs, "endDate", "Workout")
        if end < start:
            raise self.err("<Workout> ends before it starts")
        meta = {"activity_type": typ, "source_name": attrs.get("sourceName", ""), "line": self.line}
        for k in ("duration", "durationUnit", "totalDistance", "totalDistanceUnit"):
            if k in attrs:
                meta[k] = attrs[k]
        self.cur = {"type": typ, "start": start, "end": end, "line": self.line, "routes": [],
                    "meta": meta, "keep": typ == APPLE_RUNNING}
        self.parser.EndElementHandler = self.end

    def location(self, attrs):
        """A pre-iOS 13 inline route point: latitude, longitude, altitude (m), date (local time with
        offset), speed (m/s), course (deg), horizontalAccuracy, verticalAccuracy (m)."""
        t = self.date(attrs, "date", "Location")
        g = attrs.get
        opt = {}
        for key, col in (("speed", "speed"), ("course", "course"), ("horizontalAccuracy", "hacc"),
                         ("verticalAccuracy", "vacc")):
            if key in attrs:
                opt[col] = _nonneg(self.number(g(key), f"<Location> {key}"))
        self.route["pts"].add(t, self.number(g("latitude"), "<Location> latitude", -90.0, 90.0),
                              self.number(g("longitude"), "<Location> longitude", -180.0, 180.0),
                              self.number(g("altitude"), "<Location> altitude") if "altitude" in attrs else math.nan,
                              **opt)
        self.n_locations += 1


class _ExportSource:
    """A folder (or its export.xml) or an export.zip: opens export.xml and the route files."""

    def __init__(self, path: Path):
        self.path = path
        self.zip: zipfile.ZipFile | None = None
        if path.is_dir():
            for cand in (path / "export.xml", path / "apple_health_export" / "export.xml"):
                if cand.is_file():
                    self.xml_path = cand
                    break
            else:
                raise InputError(f"{path}: no export.xml in the folder (nor in apple_health_export/)")
            self.base = self.xml_path.parent
            self.name = str(self.xml_path)
        elif path.is_file():
            with _open(path) as fh:
                magic = fh.read(4)
            if magic == b"PK\x03\x04" or path.suffix.lower() == ".zip":
                try:
                    self.zip = zipfile.ZipFile(path)
                except (zipfile.BadZipFile, OSError) as exc:
                    raise InputError(f"{path}: not a readable zip archive ({exc})") from None
                xmls = sorted((n for n in self.zip.namelist() if posixpath.basename(n) == "export.xml"),
                              key=lambda n: (n.count("/"), n))
                if not xmls:
                    self.zip.close()
                    raise InputError(f"{path}: no export.xml in the zip archive")
                self.member = xmls[0]
                self.zbase = posixpath.dirname(self.member)
                self.names = set(self.zip.namelist())
                self.name = f"{path}!{self.member}"
            else:
                self.xml_path = path
                self.base = path.parent
                self.name = str(path)
        else:
            raise InputError(f"{path}: file not found")

    def open_xml(self) -> IO[bytes]:
        return self.zip.open(self.member) if self.zip else _open(self.xml_path)

    def route_name(self, ref: str) -> str | None:
        """Where a FileReference path (``/workout-routes/route_….gpx``, relative to the export
        folder) points; None for a path leaving the export (``..``, absolute elsewhere)."""
        rel = ref.lstrip("/")
        parts = rel.split("/")
        if not rel or any(p in ("", ".", "..") for p in parts) or "\\" in rel:
            return None
        if self.zip:
            return posixpath.join(self.zbase, rel) if self.zbase else rel
        return str(self.base.joinpath(*parts))

    def display(self, name: str) -> str:
        return f"{self.path}!{name}" if self.zip else name

    def exists(self, name: str) -> bool:
        return name in self.names if self.zip else Path(name).is_file()

    def open_route(self, name: str) -> IO[bytes]:
        return self.zip.open(name) if self.zip else _open(Path(name))

    def close(self):
        if self.zip:
            self.zip.close()


def read_apple_health(path: str | Path, *, runner: str = "", skip_malformed: bool = False) -> WorkoutSet:
    """The running workouts of an Apple Health export: a folder holding ``export.xml`` and
    ``workout-routes/*.gpx`` (or that folder's ``export.xml``), or the ``export.zip``.

    One streaming pass over export.xml (expat, 1 MiB chunks) collects every
    ``Record type="HKQuantityTypeIdentifierHeartRate"`` (``value`` in count/min, at the midpoint of
    ``startDate``/``endDate``; no other record type — not HeartRateVariabilitySDNN,
    RestingHeartRate, WalkingHeartRateAverage, HeartRateRecoveryOneMinute) and every ``Workout``.
    Export dates are local time with their UTC offset (``2025-03-01 07:12:03 +0100``) and become UTC
    epoch seconds; GPX times are UTC. A running workout (``HKWorkoutActivityTypeRunning``) gets
    the points of all its ``WorkoutRoute`` children merged in time order: GPX files named by
    ``FileReference path="/workout-routes/…"`` (read as in :func:`read_gpx`) and, in exports from
    before iOS 13, inline ``Location`` elements. Its HR samples are the HR records whose time lies
    in [startDate, endDate]. ``WorkoutStatistics`` (iOS 16+) and workout ``MetadataEntry``s are
    kept in ``meta``. The workout id is its UTC start (``2025-03-01T06:12:03Z``).

    ``counts``: ``workouts`` (Workout elements), ``running``, ``kept``, ``skipped_type`` (with
    ``skipped_by_type``: activity type -> n), ``skipped_no_route``, ``skipped_no_hr``,
    ``skipped_bad_route`` (only with ``skip_malformed``), ``hr_records`` (HR records in the export),
    and for the kept workouts ``routes``, ``route_files``, ``inline_locations``, ``route_points``,
    ``hr_samples``. Refused with one line (file and line): malformed or hostile XML, a bad date or
    value, a route file that is missing, outside the export, or malformed — unless
    ``skip_malformed``, which skips (and counts) a running workout whose route cannot be read.

    Memory: export.xml is read in 1 MiB chunks; what is kept is 16 bytes per HR record (the
    workouts come after the records in an export, so all HR records are kept until the end of the
    pass), the running workouts' inline locations, and one route file at a time while assembling.
    """
    src = _ExportSource(Path(path))
    try:
        h = _Export(src.name)
        with src.open_xml() as fh:
            _parse_xml(fh, src.name, h)
        return _assemble_export(h, src, runner, skip_malformed)
    finally:
        src.close()


def _assemble_export(h: _Export, src: _ExportSource, runner: str, skip_malformed: bool) -> WorkoutSet:
    hr_t = np.frombuffer(h.hr_t, np.float64) if len(h.hr_t) else np.zeros(0)
    hr = np.frombuffer(h.hr, np.float64) if len(h.hr) else np.zeros(0)
    order = np.argsort(hr_t, kind="stable")
    hr_t, hr = hr_t[order], hr[order]
    by_type: dict[str, int] = {}
    c = {"workouts": len(h.workouts), "running": 0, "kept": 0, "skipped_type": 0, "skipped_by_type": by_type,
         "skipped_no_route": 0, "skipped_no_hr": 0, "skipped_bad_route": 0, "hr_records": len(hr_t),
         "routes": 0, "route_files": 0, "inline_locations": 0, "route_points": 0, "hr_samples": 0}
    out: list[Workout] = []
    ids: dict[str, int] = {}
    for w in h.workouts:
        if not w["keep"]:
            c["skipped_type"] += 1
            by_type[w["type"]] = by_type.get(w["type"], 0) + 1
            continue
        c["running"] += 1
        try:
            parts, n_files, n_inline = _export_routes(w, src)
        except InputError:
            if not skip_malformed:
                raise
            c["skipped_bad_route"] += 1
            continue
        route = _Points.concat(parts)
        if len(route["t"]) == 0:
            c["skipped_no_route"] += 1
            continue
        i0 = int(np.searchsorted(hr_t, w["start"], "left"))
        i1 = int(np.searchsorted(hr_t, w["end"], "right"))
        if i1 <= i0:
            c["skipped_no_hr"] += 1
            continue
        wid = _utc_iso(w["start"])
        k = ids.get(wid, 0) + 1
        ids[wid] = k
        meta = dict(w["meta"], routes=len(w["routes"]))
        out.append(_workout(workout_id=wid if k == 1 else f"{wid}#{k}", runner=runner,
                            sport=w["type"].removeprefix(APPLE_ACTIVITY_PREFIX).lower(), route=route,
                            hr_t=hr_t[i0:i1].copy(), hr=hr[i0:i1].copy(),
                            source=f"{src.name}: line {w['line']}", meta=meta,
                            start_s=w["start"], end_s=w["end"]))
        c["kept"] += 1
        c["routes"] += len(w["routes"])
        c["route_files"] += n_files
        c["inline_locations"] += n_inline
        c["route_points"] += len(route["t"])
        c["hr_samples"] += i1 - i0
    return WorkoutSet(out, c)


def _export_routes(w: dict, src: _ExportSource) -> tuple[list[dict], int, int]:
    parts = []
    n_files = n_inline = 0
    for r in w["routes"]:
        if len(r["pts"]):
            parts.append(r["pts"].arrays())
            n_inline += len(r["pts"])
        for ref, line in r["files"]:
            name = src.route_name(ref)
            if name is None:
                raise InputError(f"{src.name}: line {line}: route path {ref[:80]!r} leaves the export")
            if not src.exists(name):
                raise InputError(f"{src.name}: line {line}: route file {ref[:80]!r} is not in the export")
            with src.open_route(name) as fh:
                g = _gpx_points(fh, src.display(name))
            parts.append(g.pts.arrays())
            n_files += 1
    return parts, n_files, n_inline


# ---------------------------------------------------------------------------------------------
# FitRec / Endomondo JSON lines
# ---------------------------------------------------------------------------------------------

FITREC_SERIES = ("timestamp", "heart_rate", "altitude", "latitude", "longitude", "speed")


class _Malformed(Exception):
    pass


_NUM = r"[-+]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
_NUM_LIST = re.compile(r"\[([-+0-9.eE, \t]*)\]")  # a flat list of numbers (a candidate)
_NUM_LIST_OK = re.compile(rf"[ \t]*(?:{_NUM}[ \t]*(?:,[ \t]*{_NUM}[ \t]*)*(?:,[ \t]*)?)?")


def _number_list(inner: str) -> np.ndarray | None:
    """The values of ``[inner]`` when it is a flat list of plain decimal numbers (a subset of
    Python's literals on which ``float`` and ``int`` give literal_eval's values), else None."""
    if not _NUM_LIST_OK.fullmatch(inner):
        return None
    toks = [x for x in inner.split(",") if x.strip()]
    return np.array([float(x) if ("." in x or "e" in x or "E" in x) else float(int(x)) for x in toks],
                    np.float64)


def _literal(text: str, fast: bool = True):
    """``ast.literal_eval(text)`` — never ``eval``. Fast path for FitRec's shape: each flat list of
    plain numbers is cut out and read by ``float``/``int`` (about 10x faster than the AST), the rest
    (keys, strings, ids) by ``ast.literal_eval``; when anything is unusual (no dict, a list inside
    a string, a number form outside the plain subset) the whole line goes to ``ast.literal_eval``,
    whose answer (or error) then stands. Both give the same values (tested)."""
    if fast:
        lists: list[str] = []

        def cut(m):
            lists.append(m.group(1))
            return f"({len(lists) - 1},)"

        reduced = _NUM_LIST.sub(cut, text)
        try:
            obj = ast.literal_eval(reduced) if lists else None
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            obj = None
        if isinstance(obj, dict):
            seen = set()
            for k, v in obj.items():
                if type(v) is tuple and len(v) == 1 and type(v[0]) is int and 0 <= v[0] < len(lists):
                    arr = None if v[0] in seen else _number_list(lists[v[0]])
                    if arr is None:
                        break
                    seen.add(v[0])
                    obj[k] = arr
            else:
                if len(seen) == len(lists):
                    return obj
    return ast.literal_eval(text)


def _series(obj: dict, key: str, n: int | None) -> np.ndarray | None:
    v = obj.get(key)
    if v is None:
        return None
    if isinstance(v, np.ndarray):  # read by _literal's fast path: plain numbers already
        if n is not None and len(v) != n:
            raise _Malformed(f"'{key}' has {len(v)} values, 'timestamp' has {n}")
        return v
    if not isinstance(v, list):
        raise _Malformed(f"'{key}' is {type(v).__name__}, not a list")
    if n is not None and len(v) != n:
        raise _Malformed(f"'{key}' has {len(v)} values, 'timestamp' has {n}")
    for i, x in enumerate(v):
        if type(x) not in (int, float) and x is not None:
            raise _Malformed(f"'{key}'[{i}] is {type(x).__name__} {str(x)[:20]!r}, not a number")
    return np.array([math.nan if x is None else x for x in v], np.float64)


def _fitrec_workout(text: str, fast: bool = True) -> Workout:
    """One FitRec line (a Python-literal dict, read by :func:`_literal`, never ``eval``) ->
    Workout; _Malformed with what is wrong."""
    try:
        obj = _literal(text, fast)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        # strict JSON lines (null/true/false; edgekit.data.workout_synth.write_jsonl writes them) as well
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError):
            raise _Malformed(f"not a Python-literal or JSON dict ({type(exc).__name__})") from None
    if not isinstance(obj, dict):
        raise _Malformed(f"a {type(obj).__name__}, not a dict")
    for key in ("id", "userId", "sport", "timestamp"):
        if key not in obj:
            raise _Malformed(f"no '{key}' field")
    t = _series(obj, "timestamp", None)
    n = len(t)
    if n == 0:
        raise _Malformed("'timestamp' is empty")
    if not np.all(np.isfinite(t)):
        raise _Malformed("'timestamp' has a missing or non-finite value")
    back = np.flatnonzero(np.diff(t) < 0)
    if len(back):
        raise _Malformed(f"'timestamp'[{int(back[0]) + 1}] goes backwards")
    cols = {k: _series(obj, k, n) for k in FITREC_SERIES[1:]}
    def col(key: str, scale: float = 1.0) -> np.ndarray:
        return cols[key] * scale if cols[key] is not None else np.full(n, math.nan)

    route = {"t": t, "lat": col("latitude"), "lon": col("longitude"), "alt": col("altitude"),
             "speed": col("speed", KMH)}
    route.update({k: np.full(n, math.nan) for k in ("course", "hacc", "vacc", "dist")})
    hr = cols["heart_rate"]
    meta = {"format": "fitrec", "gender": obj.get("gender"), "url": obj.get("url")}
    return _workout(workout_id=str(obj["id"]), runner=str(obj["userId"]), sport=str(obj["sport"]).lower(),
                    route=route, hr_t=t.copy() if hr is not None else np.zeros(0),
                    hr=hr if hr is not None else np.zeros(0), source="", meta=meta,
                    start_s=float(t[0]), end_s=float(t[-1]))


def _fitrec_batch(name: str, batch: list[tuple[int, str]]) -> list:
    """Parse a batch of (line number, text): a Workout, or (line number, message) when malformed."""
    out = []
    for lineno, text in batch:
        try:
            w = _fitrec_workout(text)
            w.source = f"{name}: line {lineno}"
            out.append(w)
        except _Malformed as exc:
            out.append((lineno, str(exc)))
    return out


def _fitrec_lines(path: Path, name: str, skip_malformed: bool, counts: dict,
                  max_line_bytes: int) -> Iterator[tuple[int, str]]:
    """(line number, text) of the non-blank lines, one at a time; an over-long or non-UTF-8 line is
    malformed (refused, or skipped without holding more than ``max_line_bytes`` of it)."""
    with _open(path) as fh:
        lineno = 0
        while True:
            raw = fh.readline(max_line_bytes + 1)
            if not raw:
                break
            lineno += 1
            if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
                msg = f"line longer than {max_line_bytes} bytes"
                while raw and not raw.endswith(b"\n"):  # drop the rest of the line, chunk by chunk
                    raw = fh.readline(max_line_bytes + 1)
                if not skip_malformed:
                    raise InputError(f"{name}: line {lineno}: {msg}")
                counts["lines"] += 1
                counts["skipped_malformed"] += 1
                continue
            try:
                text = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                if not skip_malformed:
                    raise InputError(f"{name}: line {lineno}: not UTF-8 text (byte {exc.start})") from None
                counts["lines"] += 1
                counts["skipped_malformed"] += 1
                continue
            if not text.strip():
                continue
            counts["lines"] += 1
            yield lineno, text


def iter_fitrec(path: str | Path, *, skip_malformed: bool = False, counts: dict | None = None,
                workers: int = 1, batch_lines: int = 64, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[Workout]:
    """Stream the workouts of a FitRec / Endomondo ``endomondoHR`` file, one per line, in file order.

    Each line is a Python-literal dict (single quotes) read with ``ast.literal_eval`` (never
    ``eval``; its flat lists of plain numbers by ``float``/``int``, same values, see
    :func:`_literal`): ``id``, ``userId`` (the runner), ``gender``, ``sport``, ``url``, and the per-sample
    lists ``timestamp`` (UTC epoch s; required, must not go backwards), ``heart_rate`` (bpm),
    ``altitude`` (m), ``latitude``/``longitude`` (deg), ``speed`` (km/h, converted to m/s; often
    missing: NaN). Every list has the length of ``timestamp``; a missing list is all NaN.

    Memory stays bounded: one line at a time (``workers=1``), or with ``workers>1`` batches of
    ``batch_lines`` lines parsed in that many processes with at most ``2*workers`` batches in
    flight; the order and the results are the same. A malformed line (not a dict, a missing field,
    lists of unequal length, a non-number, over ``max_line_bytes``) raises one InputError naming
    the file and line, or with ``skip_malformed`` is skipped and counted. ``counts`` (a dict, filled
    in as the stream goes): ``lines`` (non-blank), ``read``, ``skipped_malformed``.
    """
    path = Path(path)
    name = str(path)
    c = counts if counts is not None else {}
    for k in ("lines", "read", "skipped_malformed"):
        c.setdefault(k, 0)
    lines = _fitrec_lines(path, name, skip_malformed, c, max_line_bytes)

    def emit(results):
        for r in results:
            if isinstance(r, tuple):
                if not skip_malformed:
                    raise InputError(f"{name}: line {r[0]}: {r[1]}")
                c["skipped_malformed"] += 1
            else:
                c["read"] += 1
                yield r

    if workers <= 1:
        for lineno, text in lines:
            yield from emit(_fitrec_batch(name, [(lineno, text)]))
        return
    yield from _fitrec_parallel(name, lines, emit, workers, batch_lines)


def _batches(lines: Iterable[tuple[int, str]], n: int) -> Iterator[list[tuple[int, str]]]:
    batch = []
    for item in lines:
        batch.append(item)
        if len(batch) >= n:
            yield batch
            batch = []
    if batch:
        yield batch


def _fitrec_parallel(name, lines, emit, workers: int, batch_lines: int) -> Iterator[Workout]:
    import multiprocessing
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor

    # spawn: the caller may hold threads (torch, a DataLoader) that fork would copy mid-state
    ctx = multiprocessing.get_context("spawn")
    pending: deque = deque()
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        try:
            for batch in _batches(lines, batch_lines):
                pending.append(pool.submit(_fitrec_batch, name, batch))
                while len(pending) >= 2 * workers:
                    yield from emit(pending.popleft().result())
            while pending:
                yield from emit(pending.popleft().result())
        finally:
            for f in pending:
                f.cancel()


def read_fitrec(path: str | Path, *, skip_malformed: bool = False, workers: int = 1) -> WorkoutSet:
    """All workouts of a (small) FitRec file in memory, with the counts of :func:`iter_fitrec`.
    For the multi-GB research file, stream with :func:`iter_fitrec` (and filter as you go)."""
    counts: dict = {}
    ws = list(iter_fitrec(path, skip_malformed=skip_malformed, counts=counts, workers=workers))
    return WorkoutSet(ws, counts)

