"""RR intervals from a FIT activity file (``--format fit``): the beat intervals a chest strap or watch
logged in ``hrv`` messages (FIT profile message 78, field ``time``: up to five intervals per message,
seconds with scale 1000, 0xFFFF invalid), decoded by ``fitdecode`` with CRC checks.

FIT gives no time per beat: beat times are the file's start (its first ``record`` timestamp, else the
``session``'s ``start_time``, else ``file_id.time_created``) plus the running sum of the intervals, in
Unix seconds. An invalid interval (a beat the device did not catch) ends a segment; the next beat's
time then follows the sum of the intervals it does know (so times after a dropout are early by the
lost time, at most a few seconds per dropout).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import fitdecode

from edgekit.data.rr import RRTable
from edgekit.core.errors import InputError
from edgekit.data.readers.workouts.fit import fit_error, open_fit

MAX_RR_S = 60.0  # an interval above this (0xFFFF / 1000 = 65.535 s is FIT's invalid) is a dropout


def read_fit_rr(path: str | Path) -> RRTable:
    """The ``hrv`` intervals of a FIT file as an RR table (module docstring); one line on bad input
    (:func:`edgekit.data.readers.workouts.fit.fit_error`) or a file without ``hrv`` messages."""

    path = Path(path)
    rr: list[float | None] = []
    anchors: dict[str, float] = {}
    try:
        with open_fit(path) as fit:
            for frame in fit:
                if frame.frame_type != fitdecode.FIT_FRAME_DATA:
                    continue
                if frame.name == "hrv" and frame.has_field("time"):
                    v = frame.get_value("time")
                    rr.extend(v if isinstance(v, (tuple, list)) else [v])
                    continue
                key = {"record": "timestamp", "session": "start_time", "file_id": "time_created"}.get(frame.name)
                if key and frame.name not in anchors and frame.has_field(key):
                    ts = frame.get_value(key)
                    if isinstance(ts, datetime):
                        anchors[frame.name] = ts.timestamp()
    except Exception as exc:  # noqa: BLE001 - fitdecode on hostile bytes: struct, key, value errors
        raise fit_error(path, exc) from None
    if not rr:
        raise InputError(f"{path}: no 'hrv' messages: this FIT file holds no beat intervals (a device records "
                         f"them only when HRV logging is on); its heart rate per second is not RR")
    start = next((anchors[k] for k in ("record", "session", "file_id") if k in anchors), None)
    if start is None:
        raise InputError(f"{path}: no timestamp (record, session or file_id) to place the beats on the clock")
    ok = np.array([v is not None and 0.0 < float(v) <= MAX_RR_S for v in rr])
    vals = np.array([float(v) if o else 0.0 for v, o in zip(rr, ok)]) * 1000.0
    seg = np.cumsum(~ok)[ok]
    t = start + np.cumsum(vals)[ok] / 1000.0
    if not ok.any():
        raise InputError(f"{path}: every 'hrv' interval is invalid (0xFFFF)")
    return RRTable(np.full(int(ok.sum()), path.stem), seg - seg[0], t, vals[ok], np.zeros(int(ok.sum()), np.int64))
