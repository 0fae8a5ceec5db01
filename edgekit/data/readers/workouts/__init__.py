"""Workout readers: Apple Health export, GPX, TCX, FIT and FitRec JSON lines -> :class:`Workout`.

Every reader streams its input (fixed-size chunks or one line at a time) and raises
:class:`edgekit.core.errors.InputError` with one line naming the file and the place on bad input
(``<file>: line N: ...`` for XML and JSON lines, ``<file>: byte N: ...`` or the message number for
FIT). Times become UTC epoch seconds; absent values are NaN. The rules of each format are in
docs/data.md, section "Workouts".

Parsers. XML (the export, GPX, TCX) goes through the standard library's expat, the same way as
the HRV reader (:mod:`edgekit.data.readers.apple_health`): entity declarations are refused, external
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

Modules: :mod:`~edgekit.data.readers.workouts.common` (shared records and helpers), one per format —
:mod:`~edgekit.data.readers.workouts.apple_export`, :mod:`~edgekit.data.readers.workouts.gpx`,
:mod:`~edgekit.data.readers.workouts.tcx`, :mod:`~edgekit.data.readers.workouts.fit`,
:mod:`~edgekit.data.readers.workouts.fitrec` — and here :func:`read_workout_file`, which picks the
GPX, TCX or FIT reader by the file's extension. The names other code uses are re-exported here.
"""

from __future__ import annotations

from pathlib import Path

from edgekit.data.readers.workouts.apple_export import (
    APPLE_ACTIVITY_PREFIX,
    APPLE_HR,
    APPLE_RUNNING,
    read_apple_health,
)
from edgekit.data.readers.workouts.common import CHUNK, WorkoutSet
from edgekit.data.readers.workouts.fit import SEMICIRCLE_DEG, read_fit
from edgekit.data.readers.workouts.fitrec import FITREC_SERIES, KMH, MAX_LINE_BYTES, iter_fitrec, read_fitrec
from edgekit.data.readers.workouts.gpx import FAST_GPX_MAX_BYTES, read_gpx
from edgekit.data.readers.workouts.tcx import read_tcx
from edgekit.data.workouts import Workout
from edgekit.core.errors import InputError

# private helpers the tests call through this package (tests/test_data_workouts.py)
from edgekit.data.readers.workouts.common import _parse_xml  # noqa: F401
from edgekit.data.readers.workouts.fitrec import _fitrec_workout, _Malformed  # noqa: F401
from edgekit.data.readers.workouts.gpx import _gpx_points  # noqa: F401

__all__ = [
    "APPLE_ACTIVITY_PREFIX", "APPLE_HR", "APPLE_RUNNING", "CHUNK", "FAST_GPX_MAX_BYTES", "FITREC_SERIES", "KMH",
    "MAX_LINE_BYTES", "SEMICIRCLE_DEG", "WorkoutSet", "iter_fitrec", "read_apple_health", "read_fit",
    "read_fitrec", "read_gpx", "read_tcx", "read_workout_file",
]


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
