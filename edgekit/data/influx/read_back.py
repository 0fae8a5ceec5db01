"""RR tables read back from InfluxDB: ``[data] source = "influxdb"`` (:func:`load_influx`, the same
:class:`~edgekit.data.readers.labelled.LabelledData` as the file that was pushed) and the recent beats
``edgekit forecast`` reads (:func:`recent_beats`). Schema: :mod:`edgekit.data.influx.tables`, docs/influxdb.md.
"""

from __future__ import annotations

import numpy as np

from edgekit import STRAIN_LABELS
from edgekit.data.influx.client import InfluxClient
from edgekit.data.influx.protocol import ns_to_seconds, ql_ident, ql_string, ql_or_equal
from edgekit.data.influx.tables import LABEL, NS, RR
from edgekit.data.readers.labelled import LabelledData, _renumber
from edgekit.data.rr import RRTable
from edgekit.core.errors import InputError


def _subjects(client: InfluxClient, wanted: list | None) -> tuple[list[str], int]:
    """(sorted subjects, ns time of the newest ``rr`` point among them)."""
    series = client.query(f"SELECT last({ql_ident('rr_ms')}) FROM {ql_ident(RR)} GROUP BY {ql_ident('subject')}")
    found = {s["tags"].get("subject", ""): s["values"][0][0] for s in series if s["values"]}
    if wanted:
        missing = [s for s in wanted if s not in found]
        if missing:
            raise InputError(f"InfluxDB at {client.where}, database {client.database!r}: no '{RR}' points for "
                             f"subject(s) {', '.join(map(repr, missing[:5]))}")
        return sorted(wanted), max(found[s] for s in wanted)
    if not found:
        raise InputError(f"InfluxDB at {client.where}, database {client.database!r}: no '{RR}' points (push "
                         f"recordings first: edgekit data push)")
    return sorted(found), max(found.values())


def load_influx(cfg) -> LabelledData:
    """Read the last ``data.days`` days (ending at the newest ``rr`` point of the selected subjects,
    so a build does not depend on the clock) of beats, labels and scores from InfluxDB.

    Returns the same structure as :func:`edgekit.data.readers.labelled.load_labelled_files`, rows ordered
    by subject then time, segments numbered through the table.
    """
    d = cfg.data
    subjects_cfg = d.subjects if isinstance(d.subjects, list) else None
    with InfluxClient(d.url, d.database) as client:
        subjects, newest = _subjects(client, subjects_cfg)
        start = newest - int(d.days) * 86400 * NS
        where = f"time > {start} AND time <= {newest} AND {ql_or_equal('subject', subjects)}"
        rr = client.query(f"SELECT {ql_ident('rr_ms')}, {ql_ident('flags')}, {ql_ident('segment_start')} FROM "
                          f"{ql_ident(RR)} WHERE {where} GROUP BY {ql_ident('subject')}")
        lab = client.query(f"SELECT {ql_ident('label')}, {ql_ident('fatigue_score')}, {ql_ident('synthetic')} "
                           f"FROM {ql_ident(LABEL)} WHERE {where} GROUP BY {ql_ident('subject')}")
        where_txt = f"InfluxDB at {client.where}, database {client.database!r}"
    labels_by_subject = {s["tags"].get("subject", ""): s for s in lab}
    subj, seg, ts, rrs, fls, labs, scs = [], [], [], [], [], [], []
    synthetic = True
    n_label_points = 0
    for s in sorted(rr, key=lambda x: x["tags"].get("subject", "")):
        name = s["tags"].get("subject", "")
        cols = s["columns"]
        it, ir, ifl, iseg = (cols.index(c) for c in ("time", "rr_ms", "flags", "segment_start"))
        vals = [v for v in s["values"] if v[ir] is not None]
        if not vals:
            continue
        t_ns = np.array([v[it] for v in vals], dtype=np.int64)
        n = len(vals)
        subj.append(np.full(n, name))
        ts.append(np.array([ns_to_seconds(v[it]) for v in vals]))
        rrs.append(np.array([v[ir] for v in vals], np.float64))
        fls.append(np.array([v[ifl] if v[ifl] is not None else 0 for v in vals], np.int64))
        if any(v[iseg] is None for v in vals):
            raise InputError(f"{where_txt}: subject {name!r}: '{RR}' points without a segment_start field (not "
                             f"written by 'edgekit data push'; docs/influxdb.md has the schema)")
        seg.append(np.array([v[iseg] for v in vals], np.int64))
        bl = np.full(n, -1, np.int64)
        bs = np.full(n, np.nan)
        ls = labels_by_subject.get(name)
        if ls is not None:
            lc = ls["columns"]
            jt, jl, js, jy = (lc.index(c) for c in ("time", "label", "fatigue_score", "synthetic"))
            lt = np.array([v[jt] for v in ls["values"]], dtype=np.int64)
            pos = np.searchsorted(t_ns, lt)
            ok = (pos < n) & (t_ns[np.clip(pos, 0, n - 1)] == lt)
            for k, v in zip(pos[ok].tolist(), [v for v, o in zip(ls["values"], ok.tolist()) if o]):
                if v[jl] is not None:
                    if v[jl] not in STRAIN_LABELS:
                        raise InputError(f"{where_txt}: subject {name!r}: label {str(v[jl])[:40]!r} is not one "
                                         f"of {', '.join(STRAIN_LABELS)}")
                    bl[k] = STRAIN_LABELS.index(v[jl])
                if v[js] is not None:
                    bs[k] = float(v[js])
                synthetic &= bool(v[jy])
                n_label_points += 1
        labs.append(bl)
        scs.append(bs)
    if not subj:
        raise InputError(f"{where_txt}: no '{RR}' points in the last {d.days} days of the data")
    synthetic = synthetic and n_label_points > 0
    subject = np.concatenate(subj)
    segment_start = np.concatenate(seg)
    # a new segment wherever the subject or the segment's first-beat time changes
    key_change = np.ones(len(subject), bool)
    key_change[1:] = (subject[1:] != subject[:-1]) | (segment_start[1:] != segment_start[:-1])
    segment = _renumber(np.cumsum(key_change))
    table = RRTable(subject, segment, np.concatenate(ts), np.concatenate(rrs), np.concatenate(fls),
                    meta={"synthetic": synthetic})
    data = LabelledData(table, np.concatenate(labs), np.concatenate(scs), np.unique(subject),
                        [f"{where_txt}, {len(np.unique(subject))} subjects"], synthetic)
    data.where = where_txt
    data.how_to_label = {
        "label": f"from InfluxDB: push a labelled RR table (a 'label' column) so that '{LABEL}' points exist",
        "fatigue_score": f"from InfluxDB: push a labelled RR table (a 'fatigue_score' column) so that '{LABEL}' "
                         f"points exist",
    }
    return data


def newest_by_subject(client: InfluxClient, measurement: str, field: str, subjects: list[str] | None = None
                      ) -> dict[str, int]:
    """{subject: ns time of its newest ``measurement`` point} (every subject, or ``subjects``: one line
    naming those without points); one line when there is none at all."""
    series = client.query(f"SELECT last({ql_ident(field)}) FROM {ql_ident(measurement)} "
                          f"GROUP BY {ql_ident('subject')}")
    newest = {s["tags"].get("subject", ""): int(s["values"][0][0]) for s in series if s["values"]}
    if subjects:
        missing = [s for s in subjects if s not in newest]
        if missing:
            raise InputError(f"InfluxDB at {client.where}, database {client.database!r}: no '{measurement}' points "
                             f"for subject(s) {', '.join(map(repr, missing[:5]))}")
        newest = {s: newest[s] for s in subjects}
    if not newest:
        raise InputError(f"InfluxDB at {client.where}, database {client.database!r}: no '{measurement}' points "
                         f"(push recordings first: edgekit data push)")
    return newest


def recent_beats(client: InfluxClient, subjects: list[str] | None, hours: float) -> dict[str, RRTable]:
    """Per subject (all with ``rr`` points, or ``subjects``), the beats of every segment that reaches
    into the last ``hours`` before the subject's newest beat, whole (from the segment's first beat:
    cleaning works per segment, so these beats clean exactly as in the recording that was pushed).
    Segments from ``segment_start``, as :func:`load_influx` rebuilds them."""
    newest = newest_by_subject(client, RR, "rr_ms", subjects)
    fields = f"{ql_ident('rr_ms')}, {ql_ident('flags')}, {ql_ident('segment_start')}"
    out = {}
    for s in sorted(newest):
        end = newest[s]
        start = end - int(hours * 3600) * NS
        who = f"{ql_ident('subject')} = {ql_string(s)}"
        first = client.query(f"SELECT min({ql_ident('segment_start')}) FROM {ql_ident(RR)} WHERE {who} AND "
                             f"time >= {start} AND time <= {end}")
        lo = min([int(v[1]) for ser in first for v in ser["values"] if v[1] is not None] + [start])
        rows = client.query(f"SELECT {fields} FROM {ql_ident(RR)} WHERE {who} AND time >= {lo} AND time <= {end}")
        vals = [v for ser in rows for v in ser["values"] if v[1] is not None]
        if not vals:
            continue
        cols = rows[0]["columns"]
        it, ir, ifl, iseg = (cols.index(c) for c in ("time", "rr_ms", "flags", "segment_start"))
        if any(v[iseg] is None for v in vals):
            raise InputError(f"InfluxDB at {client.where}: subject {s!r}: '{RR}' points without a segment_start "
                             f"field (not written by 'edgekit data push'; docs/influxdb.md has the schema)")
        vals.sort(key=lambda v: v[it])
        seg_start = np.array([v[iseg] for v in vals], np.int64)
        change = np.ones(len(vals), bool)
        change[1:] = seg_start[1:] != seg_start[:-1]
        out[s] = RRTable(np.full(len(vals), s), _renumber(np.cumsum(change)),
                         np.array([ns_to_seconds(v[it]) for v in vals]), np.array([v[ir] for v in vals], np.float64),
                         np.array([v[ifl] if v[ifl] is not None else 0 for v in vals], np.int64))
    return out
