"""GPX 1.0/1.1 files (:func:`read_gpx`): Apple's route form through a fast path, anything else
through a strict expat handler; both give the same arrays (see the package docstring).
"""

from __future__ import annotations

import math
import re
import zipfile
from array import array
from pathlib import Path
from typing import IO
from xml.parsers import expat

import numpy as np

from edgekit.data.readers.workouts.common import (
    _iso_epoch,
    _local,
    _nonneg,
    _open,
    _parse_xml,
    _Points,
    _refuse,
    _Refused,
    _utc_iso,
    _workout,
    _XmlHandler,
)
from edgekit.data.workouts import Workout
from edgekit.core.errors import InputError

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
