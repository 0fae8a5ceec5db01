"""Apple Health exports (a folder, its ``export.xml`` or the ``export.zip``): the running workouts
with their routes and heart-rate records, in one streaming pass (:func:`read_apple_health`).
"""

from __future__ import annotations

import math
import posixpath
import re
import zipfile
from array import array
from pathlib import Path
from typing import IO

import numpy as np

from edgekit.data.readers.apple_records import parse_apple_date
from edgekit.data.readers.workouts.common import (
    WorkoutSet,
    _nonneg,
    _open,
    _parse_xml,
    _Points,
    _utc_iso,
    _workout,
    _XmlHandler,
)
from edgekit.data.readers.workouts.gpx import _gpx_points
from edgekit.data.workouts import Workout
from edgekit.core.errors import InputError

APPLE_RUNNING = "HKWorkoutActivityTypeRunning"
APPLE_HR = "HKQuantityTypeIdentifierHeartRate"  # exactly: not ...Variability, Resting, WalkingAverage, Recovery
APPLE_ACTIVITY_PREFIX = "HKWorkoutActivityType"


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
