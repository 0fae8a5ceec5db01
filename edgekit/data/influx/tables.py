"""RR tables to and from InfluxDB: ``edgekit data push`` and ``[data] source = "influxdb"``.

Schema (docs/influxdb.md): every point carries the tag ``subject``; timestamps are integer ns.

- ``rr`` (one point per beat, at the beat's time): fields ``rr_ms`` (float), ``flags`` (int, the
  :class:`~edgekit.data.rr.Flag` bits) and ``segment_start`` (int ns: time of the first beat of the
  beat's segment). The segment is a field, not a tag, so a point's identity is (subject, time) and
  pushing the same beats again overwrites them instead of adding a series; its value is a time, not
  a file-local number, so recordings pushed separately never run into one segment on reading back.
- ``label`` (one point per beat that has a label or a score, at the beat's time): fields ``label``
  (string: healthy / strained / burnout_risk), ``fatigue_score`` (float 0-100), ``synthetic`` (bool,
  the file said it is SYNTHETIC data).
- ``hrv`` (one point per subject and clock hour, at the hour's start): field ``rmssd`` (float, ms):
  the data layer's hourly RMSSD (:func:`edgekit.data.signal.windows.hourly_rmssd`) of the cleaned beats;
  hours without enough clean differences are not written (InfluxQL ``fill(null)`` gives them back
  as null).

Streaming a table file: :mod:`.table_stream`. Reading back (:func:`~.read_back.load_influx`) rebuilds the same :class:`~edgekit.data.readers.labelled.LabelledData`
as :func:`~edgekit.data.readers.labelled.load_labelled_files` gives for the file that was pushed: floats are
written with ``repr`` (exact), times through :func:`~edgekit.data.influx.protocol.seconds_to_ns` (exact to the
nanosecond).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from edgekit import STRAIN_LABELS
from edgekit.data.influx.client import InfluxClient
from edgekit.data.influx.protocol import lp_float, lp_key, lp_string, seconds_to_ns
from edgekit.data.rr import RRTable
from edgekit.core.errors import InputError
from edgekit.core.log import progress_disabled
from edgekit.data.readers.formats import refuse_shared_subjects
from edgekit.data.readers.labelled import read_table_csv, sniff_kind
from edgekit.data.signal.clean import clean as clean_table
from edgekit.data.signal.windows import hourly_rmssd

RR, LABEL, HRV, FORECAST = "rr", "label", "hrv", "fatigue_forecast"
NS = 1_000_000_000


@dataclass
class PushData:
    """Beats of all inputs, validated, with optional per-beat labels and scores."""

    table: RRTable
    beat_label: np.ndarray  # int64, -1 = none
    beat_score: np.ndarray  # float64, NaN = none
    synthetic: np.ndarray  # bool per beat: the beat's file said SYNTHETIC


def input_names(paths: list[Path], subjects: list[str] | None) -> list[str | None]:
    """Per input: the ``--subject`` name that renames it, or None (keep the table's subjects / the
    file stem). Refuses a missing file, the same file twice, and a wrong number of names."""
    seen: dict[tuple[int, int], Path] = {}
    for p in paths:
        if not p.is_file():
            raise InputError(f"{p}: file not found" if not p.exists() else f"{p}: not a regular file")
        st = p.stat()
        if (st.st_dev, st.st_ino) in seen:
            raise InputError(f"{p}: the same file is given twice (also as {seen[(st.st_dev, st.st_ino)]})")
        seen[(st.st_dev, st.st_ino)] = p
    if subjects:
        if len(subjects) != len(paths):
            raise InputError(f"--subject given {len(subjects)} times for {len(paths)} inputs; give one "
                             f"--subject NAME per input, in order")
        for s in subjects:
            if not s.strip():
                raise InputError("--subject must not be empty")
            lp_key(s)
        return list(subjects)
    return [None] * len(paths)


def _refuse_shared(per_file: list[set], paths: list[Path]) -> None:
    refuse_shared_subjects(per_file, paths, "rename one with --subject, or push them one after the other to "
                                            "add to one subject")


def read_inputs(paths: list[Path], fmt: str | None, subjects: list[str] | None, read_other) -> PushData:
    """Read every input before anything is sent. Without ``fmt`` an input must be edgekit's RR
    table CSV (``data ingest``/``data synth`` output, labels kept); ``read_other(path)`` reads the
    rest (subject = file stem). ``subjects`` (one per input) renames each input's subject; two
    inputs holding the same subject are refused (never merged silently)."""
    names = input_names(paths, subjects)
    tables, labs, scs, syns = [], [], [], []
    for p, subject in zip(paths, names):
        if fmt is None:
            if sniff_kind(p) != "table":
                raise InputError(f"{p}: not an edgekit RR table (header subject,segment,time_s,rr_ms,flags); "
                                 f"give --format (ppg, ecg, polar, rr-text, csv, apple-health, fit)")
            t, lab, sc, syn = read_table_csv(p)
        else:
            t = read_other(p)
            lab = np.full(len(t), -1, np.int64)
            sc = np.full(len(t), np.nan)
            syn = False
        if subject is not None:
            if len(np.unique(t.subject)) > 1:
                raise InputError(f"{p}: holds {len(np.unique(t.subject))} subjects; --subject names one")
            t = RRTable(np.full(len(t), subject), t.segment, t.time_s, t.rr_ms, t.flags)
        tables.append(t)
        labs.append(lab)
        scs.append(sc)
        syns.append(np.full(len(t), syn))
    _refuse_shared([set(t.subject.tolist()) for t in tables], paths)
    table = RRTable.concat(tables)
    for s in np.unique(table.subject).tolist():
        lp_key(s)  # refuse names line protocol cannot carry (control characters) before sending
    order = np.lexsort((table.time_s, table.subject))
    t_sorted, s_sorted = table.time_s[order], table.subject[order]
    same = (s_sorted[1:] == s_sorted[:-1]) & (t_sorted[1:] == t_sorted[:-1])
    if same.any():
        i = int(np.flatnonzero(same)[0]) + 1
        raise InputError(f"{', '.join(map(str, paths))}: subject {s_sorted[i]!r} has two beats at time_s "
                         f"{t_sorted[i]:.6f} (a point is keyed by subject and time; the same recording "
                         f"given twice?)")
    return PushData(table, np.concatenate(labs), np.concatenate(scs), np.concatenate(syns))


def _segment_start_ns(table: RRTable) -> np.ndarray:
    b = table.segment_bounds()
    first = np.array([seconds_to_ns(t) for t in table.time_s[b[:-1]].tolist()], dtype=object)
    return np.repeat(first, np.diff(b))


def rr_lines(data: PushData) -> Iterator[str]:
    """Line protocol of the ``rr`` and ``label`` points, beat by beat (a generator: bounded memory)."""
    t = data.table
    if len(t) == 0:
        return
    seg0 = _segment_start_ns(t)
    prefix: dict[str, tuple[str, str]] = {}
    for i, (s, ts, rr, fl, lab, sc, syn) in enumerate(zip(
            t.subject.tolist(), t.time_s.tolist(), t.rr_ms.tolist(), t.flags.tolist(),
            data.beat_label.tolist(), data.beat_score.tolist(), data.synthetic.tolist())):
        p = prefix.get(s)
        if p is None:
            tag = lp_key(s)
            p = prefix[s] = (f"{RR},subject={tag} ", f"{LABEL},subject={tag} ")
        ns = seconds_to_ns(ts)
        yield f"{p[0]}rr_ms={lp_float(rr)},flags={fl}i,segment_start={seg0[i]}i {ns}"
        fields = []
        if lab >= 0:
            fields.append(f"label={lp_string(STRAIN_LABELS[lab])}")
        if sc == sc:  # not NaN
            fields.append(f"fatigue_score={lp_float(sc)}")
        if fields:
            fields.append("synthetic=true" if syn else "synthetic=false")
            yield f"{p[1]}{','.join(fields)} {ns}"


def hourly_points(table: RRTable, clean: str = "kubios", min_rr_ms: float = 300.0, max_rr_ms: float = 2000.0,
                  max_artifact_pct: float = 5.0) -> list[tuple[str, int, float]]:
    """(subject, hour start ns, RMSSD ms) of every hour with an RMSSD, as the data layer computes
    it: clean, then :func:`~edgekit.data.signal.windows.hourly_rmssd`."""
    res = clean_table(table, clean, min_rr_ms, max_rr_ms)
    out = []
    for s, (h0, r) in hourly_rmssd(res.table, max_artifact_pct).items():
        for k in np.flatnonzero(np.isfinite(r)).tolist():
            out.append((str(s), (h0 + k) * 3600 * NS, float(r[k])))
    return out


def hrv_lines(points: list[tuple[str, int, float]]) -> Iterator[str]:
    for s, ns, v in points:
        yield f"{HRV},subject={lp_key(s)} rmssd={lp_float(v)} {ns}"


def push(client: InfluxClient, data: PushData, hourly: list, *, progress: bool = True) -> dict:
    """Write the points of ``data`` (rr, label) and ``hourly`` (hrv). Returns counts."""

    n_label = int(((data.beat_label >= 0) | np.isfinite(data.beat_score)).sum())
    total = len(data.table) + n_label + len(hourly)
    client.ping()
    client.check_database()
    with tqdm(total=total, desc="push", unit="pt", file=sys.stderr,
              disable=(not progress) or total < 50_000 or progress_disabled()) as bar:
        client.write_batched(rr_lines(data), progress=bar.update)
        client.write_batched(hrv_lines(hourly), progress=bar.update)
    return {"rr": len(data.table), "label": n_label, "hrv": len(hourly), "points": client.points_written}


# ---------------------------------------------------------------------------------------------
# streaming: edgekit's RR table CSV in bounded memory


# ---------------------------------------------------------------------------------------------
# reading back: [data] source = "influxdb"


