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

Two paths produce bit-identical tables:

- **fast** (default): expat checks well-formedness of every byte with no Python callbacks (the
  prolog/DTD by one parser, the body by a second one that never sees the DTD), while a byte-level
  scan picks out the HRV records and converts their beats a chunk at a time with NumPy
  (:mod:`edgekit.data.readers.apple_beats`; a regular expression per record for forms it does not take). The scan
  accepts only the plain form exports are written in; anything else it is not sure about (a
  comment, CDATA or processing instruction in the body, a character reference, another encoding,
  DTD attribute defaults, a beat or tag it cannot read strictly, any XML or value error) makes it
  hand the whole file to the strict path.
- **strict**: one expat parser with per-element handlers; it owns every error message
  (``<file>: line N: ...``).

Both share :func:`~.apple_records._assemble` (anchoring, midnight, gaps, segments), so the numbers
cannot differ. The strict path is :mod:`.apple_strict`, what both share :mod:`.apple_records`.

Safety: the export carries an internal DTD. Any entity declaration is refused (so nothing is ever
expanded), parameter entities and external DTDs/entities are never read. The file is fed in fixed
1 MiB chunks; memory does not grow with the file, only with the number of HRV intervals kept.
"""

from __future__ import annotations

import re
from pathlib import Path
from xml.parsers import expat
import subprocess
import sys

import numpy as np

from edgekit.data.readers.apple_beats import PLAIN_BEAT_RE as _BEAT_RE_PLAIN
from edgekit.data.readers.apple_beats import POW10 as _POW10  # exact, as 10 ** len(frac) in _tod_seconds
from edgekit.data.readers.apple_beats import beat_values, plain_beats
from edgekit.data.rr import RRTable
from edgekit.data.readers.apple_records import (HRV_TYPE, _EntityRefused, _Fallback, _RootFound, _Rows, _assemble,
                                                _entity_error, _open_checked, _record_start)
from edgekit.data.readers.apple_strict import _read_strict, _refuse_entity

CHUNK = 1 << 20
MAX_RECORD_BYTES = 8 << 20  # a single HRV record larger than this is left to the strict path


# ---------------------------------------------------------------------------------------------
# fast path: expat without callbacks + byte scan of the HRV records
# ---------------------------------------------------------------------------------------------

_HRV_B = HRV_TYPE.encode()
_W = rb"(?: |\xc2\xa0|\xe2\x80\xaf)"  # space, no-break space, narrow no-break space (iOS 17 'PM')
_BEAT_RE = re.compile(
    rb'<InstantaneousBeatsPerMinute[ \t\r\n]+bpm="(\d{1,3}(?:\.\d{1,6})?)"[ \t\r\n]+time="' + _W
    + rb"*(\d{1,2})[:.](\d\d)[:.](\d\d)(?:[.,](\d{1,15}))?" + _W + rb"*(?:([AaPp])\.?" + _W
    + rb"?[Mm]\.?)?" + _W + rb'*"[ \t\r\n]*/>')
_NAME = rb"[A-Za-z_:][-A-Za-z0-9_.:]*"
_RECORD_TAG = re.compile(rb"<Record((?:[ \t\r\n]+" + _NAME + rb'[ \t\r\n]*=[ \t\r\n]*"[^"<]*")*)[ \t\r\n]*(/?)>')
_ATTR = re.compile(rb"(" + _NAME + rb')[ \t\r\n]*=[ \t\r\n]*"([^"<]*)"')
_DATE_B = re.compile(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}")
_OK_ENCODINGS = {"utf-8", "utf8", "us-ascii", "ascii"}


def _beats_from_matches(m: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
    """(tod seconds, bpm) from _BEAT_RE groups; _Fallback where the strict path would object."""
    a = np.array(m, dtype="S15")
    bpm = a[:, 0].astype(np.float64)
    # h (1-2 digits), mi, s (2 digits) from the ASCII bytes: much cheaper than parsing strings
    u = a[:, 1:4].view(np.uint8).reshape(len(a), 3, 15)[:, :, :2].astype(np.int64)
    two = u[:, :, 1] != 0
    val = np.where(two, (u[:, :, 0] - 48) * 10 + (u[:, :, 1] - 48), u[:, :, 0] - 48)
    h, mi, s = val[:, 0], val[:, 1], val[:, 2]
    fr = a[:, 4]
    ap = a[:, 5]
    flen = np.strings.str_len(fr)
    has_fr = flen > 0
    frac = np.zeros(len(a))
    if has_fr.any():
        fv = np.where(has_fr, fr, b"0").astype(np.int64).astype(np.float64)
        frac = np.where(has_fr, fv / _POW10[flen], 0.0)
    values = beat_values(bpm, h, mi, s, frac, ap != b"", (ap == b"P") | (ap == b"p"))
    if values is None:
        raise _Fallback
    return values


def _regex_beats(buf: bytes, lo: list[int], hi: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tod s, bpm, beats per body) by the regular expressions (every form the scan accepts, one
    body at a time); _Fallback when a beat element of a body is not one of them."""
    matches: list[tuple] = []
    counts = np.zeros(len(lo), np.int64)
    for r, (a, b) in enumerate(zip(lo, hi)):
        n_el = buf.count(b"<InstantaneousBeatsPerMinute", a, b)
        beats = _BEAT_RE_PLAIN.findall(buf, a, b)
        if len(beats) != n_el:
            beats = _BEAT_RE.findall(buf, a, b)
            if len(beats) != n_el:
                raise _Fallback
        counts[r] = n_el
        matches += beats
    if not matches:
        return np.zeros(0), np.zeros(0), counts
    return (*_beats_from_matches(matches), counts)


def _read_fast(path: Path, chunk: int, sink=None, *, body_check: bool = True, scan: bool = True) -> RRTable:
    """The fast path. ``body_check=False``: the body's well-formedness is checked elsewhere (by
    :func:`_body_checker`); ``scan=False``: only check well-formedness (the checker's side)."""
    rows = _Rows(sink)
    pa = expat.ParserCreate()  # prolog + DTD, stopped at the root element
    pa.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    pa.EntityDeclHandler = _refuse_entity
    pa.ExternalEntityRefHandler = lambda *a: 0
    root: list = []

    def xmldecl(_version, encoding, _standalone):
        if encoding is not None and encoding.lower() not in _OK_ENCODINGS:
            raise _Fallback

    def attlist(_elname, _attname, type_, default, _required):
        if type_ != "CDATA" or default is not None:  # defaults/normalisation the scan cannot see
            raise _Fallback

    def first_start(name, _attrs):
        root.append((name, pa.CurrentByteIndex))
        raise _RootFound

    pa.XmlDeclHandler = xmldecl
    pa.AttlistDeclHandler = attlist
    pa.StartElementHandler = first_start
    pb = expat.ParserCreate()  # the body, without the DTD (expat at full speed, no callbacks)
    pb.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    pb.EntityDeclHandler = _refuse_entity
    pb.ExternalEntityRefHandler = lambda *a: 0

    buf = b""  # unscanned bytes: from a tag start ('<') on
    base = 0  # file offset of buf[0]
    body0 = -1  # file offset of the root start tag
    try:
        with _open_checked(path) as fh:
            while True:
                block = fh.read(chunk)
                final = not block
                if body0 < 0:
                    if final:
                        pa.Parse(b"", True)
                        raise _Fallback  # no element at all: the strict path says why
                    try:
                        pa.Parse(block, False)
                        base += len(block)
                        continue
                    except _RootFound:
                        name, body0 = root[0]
                        if name != "HealthData":
                            raise _Fallback from None
                        rel = body0 - base
                        block = block[rel:]
                        base = body0
                        pb.Parse(b'<?xml version="1.0" encoding="UTF-8"?>', False)
                if not body_check:
                    pass
                elif final:
                    pb.Parse(b"", True)
                else:
                    pb.Parse(block, False)
                if not scan:
                    if final:
                        break
                    continue
                buf = buf + block if buf else block
                if _has_pair(buf, b"<!") or _has_pair(buf, b"<?") or _has_pair(buf, b"&#"):
                    raise _Fallback  # comment/CDATA/PI/DOCTYPE or character reference in the body
                keep = _scan(buf, rows, final)
                if len(buf) - keep > MAX_RECORD_BYTES:
                    raise _Fallback
                base += keep
                buf = buf[keep:]
                if final:
                    break
    except _EntityRefused:
        raise _entity_error(path, pa) from None
    except (_Fallback, expat.ExpatError):
        raise _Fallback from None
    return rows.table(path.stem)


def _has_pair(buf: bytes, pair: bytes) -> bool:
    """``pair in buf``, searching for its (rare) second byte with memchr: a two-byte ``in`` walks
    the buffer byte by byte, and '<' is everywhere."""
    second = pair[1:]
    i = buf.find(second, 1)
    while i >= 0:
        if buf[i - 1] == pair[0]:
            return True
        i = buf.find(second, i + 1)
    return False


def _scan(buf: bytes, rows: _Rows, final: bool) -> int:
    """Process the complete HRV records of ``buf``; return how many leading bytes are done."""
    lo: list[int] = []  # each HRV record's body: buf[lo[r]:hi[r]]
    hi: list[int] = []
    epochs: list[float] = []
    rtods: list[float] = []
    pos = 0
    done = None
    while True:
        i = buf.find(_HRV_B, pos)
        if i < 0:
            break
        lt = buf.rfind(b"<", pos, i)
        if lt < 0:
            raise _Fallback
        m = _RECORD_TAG.match(buf, lt)
        if m is None or m.end() <= i:
            if buf.find(b">", lt, i) < 0 and not final and buf.find(b">", i) < 0:
                done = lt  # the tag goes on in the next chunk
                break
            raise _Fallback  # the type string somewhere else than an HRV <Record type=...>
        attrs = dict(_ATTR.findall(m.group(1)))
        if attrs.get(b"type") != _HRV_B:
            raise _Fallback
        sd = attrs.get(b"startDate")
        if sd is None or not _DATE_B.fullmatch(sd):
            raise _Fallback
        if m.group(2):  # <Record .../>: an empty record
            body_end = end = m.end()
        else:
            body_end = buf.find(b"</Record", m.end())
            if body_end < 0:
                if final:
                    raise _Fallback
                done = lt
                break
            end = body_end + 8
            if buf.find(b"<Record", m.end(), body_end) >= 0:
                raise _Fallback
        try:
            epoch, rtod = _record_start(sd)
        except ValueError:
            raise _Fallback from None
        lo.append(m.end())
        hi.append(body_end)
        epochs.append(epoch)
        rtods.append(rtod)
        pos = end
    if done is None:  # carry the last tag start (a tag, '<!' or '&#' may straddle the chunks)
        last = buf.rfind(b"<", pos)
        done = len(buf) if final else last if last >= 0 else max(pos, len(buf) - 1)
    if lo:
        beats = plain_beats(buf, np.array(lo, np.int64), np.array(hi, np.int64))
        tod, bpm, counts = beats if beats is not None else _regex_beats(buf, lo, hi)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        seg, t, rr, counter, bad = _assemble(tod, bpm, starts, np.array(epochs), np.array(rtods), rows.counter)
        if bad >= 0:
            raise _Fallback
        rows.counter = counter
        rows.n_records += len(lo)
        rows.n_beats += len(tod)
        rows.add(seg, t, rr)
    return done


def read_export(path: str | Path, chunk: int = CHUNK, *, strict: bool = False) -> RRTable:
    """Stream-parse an Apple Health export. Raises InputError on malformed/truncated/hostile XML.

    ``strict=True`` skips the fast path (the result is the same; tests compare the two).
    ``table.meta``: ``records`` (HRV records), ``beats`` (beats read), ``path`` (``fast``/``strict``).
    """
    path = Path(path)
    if not strict:
        try:
            tab = _read_fast(path, chunk)
            tab.meta["path"] = "fast"
            return tab
        except _Fallback:
            pass
    tab = _read_strict(path, chunk)
    tab.meta["path"] = "strict"
    return tab


PARALLEL_CHECK_BYTES = 64 << 20  # exports at least this large: expat checks the body in a second process


def _body_checker(path: Path, chunk: int):
    """Start a process that runs the fast path's well-formedness check of ``path`` (the expat
    parsers, no scan) while this one scans: on 2+ cores the check costs no wall time. Its exit
    status: 0 = well-formed and fit for the fast path, anything else = not sure."""
    code = ("import sys\nfrom pathlib import Path\nfrom edgekit.data.readers import apple_health as a\n"
            "try:\n    a._read_fast(Path(sys.argv[1]), int(sys.argv[2]), scan=False)\n"
            "except BaseException:\n    sys.exit(3)\n")
    try:
        return subprocess.Popen([sys.executable, "-c", code, str(path), str(chunk)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return None


def _read_fast_parallel(path: Path, chunk: int, sink) -> RRTable:
    """:func:`_read_fast` with the body's expat check in a second process (_Fallback unless both
    sides are sure). The checker is always waited for (or stopped), never left running."""
    checker = _body_checker(path, chunk)
    if checker is None:
        return _read_fast(path, chunk, sink)
    try:
        tab = _read_fast(path, chunk, sink, body_check=False)
        ok = checker.wait() == 0
    finally:
        if checker.poll() is None:
            checker.kill()
            checker.wait()
    if not ok:
        raise _Fallback
    return tab


def stream_export(path: str | Path, sink, restart, chunk: int = CHUNK, *, strict: bool = False) -> dict:
    """Read an export like :func:`read_export` but hand the rows to ``sink(segment, time_s, rr_ms)``
    (NumPy arrays, about one ``chunk`` of the file at a time) instead of keeping them: memory does
    not grow with the export. The rows, their order and their numbers are those of ``read_export``.

    When the fast path gives up part-way, ``restart()`` is called (drop what ``sink`` got so far)
    and the strict path reads the file again from the start. Raises InputError like read_export.
    Returns the meta of read_export (``records``, ``beats``, ``path``).
    """
    path = Path(path)
    if not strict:
        try:
            big = path.is_file() and path.stat().st_size >= PARALLEL_CHECK_BYTES
            tab = _read_fast_parallel(path, chunk, sink) if big else _read_fast(path, chunk, sink)
            return {**tab.meta, "path": "fast"}
        except _Fallback:
            restart()
    tab = _read_strict(path, chunk, sink)
    return {**tab.meta, "path": "strict"}
