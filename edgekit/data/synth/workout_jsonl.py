"""Workouts as FitRec-style JSON lines (the format :mod:`edgekit.data.readers.workouts.fitrec` reads).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from edgekit.data.workouts import Workout
from edgekit.core.fileio import atomic_path


def _json_id(s: str):
    """FitRec ids are integers: a canonical decimal string becomes an int, anything else stays text."""
    return int(s) if s.isdigit() and str(int(s)) == s else s


def _num(x: float):
    if not math.isfinite(x):
        return None
    return int(x) if x == int(x) and abs(x) < 2**53 else x


def fitrec_record(w: Workout) -> dict:
    """One workout as a FitRec-style record (the fields of the FitRec / Endomondo JSON lines).

    All arrays share the ``timestamp`` axis: the sorted union of route and HR times (integer UTC
    epoch seconds where whole). A stream without a value at a time has ``null`` there; ``speed`` is
    in km/h and present only when the device gave speed; ``altitude`` is all ``null`` when absent.
    """
    t = np.union1d(w.route_t_s, w.hr_t_s)
    ri = np.searchsorted(t, w.route_t_s)
    hi = np.searchsorted(t, w.hr_t_s)

    def on_axis(idx: np.ndarray, values: np.ndarray, scale: float = 1.0) -> list:
        col = np.full(len(t), np.nan)
        col[idx] = np.asarray(values, dtype=np.float64) * scale
        return [_num(x) for x in col.tolist()]

    rec = {
        "id": _json_id(w.workout_id), "userId": _json_id(w.runner), "sport": w.sport,
        "timestamp": [_num(x) for x in t.tolist()],
        "heart_rate": on_axis(hi, w.hr_bpm),
        "altitude": on_axis(ri, w.altitude_m),
        "latitude": on_axis(ri, w.lat_deg),
        "longitude": on_axis(ri, w.lon_deg),
    }
    if np.isfinite(w.speed_mps).any():
        rec["speed"] = on_axis(ri, w.speed_mps, 3.6)
    if w.meta.get("synthetic"):
        rec["synthetic"] = True
    return rec


def write_jsonl(path: str | Path, workouts: Iterable[Workout]) -> int:
    """Write ``workouts`` as FitRec-style JSON lines (one :func:`fitrec_record` per line, strict JSON),
    atomically: a failure leaves no partial file. ``workouts`` may be a generator (streamed, e.g.
    ``(w for chunk in iter_population(...) for w in chunk)``). Returns the number of lines."""
    n = 0
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            for w in workouts:
                fh.write(json.dumps(fitrec_record(w), allow_nan=False, separators=(",", ":")))
                fh.write("\n")
                n += 1
    return n
