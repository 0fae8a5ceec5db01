#!/usr/bin/env python3
"""Cut the real runs of ``realdata/runs/`` from their public sources (how the set was made).

    python scripts/cut_runs.py SOURCE_DIR [--out realdata/runs]

``SOURCE_DIR`` holds the source files at the paths of :data:`RUNS` (``<owner>+<repo>/<path in the
repository>``, as the repositories of ``realdata/runs/manifest.toml`` hold them at the commits named
there). FIT files are copied byte for byte. TCX and GPX files are rewritten compactly: one track
point per line, only what edgekit reads (time, position, altitude, heart rate, device speed, the
activity's sport and id); every value is the source's text, unchanged. The cut is checked: the
workout grid edgekit resamples from the cut file (``edgekit.data.signal.workout_grid.to_grid``: speed,
grade, heart rate per 10 s step) equals the grid of the source file exactly, or the script fails.

Prints each file's SHA-256 for the manifest.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from pathlib import Path
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

# (file under --out, source path under SOURCE_DIR)
RUNS = (
    ("runpandas-a/2020-12-02.tcx", "corriporai+runpandas/runpandas/tests/io/data/samples/2020-12-02T06_08_29-300_Running.tcx"),
    ("runpandas-a/2020-12-20.tcx", "corriporai+runpandas/runpandas/tests/io/data/samples/2020-12-20T05_50_47-300_Running.tcx"),
    ("runpandas-a/2021-01-10.tcx", "corriporai+runpandas/runpandas/tests/io/data/tcx/stopped_example.tcx"),
    ("runpandas-b/2020-12-04.gpx", "corriporai+runpandas/examples/session/d8226f17-1f0b-4d7b-ace3-fbb6cf9d696b.gpx"),
    ("runpandas-b/2020-12-06.gpx", "corriporai+runpandas/examples/session/c74b49c3-6505-4874-9ef1-9f9cbd149896.gpx"),
    ("runpandas-b/2020-12-02.gpx", "corriporai+runpandas/examples/session/36bb9510-27b3-4c13-9d68-55b59af24ec3.gpx"),
    ("runpandas-b/2021-06-13.gpx", "corriporai+runpandas/examples/session/4383adb2-5170-467c-85b8-2d983c415e5b.gpx"),
    ("runpandas-c/2019-09-14.fit", "corriporai+runpandas/runpandas/tests/io/data/fit/run.fit"),
    ("tcxparser/2012-12-26.tcx", "vkurup+python-tcxparser/tests/files/test.tcx"),
    ("tormoder/2015-08-15.fit", "tormoder+fit/testdata/me/activity-small-fenix2-run.fit"),
    ("tormoder-issue/2019-05-18.fit", "tormoder+fit/testdata/misc/mornindew-broken.fit"),
    ("fitparse-stryd/2017-01-17.fit", "dtcooper+python-fitparse/tests/files/developer-types-sample.fit"),
    ("fitfileparser/2018-10-20.fit", "roznet+FitFileParser/Tests/FitFileParserSwiftTests/samples/running.fit"),
    ("sweatpy/2019-01-29.tcx", "GoldenCheetah+sweatpy/sweat/examples/data/3173437224.tcx"),
    ("activityio/2017-01-03.tcx", "jmackie+activityio/activityio/tcx/test/files/c2eb1b_2.tcx"),
)

TCX_NS = "http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"
TPX_NS = "http://www.garmin.com/xmlschemas/ActivityExtension/v2"
GPX_NS = "http://www.topografix.com/GPX/1/1"
TPE_NS = "http://www.garmin.com/xmlschemas/TrackPointExtension/v1"


def _local(name: str) -> str:
    return name.rpartition(":")[2]


class _Collect:
    """Leaf texts under each track point, by local element path (expat, no namespace processing)."""

    def __init__(self, point: str, leaves: dict[tuple[str, ...], str]):
        self.point, self.leaves = point, leaves
        self.stack: list[str] = []
        self.points: list[dict[str, str]] = []
        self.current: dict[str, str] | None = None
        self.text: list[str] = []
        self.attrs: list[tuple[tuple[str, ...], dict[str, str]]] = []

    def start(self, name, attrs):
        local = _local(name)
        self.stack.append(local)
        self.text = []
        if local == self.point:
            self.current = {k: v for k, v in attrs.items() if k in ("lat", "lon")}
        else:
            self.attrs.append((tuple(self.stack), dict(attrs)))

    def data(self, text):
        self.text.append(text)

    def end(self, name):
        path = tuple(self.stack)
        self.stack.pop()
        if self.current is not None:
            if path[-1] == self.point:
                self.points.append(self.current)
                self.current = None
                return
            inner = path[path.index(self.point) + 1:]
            for suffix, key in self.leaves.items():
                if inner[-len(suffix):] == suffix:
                    self.current[key] = "".join(self.text).strip()
        elif path[-1] in ("Id", "type", "name"):
            self.attrs.append((path, {"#text": "".join(self.text).strip()}))


def _parse(path: Path, handler) -> None:
    p = expat.ParserCreate()
    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = handler.start, handler.end, handler.data
    p.ParseFile(open(path, "rb"))


def cut_tcx(src: Path) -> str:
    leaves = {("Time",): "t", ("LatitudeDegrees",): "lat", ("LongitudeDegrees",): "lon",
              ("AltitudeMeters",): "alt", ("HeartRateBpm", "Value"): "hr", ("TPX", "Speed"): "speed",
              ("DistanceMeters",): "dist"}
    h = _Collect("Trackpoint", leaves)
    _parse(src, h)
    sport = next(a["Sport"] for p, a in h.attrs if p[-1] == "Activity")
    ident = next((a["#text"] for p, a in h.attrs if p[-1] == "Id" and "Activity" in p and "#text" in a), "")
    out = [f'<?xml version="1.0" encoding="UTF-8"?>',
           f'<TrainingCenterDatabase xmlns="{TCX_NS}" xmlns:x="{TPX_NS}"><Activities><Activity Sport={quoteattr(sport)}>'
           f"<Id>{escape(ident)}</Id><Lap StartTime={quoteattr(ident)}><Track>"]
    for pt in h.points:
        s = f"<Trackpoint><Time>{pt['t']}</Time>"
        if "lat" in pt:
            s += f"<Position><LatitudeDegrees>{pt['lat']}</LatitudeDegrees><LongitudeDegrees>{pt['lon']}</LongitudeDegrees></Position>"
        if "alt" in pt:
            s += f"<AltitudeMeters>{pt['alt']}</AltitudeMeters>"
        if "dist" in pt and not ({"lat", "alt", "speed"} & set(pt)):
            s += f"<DistanceMeters>{pt['dist']}</DistanceMeters>"  # a point with no other route value
        if "hr" in pt:
            s += f"<HeartRateBpm><Value>{pt['hr']}</Value></HeartRateBpm>"
        if "speed" in pt:
            s += f"<Extensions><x:TPX><x:Speed>{pt['speed']}</x:Speed></x:TPX></Extensions>"
        out.append(s + "</Trackpoint>")
    out.append("</Track></Lap></Activity></Activities></TrainingCenterDatabase>")
    return "\n".join(out) + "\n"


def cut_gpx(src: Path) -> str:
    leaves = {("time",): "t", ("ele",): "alt", ("hr",): "hr", ("heartrate",): "hr", ("speed",): "speed"}
    h = _Collect("trkpt", leaves)
    _parse(src, h)
    kind = next((a["#text"] for p, a in h.attrs if p[-1] == "type" and "trk" in p and "#text" in a), None)
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<gpx xmlns="{GPX_NS}" xmlns:h="{TPE_NS}" version="1.1" creator="edgekit scripts/cut_runs.py"><trk>'
           + (f"<type>{escape(kind)}</type>" if kind else "") + "<trkseg>"]
    for pt in h.points:
        s = f'<trkpt lat="{pt["lat"]}" lon="{pt["lon"]}">'
        if "alt" in pt:
            s += f"<ele>{pt['alt']}</ele>"
        s += f"<time>{pt['t']}</time>"
        ext = ""
        if "speed" in pt:
            ext += f"<h:speed>{pt['speed']}</h:speed>"
        if "hr" in pt:
            ext += f"<h:TrackPointExtension><h:hr>{pt['hr']}</h:hr></h:TrackPointExtension>"
        if ext:
            s += f"<extensions>{ext}</extensions>"
        out.append(s + "</trkpt>")
    out.append("</trkseg></trk></gpx>")
    return "\n".join(out) + "\n"


def _same_grid(a: Path, b: Path) -> None:
    import numpy as np

    from edgekit.data.signal.workout_grid import to_grid
    from edgekit.data.readers.workouts import read_workout_file

    wa, wb = read_workout_file(a), read_workout_file(b)
    if len(wa) != len(wb):
        raise SystemExit(f"{b}: {len(wb)} workouts, the source {len(wa)}")
    for x, y in zip(wa, wb):
        gx, gy = to_grid(x), to_grid(y)
        if x.sport != y.sport or gx.start_s != gy.start_s:
            raise SystemExit(f"{b}: sport or start differs from the source")
        for k in ("speed_mps", "grade", "hr_bpm"):
            if not np.array_equal(getattr(gx, k), getattr(gy, k), equal_nan=True):
                raise SystemExit(f"{b}: grid {k} differs from the source")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source_dir", type=Path)
    ap.add_argument("--out", type=Path, default=Path("realdata/runs"))
    args = ap.parse_args(argv)
    for target, source in RUNS:
        src, dst = args.source_dir / source, args.out / target
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.suffix.lower() == ".fit":
            shutil.copyfile(src, dst)
        else:
            text = cut_tcx(src) if src.suffix.lower() == ".tcx" else cut_gpx(src)
            dst.write_text(text, encoding="utf-8")
            _same_grid(src, dst)
        digest = hashlib.sha256(dst.read_bytes()).hexdigest()
        print(f"{target}  {src.stat().st_size:>8} -> {dst.stat().st_size:>8} bytes  sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
