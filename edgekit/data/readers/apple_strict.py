"""Apple Health ``export.xml``, the strict path: one expat parser with per-element handlers, which owns
every error message (``<file>: line N: ...``); :mod:`.apple_health` hands a file to it whenever its fast
scan is not sure.
"""

from __future__ import annotations

from pathlib import Path
from xml.parsers import expat

import numpy as np

from edgekit.data.rr import RRTable
from edgekit.core.errors import InputError
from edgekit.data.readers.apple_records import (HRV_TYPE, _EntityRefused, _Rows, _assemble, _entity_error,
                                                _open_checked, parse_apple_date, parse_time_of_day)


class _Handler:
    def __init__(self, path: Path, parser, rows: _Rows):
        self.path = path
        self.p = parser
        self.rows = rows
        self.in_hrv = False
        self.root: str | None = None
        self.rec_epoch = 0.0
        self.rec_tod = 0.0
        self.tod: list[float] = []
        self.bpm: list[float] = []
        self.line: list[int] = []

    def _err(self, msg: str) -> InputError:
        return InputError(f"{self.path}: line {self.p.CurrentLineNumber}: {msg}")

    def start(self, name, attrs):
        if name == "InstantaneousBeatsPerMinute":
            if self.in_hrv:
                self.beat(attrs)
        elif name == "Record":
            if attrs.get("type") == HRV_TYPE:
                if self.in_hrv:  # a Record nested in an HRV record: the outer one ends here
                    self.finish()
                sd = attrs.get("startDate")
                if sd is None:
                    raise self._err("HRV <Record> without startDate")
                try:
                    self.rec_epoch, self.rec_tod = parse_apple_date(sd)
                except ValueError:
                    raise self._err(f"<Record> startDate {sd[:40]!r} is not 'YYYY-MM-DD HH:MM:SS +ZZZZ'") from None
                self.in_hrv = True
                self.rows.n_records += 1
        elif self.root is None:
            self.root = name

    def beat(self, attrs):
        tt = attrs.get("time")
        bpm_s = attrs.get("bpm")
        if tt is None or bpm_s is None:
            raise self._err("<InstantaneousBeatsPerMinute> needs 'bpm' and 'time'")
        try:
            tod = parse_time_of_day(tt)
        except ValueError:
            raise self._err(f"<InstantaneousBeatsPerMinute> time {tt[:30]!r} is not a time of day") from None
        try:
            bpm = float(bpm_s)
        except ValueError:
            raise self._err(f"<InstantaneousBeatsPerMinute> bpm {bpm_s[:20]!r} is not a number") from None
        if not (bpm > 0 and bpm < 400):
            raise self._err(f"<InstantaneousBeatsPerMinute> bpm {bpm_s[:20]!r} is absurd")
        self.tod.append(tod)
        self.bpm.append(bpm)
        self.line.append(self.p.CurrentLineNumber)

    def end(self, name):
        if name == "Record" and self.in_hrv:
            self.finish()

    def finish(self):
        self.in_hrv = False
        rows = self.rows
        rows.n_beats += len(self.tod)
        seg, t, rr, rows.counter, bad = _assemble(
            np.array(self.tod, np.float64), np.array(self.bpm, np.float64), np.zeros(1, np.int64),
            np.array([self.rec_epoch]), np.array([self.rec_tod]), rows.counter)
        if bad >= 0:
            raise InputError(f"{self.path}: line {self.line[bad]}: beat time goes backwards "
                             f"(earlier than the previous beat of its record)")
        rows.add(seg, t, rr)
        self.tod, self.bpm, self.line = [], [], []


def _read_strict(path: Path, chunk: int, sink=None) -> RRTable:
    p = expat.ParserCreate()
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    p.buffer_text = True
    rows = _Rows(sink)
    h = _Handler(path, p, rows)
    p.StartElementHandler = h.start
    p.EndElementHandler = h.end
    p.EntityDeclHandler = _refuse_entity
    p.ExternalEntityRefHandler = lambda *a: 0  # never fetch
    try:
        with _open_checked(path) as fh:
            while True:
                block = fh.read(chunk)
                if not block:
                    p.Parse(b"", True)
                    break
                p.Parse(block, False)
    except _EntityRefused:
        raise _entity_error(path, p) from None
    except expat.ExpatError as exc:
        raise _expat_error(path, exc) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    if h.root != "HealthData":
        raise InputError(f"{path}: no <HealthData> element; not an Apple Health export")
    return rows.table(path.stem)


def _refuse_entity(*_args):
    raise _EntityRefused()


def _expat_error(path: Path, exc: expat.ExpatError) -> InputError:
    msg = str(exc)
    what = "truncated XML" if "no element found" in msg or "unclosed token" in msg else "malformed XML"
    return InputError(f"{path}: line {exc.lineno}, column {exc.offset}: {what} ({expat.ErrorString(exc.code)})")
