"""FIT activity files, decoded by ``fitdecode`` with CRC checks and strict parsing (:func:`read_fit`).
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import fitdecode

from edgekit.data.readers.workouts.common import _Points, _utc_iso, _workout
from edgekit.data.workouts import Workout
from edgekit.core.errors import InputError

SEMICIRCLE_DEG = 180.0 / 2.0**31  # FIT position unit


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
    path = Path(path)
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
        with open_fit(path) as fit:
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
    except Exception as exc:  # noqa: BLE001 - fitdecode on hostile bytes: struct, key, value errors
        raise fit_error(path, exc) from None
    if problem is not None:
        raise InputError(f"{path}: {problem}")
    if n_rec == 0:
        raise InputError(f"{path}: no record messages (not an activity file?)")
    return _workout(workout_id=f"{path.name}#0", runner=runner, sport=sport or "unknown",
                    route=pts.arrays(), hr_t=pts.hr_t, hr=pts.hr, source=str(path), meta={"format": "fit"})


def open_fit(path: Path):
    """A ``fitdecode.FitReader`` of ``path`` that checks the CRC and parses strictly, for a ``with``
    inside a ``try`` whose exceptions go through :func:`fit_error`; a missing, irregular or empty file
    is refused first with its own one line."""
    if not path.is_file():
        raise InputError(f"{path}: file not found" if not path.exists() else f"{path}: not a regular file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file")
    return fitdecode.FitReader(str(path), check_crc=fitdecode.CrcCheck.RAISE,
                               error_handling=fitdecode.ErrorHandling.RAISE)


def fit_error(path: Path, exc: Exception) -> InputError:
    """The one line for an exception met while decoding a FIT file with ``fitdecode`` (its byte where
    fitdecode knows it): not a FIT file or a bad header, a CRC mismatch, a truncated file, a malformed
    message, an OS error, or anything hostile bytes make fitdecode raise."""
    if isinstance(exc, InputError):  # already one line (open_fit's file checks)
        return exc
    if isinstance(exc, fitdecode.FitHeaderError):
        return InputError(f"{path}: not a FIT file or bad FIT header ({_first_line(exc)})")
    if isinstance(exc, fitdecode.FitCRCError):
        return InputError(f"{path}: FIT CRC mismatch, the file is damaged ({_first_line(exc)})")
    if isinstance(exc, fitdecode.FitEOFError):
        return InputError(f"{path}: byte {exc.offset}: truncated FIT file (expected {exc.expected} bytes, got "
                          f"{exc.got})")
    if isinstance(exc, fitdecode.FitParseError):
        return InputError(f"{path}: byte {exc.offset}: malformed FIT message ({_first_line(exc)})")
    if isinstance(exc, OSError):
        return InputError(f"{path}: cannot read ({exc.strerror})")
    return InputError(f"{path}: unreadable FIT file ({type(exc).__name__}: {_first_line(exc)})")


def _first_line(exc: BaseException) -> str:
    s = str(exc).strip()
    return (s.splitlines()[0] if s else type(exc).__name__)[:160]
