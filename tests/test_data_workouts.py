"""Workout readers (Apple Health export, GPX, TCX, FIT, FitRec), resampling, windows and quality
filters, on files the tests write themselves, with exact counts."""

import math
import shutil
import struct
import zipfile
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from edgekit.data.readers import workouts as wr
from edgekit.data.signal.workout_filters import FILTERS, quality_filter
from edgekit.data.signal.workout_grid import EARTH_RADIUS_M, haversine_m, interp_gapped, to_grid, windows
from edgekit.data.workouts import Workout
from edgekit.core.errors import InputError

DEG_M = EARTH_RADIUS_M * math.pi / 180.0  # metres per degree of latitude on the haversine sphere
LAT0, LON0 = 47.3769, 8.5417


def _z(iso: str) -> float:
    """UTC epoch seconds of an ISO date-time written by hand in the test (``...Z``)."""
    return datetime.fromisoformat(iso).timestamp()


def _local(t: float, off_h: float) -> str:
    """An export date: local time at UTC offset ``off_h`` hours, ``YYYY-MM-DD HH:MM:SS +HHMM``."""
    tz = timezone(timedelta(hours=off_h))
    return datetime.fromtimestamp(t, tz).strftime("%Y-%m-%d %H:%M:%S %z")


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _line(t0: float, n: int, dt: float = 10.0, v: float = 3.0, grade: float = 0.0, lat0: float = LAT0):
    """A straight run due north: n points dt apart at v m/s, altitude rising at ``grade``."""
    t = t0 + dt * np.arange(n)
    dist = v * (t - t0)
    return t, lat0 + dist / DEG_M, np.full(n, LON0), 400.0 + grade * dist


def _one_line_no_traceback(exc: BaseException, *parts: str) -> str:
    msg = str(exc)
    assert "\n" not in msg, msg
    assert exc.__cause__ is None and (exc.__context__ is None or exc.__suppress_context__), msg
    for p in parts:
        assert p in msg, (p, msg)
    return msg


# ---------------------------------------------------------------------------------------------
# GPX
# ---------------------------------------------------------------------------------------------

GPX_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="Apple Health Export" '
            'xmlns="http://www.topografix.com/GPX/1/1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
            '<metadata><time>2025-03-01T08:00:00Z</time></metadata>\n<trk><name>Route</name><trkseg>\n')


def _apple_gpx(t, lat, lon, ele, speed=None) -> str:
    """Apple's route GPX: one trkpt per line, extensions speed/course/hAcc/vAcc."""
    rows = [GPX_HEAD]
    for i in range(len(t)):
        s = 3.0 if speed is None else speed[i]
        rows.append(f'<trkpt lon="{lon[i]:.8f}" lat="{lat[i]:.8f}"><ele>{ele[i]:.4f}</ele>'
                    f"<time>{_iso(t[i])}</time><extensions><speed>{s:.3f}</speed><course>0.5</course>"
                    f"<hAcc>3.5</hAcc><vAcc>-1</vAcc></extensions></trkpt>\n")
    rows.append("</trkseg></trk>\n</gpx>\n")
    return "".join(rows)


def test_gpx_apple_extensions_and_garmin_hr_agree_with_gpxpy(tmp_path):
    gpxpy = pytest.importorskip("gpxpy")
    t, lat, lon, ele = _line(_z("2025-03-01T06:00:00Z"), 7)
    speed = [2.5, 2.6, -1.0, 2.8, 2.9, 3.0, 3.1]  # -1: Core Location's "invalid"
    p = tmp_path / "route.gpx"
    p.write_text(_apple_gpx(t, lat, lon, ele, speed))
    w = wr.read_gpx(p, runner="me")
    assert (w.workout_id, w.runner, w.sport) == ("route.gpx#0", "me", "unknown")
    ref = [q for q in gpxpy.parse(p.read_text()).tracks[0].segments[0].points]
    assert len(w.route_t_s) == len(ref) == 7 and len(w.hr_bpm) == 0
    assert w.route_t_s.tolist() == [q.time.timestamp() for q in ref]
    assert w.lat_deg.tolist() == [q.latitude for q in ref] and w.lon_deg.tolist() == [q.longitude for q in ref]
    assert w.altitude_m.tolist() == [q.elevation for q in ref]
    ext = [{e.tag: float(e.text) for e in q.extensions} for q in ref]
    assert np.array_equal(w.speed_mps, [x["speed"] if x["speed"] >= 0 else np.nan for x in ext], equal_nan=True)
    assert w.route_extra["course_deg"].tolist() == [0.5] * 7 and w.route_extra["h_acc_m"].tolist() == [3.5] * 7
    assert "v_acc_m" not in w.route_extra  # all -1 (invalid): NaN, and an all-NaN extra is left out
    assert (w.start_s, w.end_s) == (t[0], t[-1])

    garmin = ('<?xml version="1.0"?>\n<gpx version="1.1" creator="Garmin" xmlns="http://www.topografix.com/GPX/1/1" '
              'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">\n'
              "<trk><type>running</type><trkseg>\n"
              '<trkpt lat="47.1" lon="8.5"><ele>400</ele><time>2025-03-01T08:00:00+02:00</time><extensions>'
              "<gpxtpx:TrackPointExtension><gpxtpx:hr>141</gpxtpx:hr></gpxtpx:TrackPointExtension></extensions></trkpt>\n"
              '<trkpt lat="47.1001" lon="8.5"><time>2025-03-01T06:00:05.5Z</time></trkpt>\n'
              '<trkpt lat="47.1002" lon="8.5"><time>2025-03-01T06:00:10Z</time><extensions>'
              "<gpxtpx:TrackPointExtension><gpxtpx:hr>143</gpxtpx:hr></gpxtpx:TrackPointExtension></extensions></trkpt>\n"
              "</trkseg></trk></gpx>\n")
    g = tmp_path / "garmin.gpx"
    g.write_text(garmin)
    w = wr.read_workout_file(g)[0]
    assert w.sport == "running" and w.hr_bpm.tolist() == [141.0, 143.0]
    t0 = _z("2025-03-01T06:00:00Z")
    assert w.hr_t_s.tolist() == [t0, t0 + 10] and w.route_t_s.tolist() == [t0, t0 + 5.5, t0 + 10]
    assert np.isnan(w.altitude_m[1]) and np.isnan(w.speed_mps).all()
    ref = gpxpy.parse(garmin).tracks[0].segments[0].points
    assert w.route_t_s.tolist() == [q.time.timestamp() for q in ref]


@pytest.mark.parametrize("body,place,what", [
    ('<trkpt lat="abc" lon="8.5"><time>2025-03-01T06:00:00Z</time></trkpt>', "line 4", "not a number"),
    ('<trkpt lat="95" lon="8.5"><time>2025-03-01T06:00:00Z</time></trkpt>', "line 4", "out of range"),
    ('<trkpt lat="47" lon="8.5">\n<ele>400</ele></trkpt>', "line 4", "without <time>"),
    ('<trkpt lat="47" lon="8.5"><time>yesterday</time></trkpt>', "line 4", "ISO 8601"),
    ('<trkpt lat="47" lon="8.5"><ele>high</ele><time>2025-03-01T06:00:00Z</time></trkpt>', "line 4", "<ele>"),
    ('<trkpt lat="47" lon="8.5"><time>2025-03-01T06:00:09Z</time></trkpt>\n'
     '<trkpt lat="47" lon="8.5"><time>2025-03-01T06:00:00Z</time></trkpt>', "line 5", "backwards"),
    ('<trkpt lat="47" lon="8.5"><time>2025-03-01T06:00:00Z</time>', "line 4", "truncated XML"),
    ('<trkpt lat="47" lon="8.5"><time>2025-03-01T06:00:00Z</time></trkseg>', "line 4", "malformed XML"),
])
def test_gpx_malformed_one_line(tmp_path, body, place, what):
    p = tmp_path / "bad.gpx"
    tail = "" if "truncated" in what else "\n</trkseg></trk></gpx>\n"
    p.write_text('<?xml version="1.0"?>\n<gpx version="1.1">\n<trk><trkseg>\n' + body + tail)
    with pytest.raises(InputError) as ei:
        wr.read_gpx(p)
    _one_line_no_traceback(ei.value, f"{p}: {place}", what)


def test_gpx_hostile_and_not_gpx(tmp_path):
    p = tmp_path / "x.gpx"
    p.write_text('<?xml version="1.0"?>\n<!DOCTYPE gpx [<!ENTITY a "aaaa">]>\n<gpx>&a;</gpx>\n')
    with pytest.raises(InputError, match=r"x.gpx: line 2: entity declaration refused"):
        wr.read_gpx(p)
    p.write_text('<?xml version="1.0"?>\n<kml></kml>\n')
    with pytest.raises(InputError, match=r"x.gpx: line 2: root element <kml>"):
        wr.read_gpx(p)
    p.write_text("")
    with pytest.raises(InputError, match=r"x.gpx: empty file"):
        wr.read_gpx(p)
    p.write_text('<gpx version="1.1"><trk><trkseg></trkseg></trk></gpx>')
    with pytest.raises(InputError, match=r"x.gpx: no <trkpt>"):
        wr.read_gpx(p)
    with pytest.raises(InputError, match=r"nope.gpx: file not found"):
        wr.read_gpx(tmp_path / "nope.gpx")


# ---------------------------------------------------------------------------------------------
# TCX
# ---------------------------------------------------------------------------------------------

TCX = """<?xml version="1.0" encoding="UTF-8"?>
<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2" xmlns:ns3="http://www.garmin.com/xmlschemas/ActivityExtension/v2">
 <Activities>
  <Activity Sport="Running">
   <Id>2025-03-01T06:00:00.000Z</Id>
   <Lap StartTime="2025-03-01T06:00:00.000Z"><Track>
    <Trackpoint><Time>2025-03-01T06:00:00.000Z</Time><Position><LatitudeDegrees>47.1</LatitudeDegrees><LongitudeDegrees>8.5</LongitudeDegrees></Position><AltitudeMeters>400.5</AltitudeMeters><DistanceMeters>0.0</DistanceMeters><HeartRateBpm><Value>120</Value></HeartRateBpm><Extensions><ns3:TPX><ns3:Speed>2.75</ns3:Speed></ns3:TPX></Extensions></Trackpoint>
    <Trackpoint><Time>2025-03-01T06:00:01.000Z</Time><HeartRateBpm><Value>121</Value></HeartRateBpm></Trackpoint>
    <Trackpoint><Time>2025-03-01T06:00:02.000Z</Time><DistanceMeters>5.5</DistanceMeters><HeartRateBpm><Value>VALUE</Value></HeartRateBpm><Extensions><ns3:TPX><ns3:Speed>2.8</ns3:Speed></ns3:TPX></Extensions></Trackpoint>
    <Trackpoint><Time>2025-03-01T06:00:03.000Z</Time><Position><LatitudeDegrees>47.10005</LatitudeDegrees><LongitudeDegrees>8.5</LongitudeDegrees></Position><AltitudeMeters>401</AltitudeMeters></Trackpoint>
   </Track></Lap>
  </Activity>
  <Activity Sport="Biking">
   <Id>2025-03-02T06:00:00Z</Id>
   <Lap StartTime="2025-03-02T06:00:00Z"><Track>
    <Trackpoint><Time>2025-03-02T06:00:00Z</Time><Position><LatitudeDegrees>47.2</LatitudeDegrees><LongitudeDegrees>8.6</LongitudeDegrees></Position><HeartRateBpm><Value>100</Value></HeartRateBpm></Trackpoint>
   </Track></Lap>
  </Activity>
 </Activities>
</TrainingCenterDatabase>
"""


def test_tcx_activities_trackpoints_hr_speed(tmp_path):
    p = tmp_path / "a.tcx"
    p.write_text(TCX.replace("VALUE", "122"))
    run, bike = wr.read_workout_file(p, runner="r1")
    t0 = _z("2025-03-01T06:00:00Z")
    assert (run.workout_id, run.sport, run.runner, bike.sport) == ("a.tcx#0", "running", "r1", "biking")
    assert run.hr_t_s.tolist() == [t0, t0 + 1, t0 + 2] and run.hr_bpm.tolist() == [120, 121, 122]
    # the HR-only trackpoint adds no route point; the one with speed but no position has NaN lat/lon
    assert run.route_t_s.tolist() == [t0, t0 + 2, t0 + 3]
    assert np.array_equal(run.lat_deg, [47.1, np.nan, 47.10005], equal_nan=True)
    assert np.array_equal(run.speed_mps, [2.75, 2.8, np.nan], equal_nan=True)
    assert np.array_equal(run.altitude_m, [400.5, np.nan, 401.0], equal_nan=True)
    assert np.array_equal(run.route_extra["distance_m"], [0.0, 5.5, np.nan], equal_nan=True)
    assert run.meta["activity_id"] == "2025-03-01T06:00:00.000Z" and (run.start_s, run.end_s) == (t0, t0 + 3)
    assert len(bike.route_t_s) == 1 and bike.hr_bpm.tolist() == [100]


@pytest.mark.parametrize("old,new,place,what", [
    ("VALUE", "fast", "line 9", "<HeartRateBpm><Value> 'fast' is not a number"),
    ("<Time>2025-03-01T06:00:03.000Z</Time>", "<Time>2025-02-01T06:00:03Z</Time>", "line 10", "backwards"),
    ("<Time>2025-03-01T06:00:01.000Z</Time>", "", "line 8", "without <Time>"),
    ("<LongitudeDegrees>8.5</LongitudeDegrees></Position><AltitudeMeters>401",
     "</Position><AltitudeMeters>401", "line 10", "both"),
    ("</Lap>\n  </Activity>\n  <Activity Sport=\"Biking\">", "</Lap>\n  <Activity Sport=\"Biking\">", "line 18",
     "malformed XML"),
])
def test_tcx_malformed_one_line(tmp_path, old, new, place, what):
    p = tmp_path / "bad.tcx"
    src = TCX.replace(old, new, 1)
    assert src != TCX
    p.write_text(src.replace("VALUE", "122"))
    with pytest.raises(InputError) as ei:
        wr.read_tcx(p)
    _one_line_no_traceback(ei.value, f"{p}: {place}", what)


# ---------------------------------------------------------------------------------------------
# FIT: a minimal writer (FIT protocol: 14-byte header, definition + data messages, CRC-16)
# ---------------------------------------------------------------------------------------------

_CRC_TABLE = (0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401,
              0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400)
FIT_EPOCH = 631065600  # 1989-12-31T00:00:00Z
SEMI = 2.0**31 / 180.0


def _fit_crc(data: bytes, crc: int = 0) -> int:
    for byte in data:
        for nib in (byte & 0xF, byte >> 4):
            tmp = _CRC_TABLE[crc & 0xF]
            crc = ((crc >> 4) & 0x0FFF) ^ tmp ^ _CRC_TABLE[nib]
    return crc


def _fit_file(records, sport: int = 1, enhanced: bool = True) -> bytes:
    """records: (t_epoch, lat_deg|None, lon_deg|None, alt_m, speed_mps, hr|None). Local message 0 =
    file_id, 1 = record, 2 = session; little-endian; invalid values as the FIT base types define.
    ``enhanced``: altitude and speed as enhanced_altitude/enhanced_speed (uint32), else as the
    older altitude/speed fields (uint16, same scale and offset)."""
    body = bytearray()

    def define(local, glob, fields):  # fields: (field number, size, base type)
        body.extend(struct.pack("<BBBHB", 0x40 | local, 0, 0, glob, len(fields)))
        for f in fields:
            body.extend(struct.pack("<BBB", *f))

    define(0, 0, [(0, 1, 0x00), (1, 2, 0x84), (4, 4, 0x86)])  # file_id: type, manufacturer, time_created
    body.extend(struct.pack("<BBHI", 0, 4, 255, int(records[0][0]) - FIT_EPOCH))
    wide = "I" if enhanced else "H"
    define(1, 20, [(253, 4, 0x86), (0, 4, 0x85), (1, 4, 0x85)]
           + ([(78, 4, 0x86), (73, 4, 0x86)] if enhanced else [(2, 2, 0x84), (6, 2, 0x84)]) + [(3, 1, 0x02)])
    for t, la, lo, alt, spd, hr in records:
        body.extend(struct.pack(f"<BIii{wide}{wide}B", 1, int(t) - FIT_EPOCH,
                                0x7FFFFFFF if la is None else round(la * SEMI),
                                0x7FFFFFFF if lo is None else round(lo * SEMI),
                                round((alt + 500.0) * 5), round(spd * 1000), 0xFF if hr is None else hr))
    define(2, 18, [(253, 4, 0x86), (5, 1, 0x00)])  # session: timestamp, sport
    body.extend(struct.pack("<BIB", 2, int(records[-1][0]) - FIT_EPOCH, sport))
    head = struct.pack("<BBHI4s", 14, 0x20, 2132, len(body), b".FIT")
    head += struct.pack("<H", _fit_crc(head))
    data = head + bytes(body)
    return data + struct.pack("<H", _fit_crc(data))


FIT_RECORDS = [(_z("2025-03-01T06:00:00Z") + i, 47.1 + i * 1e-4, 8.5, 400.0 + i, 2.5 + 0.1 * i, 130 + i)
               for i in range(5)]
FIT_RECORDS[2] = (FIT_RECORDS[2][0], None, None, 402.0, 2.7, None)  # no fix, no HR


def test_fit_records(tmp_path):
    p = tmp_path / "run.fit"
    p.write_bytes(_fit_file(FIT_RECORDS))
    w = wr.read_workout_file(p, runner="me")[0]
    t0 = FIT_RECORDS[0][0]
    assert (w.workout_id, w.sport, w.runner) == ("run.fit#0", "running", "me")
    assert w.route_t_s.tolist() == [t0 + i for i in range(5)]
    assert w.hr_t_s.tolist() == [t0, t0 + 1, t0 + 3, t0 + 4] and w.hr_bpm.tolist() == [130, 131, 133, 134]
    assert np.isnan(w.lat_deg[2]) and np.isnan(w.lon_deg[2])
    ok = [0, 1, 3, 4]
    assert np.allclose(w.lat_deg[ok], [FIT_RECORDS[i][1] for i in ok], atol=1e-7)  # semicircle rounding
    assert np.allclose(w.lon_deg[ok], 8.5, atol=1e-7)
    assert w.altitude_m.tolist() == [400.0, 401.0, 402.0, 403.0, 404.0]
    assert np.allclose(w.speed_mps, [2.5, 2.6, 2.7, 2.8, 2.9], atol=1e-9)
    p.write_bytes(_fit_file(FIT_RECORDS, sport=0, enhanced=False))  # the older 16-bit fields; sport generic
    old = wr.read_fit(p)
    assert old.sport == "generic" and old.altitude_m.tolist() == w.altitude_m.tolist()
    assert np.allclose(old.speed_mps, w.speed_mps, atol=1e-9) and old.hr_bpm.tolist() == w.hr_bpm.tolist()


def test_fit_malformed_one_line(tmp_path):
    good = _fit_file(FIT_RECORDS)
    p = tmp_path / "bad.fit"
    cases = [
        (good[:-9], "truncated FIT file"),  # cut inside the last message
        (good[:40] + bytes([good[40] ^ 0x55]) + good[41:], "CRC"),
        (b"not a fit file at all, just text\n" * 2, "not a FIT file"),
        (b"", "empty file"),
    ]
    for data, what in cases:
        p.write_bytes(data)
        with pytest.raises(InputError) as ei:
            wr.read_fit(p)
        _one_line_no_traceback(ei.value, f"{p}: ", what)
    p.write_bytes(_fit_file([FIT_RECORDS[1], FIT_RECORDS[0]]))
    with pytest.raises(InputError) as ei:
        wr.read_fit(p)
    _one_line_no_traceback(ei.value, f"{p}: record message 2", "backwards")


# ---------------------------------------------------------------------------------------------
# Apple Health export
# ---------------------------------------------------------------------------------------------

EXPORT_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE HealthData [\n<!ELEMENT HealthData ANY>\n'
               '<!ATTLIST HealthData locale CDATA #REQUIRED>\n]>\n<HealthData locale="en_US">\n'
               ' <ExportDate value="2025-04-01 10:00:00 +0200"/>\n'
               ' <Me HKCharacteristicTypeIdentifierDateOfBirth="1990-01-01" HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale"/>\n')
HR = "HKQuantityTypeIdentifierHeartRate"


def _hr(t: float, off_h: float, bpm: float = 140, t_end: float | None = None, typ: str = HR,
        unit: str = "count/min") -> str:
    end = t if t_end is None else t_end
    inner = ""
    if typ.endswith("SDNN"):
        inner = ('\n  <HeartRateVariabilityMetadataList>\n   <InstantaneousBeatsPerMinute bpm="71" time="7:20:00.10 AM"/>\n'
                 "  </HeartRateVariabilityMetadataList>\n ")
    return (f' <Record type="{typ}" sourceName="Watch" sourceVersion="11.3" unit="{unit}" '
            f'creationDate="{_local(end, off_h)}" startDate="{_local(t, off_h)}" endDate="{_local(end, off_h)}" '
            f'value="{bpm}">{inner}</Record>\n')


def _workout_xml(typ, start, end, off_start, off_end, routes="", stats=""):
    return (f' <Workout workoutActivityType="{typ}" duration="{(end - start) / 60:.4f}" durationUnit="min" '
            f'sourceName="Watch" sourceVersion="11.3" creationDate="{_local(end, off_end)}" '
            f'startDate="{_local(start, off_start)}" endDate="{_local(end, off_end)}">\n'
            f'  <MetadataEntry key="HKIndoorWorkout" value="0"/>\n{stats}{routes} </Workout>\n')


def _route_file(name, start, end, off_h):
    return (f'  <WorkoutRoute sourceName="Watch" creationDate="{_local(end, off_h)}" startDate="{_local(start, off_h)}" '
            f'endDate="{_local(end, off_h)}">\n   <MetadataEntry key="HKMetadataKeySyncVersion" value="2"/>\n'
            f'   <FileReference path="/workout-routes/{name}"/>\n  </WorkoutRoute>\n')


def _make_export(root, *, extra_workout="", missing_ref=False):
    """An export with 8 workouts: 4 running ones kept (two routes; across local midnight; across the
    CET->CEST change; pre-iOS 13 inline locations), 2 of other types, 1 running without route, 1
    running without HR (EXPECTED_COUNTS). Returns the folder."""
    folder = root / "apple_health_export"
    routes = folder / "workout-routes"
    routes.mkdir(parents=True)

    def gpx(name, t0, n, lat0=LAT0, speed=None):
        t, lat, lon, ele = _line(t0, n, lat0=lat0)
        (routes / name).write_text(_apple_gpx(t, lat, lon, ele, speed))

    records, late_records, workouts = [], [], []
    # W1: 2025-03-01 07:12:03 +0100 .. 07:42:03 +0100; two routes, the later one listed first
    s1, e1 = _z("2025-03-01T06:12:03Z"), _z("2025-03-01T06:42:03Z")
    gpx("route_2025-03-01_7.12am.gpx", s1, 90)
    gpx("route_2025-03-01_7.27am.gpx", s1 + 900, 91, lat0=LAT0 + 0.03)
    records += [_hr(s1 + 60 * i, 1, 130 + i % 7) for i in range(31)]  # both ends included
    records.append(_hr(s1 + 470, 1, 150, t_end=s1 + 480))  # start != end: at the midpoint
    records += [_hr(s1 - 1, 1, 99), _hr(e1 + 1, 1, 99)]  # just outside
    for typ in ("HKQuantityTypeIdentifierHeartRateVariabilitySDNN", "HKQuantityTypeIdentifierRestingHeartRate",
                "HKQuantityTypeIdentifierWalkingHeartRateAverage", "HKQuantityTypeIdentifierHeartRateRecoveryOneMinute"):
        records.append(_hr(s1 + 600, 1, 55, typ=typ, unit="ms" if typ.endswith("SDNN") else "count/min"))
    stats = ('  <WorkoutStatistics type="HKQuantityTypeIdentifierHeartRate" startDate="x" endDate="x" '
             'average="141" minimum="120" maximum="160" unit="count/min"/>\n'
             '  <WorkoutStatistics type="HKQuantityTypeIdentifierDistanceWalkingRunning" sum="5.4" unit="km"/>\n')
    workouts.append(_workout_xml("HKWorkoutActivityTypeRunning", s1, e1, 1, 1, stats=stats,
                                 routes=_route_file("route_2025-03-01_7.27am.gpx", s1 + 900, e1, 1)
                                 + _route_file("route_2025-03-01_7.12am.gpx", s1, s1 + 890, 1)))
    # W2: across local midnight, 2024-12-31 23:50 +0100 .. 2025-01-01 00:20 +0100
    s2, e2 = _z("2024-12-31T22:50:00Z"), _z("2024-12-31T23:20:00Z")
    gpx("route_2024-12-31_11.50pm.gpx", s2, 181)
    records += [_hr(s2 + 120 * i, 1, 140) for i in range(16)]
    workouts.append(_workout_xml("HKWorkoutActivityTypeRunning", s2, e2, 1, 1,
                                 routes=_route_file("route_2024-12-31_11.50pm.gpx", s2, e2, 1)))
    # W3: across the DST change, 2025-03-30 01:40 +0100 .. 03:10 +0200 (30 min); HR after the workouts
    s3, e3 = _z("2025-03-30T00:40:00Z"), _z("2025-03-30T01:10:00Z")
    gpx("route_2025-03-30_1.40am.gpx", s3, 181)
    late_records += [_hr(_z("2025-03-30T00:45:00Z"), 1), _hr(_z("2025-03-30T00:59:30Z"), 1),
                     _hr(_z("2025-03-30T01:00:30Z"), 2), _hr(_z("2025-03-30T01:05:00Z"), 2)]
    # 02:55 +0100 is 01:55Z: after the end (a reader dropping offsets would take it, 02:55 < 03:10)
    late_records += [_hr(_z("2025-03-30T01:55:00Z"), 1), _hr(_z("2025-03-30T01:20:00Z"), 2)]
    workouts.append(_workout_xml("HKWorkoutActivityTypeRunning", s3, e3, 1, 2,
                                 routes=_route_file("route_2025-03-30_1.40am.gpx", s3, e3, 2)))
    # W4: before iOS 13, inline <Location> points (local time +0200), one with speed -1 (invalid)
    s4, e4 = _z("2018-06-01T16:00:00Z"), _z("2018-06-01T16:20:00Z")
    t, lat, lon, ele = _line(s4, 121)
    locs = "".join(f'   <Location date="{_local(t[i], 2)}" latitude="{lat[i]:.8f}" longitude="{lon[i]:.8f}" '
                   f'altitude="{ele[i]:.4f}" horizontalAccuracy="4.0" verticalAccuracy="3.0" course="0.1" '
                   f'speed="{-1 if i == 5 else 3.0}"/>\n' for i in range(121))
    records += [_hr(s4 + 60 * i, 2, 150) for i in range(21)]
    workouts.append(_workout_xml("HKWorkoutActivityTypeRunning", s4, e4, 2, 2,
                                 routes=f'  <WorkoutRoute sourceName="Watch" creationDate="{_local(e4, 2)}" '
                                        f'startDate="{_local(s4, 2)}" endDate="{_local(e4, 2)}">\n{locs}  </WorkoutRoute>\n'))
    # W5 cycling (with a route), W6 walking: skipped by type; W7 running without a route; W8 without HR
    s5 = _z("2025-02-01T09:00:00Z")
    gpx("route_2025-02-01_10.00am.gpx", s5, 61)
    workouts.append(_workout_xml("HKWorkoutActivityTypeCycling", s5, s5 + 600, 1, 1,
                                 routes=_route_file("route_2025-02-01_10.00am.gpx", s5, s5 + 600, 1)))
    workouts.append(_workout_xml("HKWorkoutActivityTypeWalking", s5 + 3600, s5 + 4200, 1, 1))
    workouts.append(_workout_xml("HKWorkoutActivityTypeRunning", s5 + 7200, s5 + 7800, 1, 1))
    s8 = _z("2025-02-02T09:00:00Z")
    gpx("route_2025-02-02_10.00am.gpx", s8, 61)
    ref8 = "route_missing.gpx" if missing_ref else "route_2025-02-02_10.00am.gpx"
    workouts.append(_workout_xml("HKWorkoutActivityTypeRunning", s8, s8 + 600, 1, 1,
                                 routes=_route_file(ref8, s8, s8 + 600, 1)))
    xml = (EXPORT_HEAD + "".join(records) + "".join(workouts) + extra_workout + "".join(late_records)
           + ' <ActivitySummary dateComponents="2025-03-01" activeEnergyBurned="500"/>\n</HealthData>\n')
    (folder / "export.xml").write_text(xml, encoding="utf-8")
    return folder


def _zip(folder, path):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                z.write(f, f"apple_health_export/{f.relative_to(folder).as_posix()}")
    return path


EXPECTED_COUNTS = {"workouts": 8, "running": 6, "kept": 4, "skipped_type": 2,
                   "skipped_by_type": {"HKWorkoutActivityTypeCycling": 1, "HKWorkoutActivityTypeWalking": 1},
                   "skipped_no_route": 1, "skipped_no_hr": 1, "skipped_bad_route": 0, "hr_records": 77,
                   "routes": 5, "route_files": 4, "inline_locations": 121, "route_points": 664, "hr_samples": 73}


def _same_workouts(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        for f in ("workout_id", "runner", "sport", "start_s", "end_s", "meta"):
            assert getattr(x, f) == getattr(y, f), f
        for f in ("route_t_s", "lat_deg", "lon_deg", "altitude_m", "speed_mps", "hr_t_s", "hr_bpm"):
            assert np.array_equal(getattr(x, f), getattr(y, f), equal_nan=True), f
        assert x.route_extra.keys() == y.route_extra.keys()


def test_apple_export_counts_routes_offsets(tmp_path, monkeypatch):
    folder = _make_export(tmp_path)
    parsed = []
    real = wr._parse_xml
    monkeypatch.setattr(wr.apple_export, "_parse_xml",  # where read_apple_health looks it up
                        lambda fh, name, h: (parsed.append(name), real(fh, name, h))[1])
    res = wr.read_apple_health(folder, runner="me")
    assert res.counts == EXPECTED_COUNTS
    assert sum(n.endswith("export.xml") for n in parsed) == 1  # one pass over export.xml
    w1, w2, w3, w4 = sorted(res.workouts, key=lambda w: w.meta["line"])
    assert [w.workout_id for w in (w1, w2, w3, w4)] == ["2025-03-01T06:12:03Z", "2024-12-31T22:50:00Z",
                                                        "2025-03-30T00:40:00Z", "2018-06-01T16:00:00Z"]
    assert {w.sport for w in res.workouts} == {"running"} and {w.runner for w in res.workouts} == {"me"}
    # W1: local +0100 -> UTC; both routes merged in time order; HR of that type only, ends included
    assert (w1.start_s, w1.end_s) == (1740809523.0, 1740811323.0)
    assert w1.route_t_s.tolist() == (w1.start_s + 10 * np.arange(90)).tolist() + (w1.start_s + 900 + 10 * np.arange(91)).tolist()
    assert w1.lat_deg[0] == pytest.approx(LAT0) and w1.lat_deg[90] == pytest.approx(LAT0 + 0.03)
    assert w1.meta["routes"] == 2 and w1.meta["statistics"]["HKQuantityTypeIdentifierHeartRate"]["average"] == "141"
    assert w1.meta["metadata"] == {"HKIndoorWorkout": "0"}
    assert len(w1.hr_bpm) == 32 and 55 not in w1.hr_bpm and 99 not in w1.hr_bpm
    assert w1.hr_t_s[0] == w1.start_s and w1.hr_t_s[-1] == w1.end_s
    assert w1.start_s + 475 in w1.hr_t_s  # the record from +470 s to +480 s sits at its midpoint
    assert w1.route_extra["h_acc_m"][0] == 3.5 and "v_acc_m" not in w1.route_extra
    # W2 across midnight: 30 min, 16 HR samples, the route's times UTC
    assert w2.end_s - w2.start_s == 1800 and len(w2.hr_bpm) == 16 and len(w2.route_t_s) == 181
    # W3 across CET -> CEST: 30 min (not 90), 4 HR samples (01:55Z excluded)
    assert (w3.start_s, w3.end_s) == (1743295200.0, 1743297000.0)
    assert w3.hr_t_s.tolist() == [_z(f"2025-03-30T{x}Z") for x in ("00:45:00", "00:59:30", "01:00:30", "01:05:00")]
    # W4 inline locations: local +0200 dates, speed -1 -> NaN, accuracies kept
    assert w4.start_s == 1527868800.0 and w4.route_t_s.tolist() == (w4.start_s + 10 * np.arange(121)).tolist()
    assert np.isnan(w4.speed_mps[5]) and np.nansum(w4.speed_mps) == 3.0 * 120 and len(w4.hr_bpm) == 21
    assert w4.route_extra["h_acc_m"].tolist() == [4.0] * 121


def test_apple_export_zip_folder_and_xml_path_same(tmp_path):
    folder = _make_export(tmp_path)
    z = _zip(folder, tmp_path / "export.zip")
    a = wr.read_apple_health(folder)
    b = wr.read_apple_health(z)
    c = wr.read_apple_health(folder / "export.xml")
    d = wr.read_apple_health(tmp_path)  # the folder above apple_health_export/
    assert a.counts == b.counts == c.counts == d.counts == EXPECTED_COUNTS
    _same_workouts(a.workouts, b.workouts)
    _same_workouts(a.workouts, c.workouts)
    _same_workouts(a.workouts, d.workouts)
    assert "export.zip!apple_health_export/export.xml: line" in b.workouts[0].source


def test_apple_export_bad_input_one_line(tmp_path):
    folder = _make_export(tmp_path / "a", missing_ref=True)
    with pytest.raises(InputError) as ei:
        wr.read_apple_health(folder)
    _one_line_no_traceback(ei.value, f"{folder / 'export.xml'}: line ", "route_missing.gpx", "not in the export")
    res = wr.read_apple_health(folder, skip_malformed=True)
    assert res.counts == {**EXPECTED_COUNTS, "skipped_no_hr": 0, "skipped_bad_route": 1}

    # a malformed route GPX: its own file and line (through the zip too)
    folder = _make_export(tmp_path / "b")
    gpx = folder / "workout-routes" / "route_2025-03-01_7.12am.gpx"
    lines = gpx.read_text().splitlines(keepends=True)
    lines[6] = lines[6].replace("<time>", "<time>x")
    gpx.write_text("".join(lines))
    with pytest.raises(InputError) as ei:
        wr.read_apple_health(folder)
    _one_line_no_traceback(ei.value, f"{gpx}: line 7", "ISO 8601")
    with pytest.raises(InputError) as ei:
        wr.read_apple_health(_zip(folder, tmp_path / "b.zip"))
    _one_line_no_traceback(ei.value, "b.zip!apple_health_export/workout-routes/route_2025-03-01_7.12am.gpx: line 7")

    # bad dates and values in export.xml, a route leaving the export, hostile XML, not an export
    for i, (extra, marker, what) in enumerate([
        (_hr(_z("2025-03-01T06:20:00Z"), 1).replace('+0100" endDate', '+01:00" endDate'), "+01:00", "is not 'YYYY-MM-DD HH:MM:SS +ZZZZ'"),
        (_hr(_z("2025-03-01T06:20:00Z"), 1, bpm="fast"), 'value="fast"', "value 'fast' is not a number"),
        (_workout_xml("HKWorkoutActivityTypeRunning", 1e9, 1e9 + 60, 0, 0,
                      routes=_route_file("../../secret.gpx", 1e9, 1e9, 0)), "secret.gpx", "leaves the export"),
    ]):
        d = _make_export(tmp_path / f"c{i}", extra_workout=extra)
        with pytest.raises(InputError) as ei:
            wr.read_apple_health(d)
        m = _one_line_no_traceback(ei.value, f"{d / 'export.xml'}: line ", what)
        line = int(m.split(": line ")[1].split(":")[0])
        assert marker in (d / "export.xml").read_text().splitlines()[line - 1]
    p = tmp_path / "e" / "export.xml"
    p.parent.mkdir()
    p.write_text('<?xml version="1.0"?>\n<!DOCTYPE HealthData [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
                 "<HealthData>&x;</HealthData>\n")
    with pytest.raises(InputError, match=r"export.xml: line 2: entity declaration refused"):
        wr.read_apple_health(p.parent)
    p.write_text(EXPORT_HEAD + "".join(_hr(1e9 + i, 0) for i in range(3)))  # truncated
    with pytest.raises(InputError, match=r"export.xml: line 12, column 0: truncated XML"):
        wr.read_apple_health(p)
    p.write_text('<?xml version="1.0"?>\n<gpx></gpx>\n')
    with pytest.raises(InputError, match=r"line 2: root element <gpx>, not <HealthData>"):
        wr.read_apple_health(p)
    (tmp_path / "f.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(InputError, match=r"f.zip: not a readable zip archive"):
        wr.read_apple_health(tmp_path / "f.zip")
    shutil.rmtree(tmp_path / "e")
    (tmp_path / "e").mkdir()
    with pytest.raises(InputError, match=r"no export.xml in the folder"):
        wr.read_apple_health(tmp_path / "e")


# ---------------------------------------------------------------------------------------------
# FitRec / Endomondo JSON lines
# ---------------------------------------------------------------------------------------------


def _fitrec_obj(i, n=50, sport="run", speed=True, user=7):
    t0 = 1_400_000_000 + 10_000 * i
    t, lat, lon, alt = _line(t0, n, dt=5.0, v=3.6)
    obj = {"altitude": [round(float(a), 3) for a in alt], "gender": "male",
           "heart_rate": [120 + k % 30 for k in range(n)], "id": 1000 + i,
           "latitude": [float(x) for x in lat], "longitude": [float(x) for x in lon],
           "sport": sport, "timestamp": [int(x) for x in t], "url": f"https://example.invalid/w/{i}", "userId": user}
    if speed:
        obj["speed"] = [12.96] * n  # km/h = 3.6 m/s
    return obj


def test_fitrec_lines_counts_and_units(tmp_path):
    p = tmp_path / "endomondoHR.json"
    objs = [_fitrec_obj(0), _fitrec_obj(1, speed=False, sport="bike"), _fitrec_obj(2, user=8)]
    p.write_text(repr(objs[0]) + "\n\n" + repr(objs[1]) + "\n" + repr(objs[2]) + "\n")  # a blank line
    counts = {}
    ws = list(wr.iter_fitrec(p, counts=counts))
    assert counts == {"lines": 3, "read": 3, "skipped_malformed": 0}
    a, b, c = ws
    assert (a.workout_id, a.runner, a.sport, c.runner) == ("1000", "7", "run", "8")
    assert np.allclose(a.speed_mps, 3.6, atol=1e-12) and np.isnan(b.speed_mps).all()
    assert a.hr_t_s.tolist() == a.route_t_s.tolist() == objs[0]["timestamp"]
    assert a.hr_bpm.tolist() == objs[0]["heart_rate"] and a.altitude_m.tolist() == objs[0]["altitude"]
    assert (a.start_s, a.end_s) == (objs[0]["timestamp"][0], objs[0]["timestamp"][-1])
    assert a.meta["gender"] == "male" and a.source == f"{p}: line 1" and c.source == f"{p}: line 4"
    res = wr.read_fitrec(p, workers=2)  # two processes: same workouts, same order
    assert res.counts == counts
    _same_workouts(ws, res.workouts)


def test_fitrec_malformed_lines(tmp_path):
    p = tmp_path / "bad.json"
    ok = repr(_fitrec_obj(0))
    short = _fitrec_obj(1)
    short["heart_rate"] = short["heart_rate"][:-1]
    strhr = _fitrec_obj(2)
    strhr["heart_rate"][3] = "140"
    back = _fitrec_obj(3)
    back["timestamp"][10] = back["timestamp"][9] - 1
    bad = [("{'id': 3, 'userId': ", "not a Python-literal or JSON dict"),
           ("__import__('os').system('echo hacked')", "not a Python-literal or JSON dict"),
           (repr(short), "'heart_rate' has 49 values, 'timestamp' has 50"),
           (repr(strhr), "'heart_rate'[3] is str"),
           (repr(back), "'timestamp'[10] goes backwards"),
           ("[1, 2, 3]", "a list, not a dict"),
           ("{'id': 1, 'userId': 2, 'sport': 'run'}", "no 'timestamp' field")]
    for text, what in bad:
        p.write_text(ok + "\n" + ok + "\n" + text + "\n" + ok + "\n")
        with pytest.raises(InputError) as ei:
            list(wr.iter_fitrec(p))
        _one_line_no_traceback(ei.value, f"{p}: line 3: ", what)
    p.write_text("\n".join([ok] + [t for t, _ in bad] + [ok]) + "\n")
    counts = {}
    ws = list(wr.iter_fitrec(p, skip_malformed=True, counts=counts))
    assert counts == {"lines": 9, "read": 2, "skipped_malformed": 7} and len(ws) == 2
    p.write_bytes(ok.encode() + b"\n" + b"{'x': '\xff'}\n")
    with pytest.raises(InputError, match=r"bad.json: line 2: not UTF-8"):
        list(wr.iter_fitrec(p))
    p.write_text(ok + "\n" + ok + "\n")
    with pytest.raises(InputError, match=r"bad.json: line 1: line longer than 100 bytes"):
        list(wr.iter_fitrec(p, max_line_bytes=100))
    counts = {}
    assert list(wr.iter_fitrec(p, max_line_bytes=100, skip_malformed=True, counts=counts)) == []
    assert counts == {"lines": 2, "read": 0, "skipped_malformed": 2}


def test_fitrec_fast_literal_equals_literal_eval():
    """Number lists read by float/int give literal_eval's values, bit for bit (sign of zero too);
    anything unusual goes to literal_eval, whose answer or error stands."""
    head = "{'id': 1, 'userId': 2, 'sport': 'run', "
    variants = [repr(_fitrec_obj(0, n=5)), repr(_fitrec_obj(0, n=5)).replace("[", "[ ").replace(", ", " ,\t"),
                head + "'timestamp': [1, 2, 3,], 'heart_rate': [-0, +1e2, .5], 'altitude': [1., -0.0, 3E-1], "
                "'url': 'https://example.invalid/[1, 2]'}",
                head + "'timestamp': [1, 2, 3], 'heart_rate': [01, 2, 3]}",  # not a Python literal
                head + "'timestamp': [1, 2, 3], 'heart_rate': [1_0, 2, 3], 'speed': [0x10, 1, 2]}",
                head.replace("'id': 1", "'id': (0,)") + "'timestamp': [1, 2, 3]}",  # looks like a placeholder
                head + "'timestamp': [1, 2, 3], 'heart_rate': [True, 2, 3]}",
                head + "'timestamp': [1, 2, 3], 'heart_rate': [[1], 2, 3]}",
                head + "'timestamp': [], }", head + "'timestamp': [1, 2, 3], 'altitude': [1e400, 1, 2]}"]
    for text in variants:
        out = []
        for fast in (True, False):
            try:
                out.append(wr._fitrec_workout(text, fast))
            except wr._Malformed as exc:
                out.append(str(exc))
        a, b = out
        assert type(a) is type(b), (text, a, b)
        if isinstance(a, str):
            assert a == b
            continue
        assert (a.workout_id, a.runner, a.sport, a.meta) == (b.workout_id, b.runner, b.sport, b.meta)
        for f in ("route_t_s", "altitude_m", "speed_mps", "hr_bpm", "lat_deg"):
            x, y = getattr(a, f), getattr(b, f)
            assert x.tobytes() == y.tobytes(), (text, f, x, y)


# ---------------------------------------------------------------------------------------------
# resampling and windows
# ---------------------------------------------------------------------------------------------


def _workout(t, lat, lon, alt, speed=None, hr_t=None, hr=None, sport="running", wid="w"):
    n = len(t)
    hr_t = np.asarray(t if hr_t is None else hr_t, float)
    return Workout(workout_id=wid, runner="r", sport=sport, start_s=float(t[0]), end_s=float(t[-1]),
                   route_t_s=np.asarray(t, float), lat_deg=np.asarray(lat, float), lon_deg=np.asarray(lon, float),
                   altitude_m=np.asarray(alt, float),
                   speed_mps=np.full(n, np.nan) if speed is None else np.asarray(speed, float),
                   hr_t_s=hr_t, hr_bpm=np.full(len(hr_t), 140.0) if hr is None else np.asarray(hr, float))


def test_grid_straight_line_speed_and_grade():
    t, lat, lon, alt = _line(1e9, 1201, dt=1.0, v=3.0, grade=0.05)  # 20 min at 3 m/s, 5 % up
    assert np.allclose(haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:]), 3.0, rtol=1e-9)
    g = to_grid(_workout(t, lat, lon, alt), step_s=10.0)
    assert len(g) == 121 and g.start_s == 1e9 and g.step_s == 10.0
    assert g.speed_mps.dtype == np.float32 and g.meta["gps_speed_steps"] == 121
    assert np.allclose(g.speed_mps, 3.0, atol=1e-6) and np.allclose(g.grade, 0.05, atol=1e-6)
    assert np.all(g.hr_bpm == 140)
    # the device's speed wins where given; a steep climb is clipped to 0.45; standing still: grade 0
    dev = to_grid(_workout(t, lat, lon, 400 + 0.6 * 3.0 * (t - t[0]), speed=np.full(len(t), 2.5)))
    assert np.all(dev.speed_mps == 2.5) and dev.meta["device_speed_steps"] == 121
    assert np.allclose(dev.grade, 0.45)
    still = to_grid(_workout(t, np.full(len(t), LAT0), lon, alt))
    assert np.all(still.speed_mps == 0) and np.all(still.grade == 0)
    # a 10 min grid on 1 s steps (the smoothing windows in steps follow the step)
    g1 = to_grid(_workout(t[:601], lat[:601], lon[:601], alt[:601]), step_s=1.0)
    assert len(g1) == 601 and np.allclose(g1.speed_mps, 3.0, atol=1e-5) and np.allclose(g1.grade, 0.05, atol=1e-5)


def test_grid_gaps_hr_and_route():
    t, lat, lon, alt = _line(0.0, 601, dt=1.0, v=3.0)
    keep = (t < 200) | (t > 290)  # a 91 s hole in the route: steps 21..29 unknown
    hr_t = np.array([0, 30, 60, 90, 210, 240, 300, 600], float)  # 120 s HR gap from 90 to 210
    hr = np.array([100, 110, 120, 130, 140, 150, 160, 170], float)
    w = _workout(t[keep], lat[keep], lon[keep], alt[keep], hr_t=hr_t, hr=hr)
    w.start_s, w.end_s = 0.0, 600.0
    g = to_grid(w, step_s=10.0, max_hr_gap_s=60.0)
    assert len(g) == 61
    nan_hr = np.flatnonzero(np.isnan(g.hr_bpm)).tolist()
    assert nan_hr == list(range(10, 21)) + list(range(31, 60))  # 90<t<210 and 300<t<600 (gap 300 s)
    assert g.hr_bpm[[0, 3, 6, 9, 21, 24, 30, 60]].tolist() == hr.tolist()  # at the samples: their values
    assert g.hr_bpm[8] == pytest.approx(380 / 3) and g.hr_bpm[27] == 155  # linear between them
    assert np.flatnonzero(np.isnan(g.speed_mps)).tolist() == list(range(20, 30))
    assert np.flatnonzero(np.isnan(g.grade)).tolist() == list(range(20, 30))
    assert np.allclose(g.speed_mps[np.isfinite(g.speed_mps)], 3.0, atol=1e-6)
    # interp_gapped itself: exact samples, the gap rule, outside the span
    x = interp_gapped(np.array([0.0, 10.0, 100.0]), np.array([1.0, 2.0, 3.0]), np.array([-1, 0, 5, 10, 50, 100, 101.0]), 60.0)
    assert np.array_equal(x, [np.nan, 1.0, 1.5, 2.0, np.nan, 3.0, np.nan], equal_nan=True)


def test_windows_cut_and_pad():
    t, lat, lon, alt = _line(0.0, 1201, dt=1.0)
    g = to_grid(_workout(t, lat, lon, alt), step_s=10.0)  # T = 121
    ws = windows(g, steps=50, stride=25)
    assert len(ws) == 4 and ws.start_step.tolist() == [0, 25, 50, 75] and ws.speed_mps.shape == (4, 50)
    assert ws.valid[:3].all() and ws.valid[3].tolist() == [True] * 46 + [False] * 4
    assert np.all(ws.speed_mps[3, 46:] == 0) and np.isnan(ws.hr_bpm[3, 46:]).all()
    assert np.array_equal(ws.speed_mps[1], g.speed_mps[25:75])
    short = windows(g, steps=200)
    assert len(short) == 1 and short.valid.sum() == 121 and not short.valid[0, 121:].any()
    assert not np.isnan(short.speed_mps).any() and not np.isnan(short.grade).any()
    exact = windows(g, steps=121, stride=10)
    assert len(exact) == 1 and exact.valid.all()
    g.speed_mps[5] = np.nan  # an unknown step inside the grid is not valid either
    assert windows(g, steps=60).valid.sum() == 120


# ---------------------------------------------------------------------------------------------
# quality filters
# ---------------------------------------------------------------------------------------------


def test_quality_filter_counts():
    t, lat, lon, alt = _line(0.0, 121, dt=10.0)  # 20 min, 121 points

    def w(**kw):
        base = dict(t=t, lat=lat.copy(), lon=lon.copy(), alt=alt.copy())
        speed = kw.pop("speed", np.full(len(t), 3.0))
        base.update(kw)
        return _workout(base["t"], base["lat"], base["lon"], base["alt"], speed=speed,
                        hr=base.get("hr"), sport=base.get("sport", "running"))

    bad_lat = lat.copy()
    bad_lat[7] = np.nan
    zero = lat.copy()
    zero[3] = 0.0
    jump = lat.copy()
    jump[50:] += 0.01  # 1.1 km in 10 s
    nan_alt = alt.copy()
    nan_alt[9] = np.nan
    ws = [w(sport="bike"), w(sport="run"), w(hr=np.full(121, 230.0)), w(hr=np.full(121, 45.0)),
          w(lat=bad_lat), w(lat=zero, lon=np.where(np.arange(121) == 3, 0.0, lon)), w(lat=jump),
          w(lat=np.full(121, LAT0)), w(t=t[:50], lat=lat[:50], lon=lon[:50], alt=alt[:50], speed=np.full(50, 3.0)),
          w(alt=nan_alt), w(speed=np.full(121, np.nan)), w()]
    ws.insert(2, _workout(t, lat, lon, alt, hr_t=np.zeros(1)))
    kept, c = quality_filter(ws)
    assert c == {"read": 13, "sport": 1, "hr_missing": 1, "hr_range": 2, "gps": 4, "length": 1, "nan": 1,
                 "speed": 0, "kept": 3}
    assert [k.sport for k in kept] == ["run", "running", "running"]
    kept, c = quality_filter(ws, require_speed=True)
    assert c["speed"] == 1 and c["kept"] == 2 and c["read"] == sum(c[k] for k in FILTERS) + c["kept"]


def test_gpx_fast_path_equals_strict(tmp_path):
    """Apple's form is read by one regular expression; the result is the strict expat handler's."""
    t, lat, lon, ele = _line(_z("2025-03-01T06:00:00Z"), 50)
    speed = np.where(np.arange(50) % 7 == 3, -1.0, 3.0)
    text = _apple_gpx(t, lat, lon, ele, speed)
    variants = {"apple": text,
                "comment": text.replace("<trkseg>\n", "<trkseg>\n<!-- <trkpt> -->\n"),
                "character reference": text.replace("<ele>400.0000", "<ele>&#52;00.0000", 1),
                "no extensions": text.replace("<extensions>", "<extensions><!---->", 1)}
    for name, doc in variants.items():
        p = tmp_path / "r.gpx"
        p.write_text(doc)
        with open(p, "rb") as fh:
            fast = wr._gpx_points(fh, str(p))
        with open(p, "rb") as fh:
            strict = wr._gpx_points(fh, str(p), strict=True)
        assert fast.path == ("fast" if name == "apple" else "strict") and strict.path == "strict", name
        a, b = fast.pts.arrays(), strict.pts.arrays()
        for k in a:
            assert np.array_equal(a[k], b[k], equal_nan=True), (name, k)
        assert len(a["t"]) == 50
    swapped = "".join(f'<trkpt lat="{lat[i]:.8f}" lon="{lon[i]:.8f}"><ele>1</ele><time>{_iso(t[i])}</time><extensions>'
                      f"<speed>1</speed><course>1</course><hAcc>1</hAcc><vAcc>1</vAcc></extensions></trkpt>\n"
                      for i in range(3))
    p.write_text(GPX_HEAD + swapped + "</trkseg></trk>\n</gpx>\n")
    with open(p, "rb") as fh:
        g = wr._gpx_points(fh, str(p))
    assert g.path == "fast" and np.allclose(g.pts.arrays()["lat"], lat[:3]) and np.allclose(g.pts.arrays()["lon"], LON0)


def test_damaged_files_always_one_line(tmp_path):
    """Every truncation and every single-byte change of a FIT file, and truncations of a GPX and a
    TCX file, end in one InputError line naming the file."""
    good = _fit_file(FIT_RECORDS)
    p = tmp_path / "d.fit"
    for i in range(len(good)):
        for data in (good[:i], good[:i] + bytes([good[i] ^ 0xA5]) + good[i + 1:]):
            p.write_bytes(data)
            with pytest.raises(InputError) as ei:
                wr.read_fit(p)
            _one_line_no_traceback(ei.value, str(p))
    t, lat, lon, ele = _line(0.0, 6)
    docs = {"d.gpx": _apple_gpx(t, lat, lon, ele).encode(), "d.tcx": TCX.replace("VALUE", "1").encode()}
    for name, doc in docs.items():
        q = tmp_path / name
        for i in range(0, len(doc) - 1, 7):
            q.write_bytes(doc[:i])
            with pytest.raises(InputError) as ei:
                wr.read_workout_file(q)
            _one_line_no_traceback(ei.value, str(q))
