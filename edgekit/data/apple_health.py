"""Apple Health ``export.xml`` reader: streaming, constant memory, no entity expansion.

Beats come from the ``InstantaneousBeatsPerMinute`` elements inside the
``HeartRateVariabilityMetadataList`` of ``HKQuantityTypeIdentifierHeartRateVariabilitySDNN``
records. Each ``time`` is a locale-formatted time of day (``11:58:40.71 PM``, ``23:58:40.71``,
``23:58:40,71``, ...) anchored to the record's ``startDate`` (which carries the UTC offset); the
first beat is placed within +-12 h of the start, each later beat at or after the previous one,
crossing midnight when the time of day wraps.

RR_j = t_j - t_{j-1} (ms) for consecutive beats of a record. A beat whose interval is more than
1.5x the interval implied by its own ``bpm`` (60000 / bpm) follows a gap (dropped beats): it starts
a new segment and its interval is not emitted. Each record is its own segment.

Safety: the export carries an internal DTD. The parser refuses any entity declaration (so nothing
is ever expanded) and never reads external entities or DTDs. The file is fed in fixed-size chunks;
memory does not grow with the file (only with the number of HRV beats kept).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from xml.parsers import expat

import numpy as np

from edgekit.data.rr import RRTable
from edgekit.errors import InputError

HRV_TYPE = "HKQuantityTypeIdentifierHeartRateVariabilitySDNN"
CHUNK = 1 << 20
GAP_FACTOR = 1.5

_TIME_RE = re.compile(
    r"^\s*(\d{1,2})[:.](\d{2})[:.](\d{2})(?:[.,](\d+))?\s*([AaPp]\.?\s?[Mm]\.?)?\s*$"
)


def parse_time_of_day(text: str) -> float:
    """Seconds since midnight from a locale-formatted time of day; ValueError when unreadable."""
    m = _TIME_RE.match(text)
    if not m:
        raise ValueError(text)
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3))
    frac = float("0." + m.group(4)) if m.group(4) else 0.0
    ampm = m.group(5)
    if ampm:
        pm = ampm[0] in "Pp"
        if not 1 <= h <= 12:
            raise ValueError(text)
        h = (h % 12) + (12 if pm else 0)
    if h > 23 or mi > 59 or s > 60:
        raise ValueError(text)
    return h * 3600 + mi * 60 + s + frac


def parse_apple_date(text: str) -> tuple[float, float]:
    """``2023-01-01 23:58:10 +0100`` -> (epoch seconds, seconds since local midnight)."""
    dt = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S %z")
    return dt.timestamp(), dt.hour * 3600 + dt.minute * 60 + dt.second


class _Handler:
    def __init__(self, path: Path, parser):
        self.path = path
        self.p = parser
        self.in_hrv = False
        self.rec_epoch = 0.0
        self.rec_tod = 0.0
        self.prev_t: float | None = None
        self.seg = -1
        self.subject = path.stem
        self.seg_l: list[int] = []
        self.t_l: list[float] = []
        self.rr_l: list[float] = []
        self.n_records = 0
        self.n_beats = 0

    def _err(self, msg: str) -> InputError:
        return InputError(f"{self.path}: line {self.p.CurrentLineNumber}: {msg}")

    def start(self, name, attrs):
        if name == "Record":
            if attrs.get("type") == HRV_TYPE:
                sd = attrs.get("startDate")
                if sd is None:
                    raise self._err("HRV <Record> without startDate")
                try:
                    self.rec_epoch, self.rec_tod = parse_apple_date(sd)
                except ValueError:
                    raise self._err(f"<Record> startDate {sd[:40]!r} is not 'YYYY-MM-DD HH:MM:SS +ZZZZ'") from None
                self.in_hrv = True
                self.prev_t = None
                self.seg += 1
                self.n_records += 1
        elif name == "InstantaneousBeatsPerMinute" and self.in_hrv:
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
                raise self._err(f"<InstantaneousBeatsPerMinute> bpm {bpm_s!r} is absurd")
            self.n_beats += 1
            if self.prev_t is None:
                d = tod - self.rec_tod
                if d < -43200:
                    d += 86400
                elif d > 43200:
                    d -= 86400
                self.prev_t = self.rec_epoch + d
                return
            prev_tod = (self.prev_t - self.rec_epoch + self.rec_tod) % 86400
            d = tod - prev_tod
            if d < -43200:
                d += 86400  # crossed midnight
            if d < 0:
                raise self._err(f"beat time {tt!r} goes backwards")
            t = self.prev_t + d
            rr = d * 1000.0
            self.prev_t = t
            if rr <= 0 or rr > GAP_FACTOR * 60000.0 / bpm:
                self.seg += 1  # gap: dropped beats; next intervals start a new segment
                return
            self.seg_l.append(self.seg)
            self.t_l.append(t)
            self.rr_l.append(rr)

    def end(self, name):
        if name == "Record" and self.in_hrv:
            self.in_hrv = False


def _refuse_entity(*_args):
    raise _EntityRefused()


class _EntityRefused(Exception):
    pass


def read_export(path: str | Path, chunk: int = CHUNK) -> RRTable:
    """Stream-parse an Apple Health export. Raises InputError on malformed/truncated/hostile XML."""
    path = Path(path)
    p = expat.ParserCreate()
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    p.buffer_text = True
    h = _Handler(path, p)
    p.StartElementHandler = h.start
    p.EndElementHandler = h.end
    p.EntityDeclHandler = _refuse_entity
    p.ExternalEntityRefHandler = lambda *a: 0  # never fetch
    seen_root = False
    try:
        with open(path, "rb") as fh:
            first = True
            while True:
                block = fh.read(chunk)
                if first:
                    if not block.strip():
                        raise InputError(f"{path}: empty file")
                    if not block.lstrip().startswith(b"<"):
                        raise InputError(f"{path}: line 1: not XML (an Apple Health export.xml starts with '<?xml')")
                    first = False
                if not block:
                    p.Parse(b"", True)
                    break
                p.Parse(block, False)
                if not seen_root and b"<HealthData" in block:
                    seen_root = True
    except _EntityRefused:
        raise InputError(f"{path}: line {p.CurrentLineNumber}: entity declaration refused "
                         f"(edgekit never expands XML entities)") from None
    except expat.ExpatError as exc:
        what = "truncated XML" if "no element found" in str(exc) or "unclosed token" in str(exc) else "malformed XML"
        raise InputError(f"{path}: line {exc.lineno}, column {exc.offset}: {what} "
                         f"({expat.ErrorString(exc.code)})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    if not seen_root:
        raise InputError(f"{path}: no <HealthData> element; not an Apple Health export")
    n = len(h.rr_l)
    seg = np.array(h.seg_l, np.int64)
    table = RRTable(np.full(n, h.subject), seg, np.array(h.t_l), np.array(h.rr_l), np.zeros(n, np.int64),
                    meta={"records": h.n_records, "beats": h.n_beats})
    return table
