"""Garmin TCX files (TrainingCenterDatabase v2), one workout per ``Activity`` (:func:`read_tcx`).
"""

from __future__ import annotations

import math
from pathlib import Path

from edgekit.data.readers.workouts.common import _local, _open, _parse_xml, _Points, _utc_iso, _workout, _XmlHandler
from edgekit.data.workouts import Workout
from edgekit.core.errors import InputError

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
