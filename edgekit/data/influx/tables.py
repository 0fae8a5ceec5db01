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

Reading back (:func:`load_influx`) rebuilds the same :class:`~edgekit.data.readers.labelled.LabelledData`
as :func:`~edgekit.data.readers.labelled.load_labelled_files` gives for the file that was pushed: floats are
written with ``repr`` (exact), times through :func:`~edgekit.data.influx.client.seconds_to_ns` (exact to the
nanosecond).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edgekit import STRAIN_LABELS
from edgekit.data.influx.client import (InfluxClient, lp_float, lp_key, lp_string, ns_to_seconds, ql_ident, ql_string,
                                 ql_or_equal, seconds_to_ns)
from edgekit.data.rr import RRTable
from edgekit.data.signal.windows import MIN_HOUR_DIFFS
from edgekit.core.errors import InputError

if TYPE_CHECKING:
    from edgekit.data.readers.labelled import LabelledData

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
    from edgekit.data.readers.formats import refuse_shared_subjects

    refuse_shared_subjects(per_file, paths, "rename one with --subject, or push them one after the other to "
                                            "add to one subject")


def read_inputs(paths: list[Path], fmt: str | None, subjects: list[str] | None, read_other) -> PushData:
    """Read every input before anything is sent. Without ``fmt`` an input must be edgekit's RR
    table CSV (``data ingest``/``data synth`` output, labels kept); ``read_other(path)`` reads the
    rest (subject = file stem). ``subjects`` (one per input) renames each input's subject; two
    inputs holding the same subject are refused (never merged silently)."""
    from edgekit.data.readers.labelled import read_table_csv, sniff_kind

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
    from edgekit.data.signal.clean import clean as clean_table
    from edgekit.data.signal.windows import hourly_rmssd

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
    from tqdm import tqdm

    from edgekit.core.log import progress_disabled

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

CHUNK_BEATS = 20_000  # beats per chunk (a chunk ends at a segment boundary)


def _table_chunks(path: Path, chunk: int | None = None) -> Iterator[PushData]:
    """Chunks of whole segments of an RR table CSV, validated as
    :func:`~edgekit.data.readers.labelled.read_table_csv` validates (same messages), read line by line."""
    import csv

    from edgekit.data.readers.labelled import _label_index, _score
    from edgekit.data.rr import COLUMNS

    chunk = chunk or CHUNK_BEATS
    try:
        fh = open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    with fh:
        lineno = 0
        comments = []
        try:
            for line in fh:
                lineno += 1
                if line.lstrip().startswith("#"):
                    comments.append(line)
                    continue
                break
            else:
                raise InputError(f"{path}: empty file")
            header = [h.strip() for h in next(csv.reader([line]))]
            if tuple(header[:5]) != COLUMNS:
                raise InputError(f"{path}: line {lineno}: expected header {','.join(COLUMNS)}[,label][,fatigue_score]")
            synthetic = bool(comments) and "SYNTHETIC" in comments[0]
            i_lab = header.index("label") if "label" in header else None
            i_sc = header.index("fatigue_score") if "fatigue_score" in header else None
            ncol = len(header)
            cols: list[list] = [[] for _ in range(7)]
            n_rows = 0
            for row in csv.reader(fh):
                lineno += 1
                if not row:
                    continue
                if len(row) != ncol:
                    raise InputError(f"{path}: line {lineno}: expected {ncol} fields, got {len(row)}")
                try:
                    seg, t, rr, fl = int(row[1]), float(row[2]), float(row[3]), int(row[4])
                except ValueError:
                    raise InputError(f"{path}: line {lineno}: non-numeric value in {','.join(row[:5])!r}") from None
                if not (np.isfinite(t) and np.isfinite(rr)):
                    raise InputError(f"{path}: line {lineno}: non-finite time_s or rr_ms")
                if len(cols[1]) >= chunk and (seg != cols[1][-1] or row[0] != cols[0][-1]):
                    yield _chunk(cols, synthetic)
                    cols = [[] for _ in range(7)]
                cols[0].append(row[0])
                cols[1].append(seg)
                cols[2].append(t)
                cols[3].append(rr)
                cols[4].append(fl)
                cols[5].append(_label_index(row[i_lab], path, lineno) if i_lab is not None else -1)
                cols[6].append(_score(row[i_sc], path, lineno) if i_sc is not None else float("nan"))
                n_rows += 1
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 text (line {lineno + 1}, byte {exc.start})") from None
        except csv.Error as exc:
            raise InputError(f"{path}: line {lineno}: {exc}") from None
        if n_rows == 0:
            raise InputError(f"{path}: no RR rows after the header")
        if cols[1]:
            yield _chunk(cols, synthetic)


def _chunk(cols, synthetic) -> PushData:
    t = RRTable(np.array(cols[0], dtype=str), np.array(cols[1]), np.array(cols[2]), np.array(cols[3]), np.array(cols[4]))
    return PushData(t, np.array(cols[5], np.int64), np.array(cols[6], np.float64), np.full(len(t), synthetic))


class TableStream:
    """Edgekit RR table CSVs pushed in bounded memory: :meth:`check` reads every input once (all
    values validated, subjects checked, hourly RMSSD accumulated), :meth:`lines` reads them again
    to send. Needs each subject's beats in strictly increasing time through the inputs (edgekit's
    own files are); otherwise ``check`` returns False and the caller reads the inputs whole."""

    def __init__(self, paths: list[Path], subjects: list[str] | None, clean: str = "kubios",
                 min_rr_ms: float = 300.0, max_rr_ms: float = 2000.0, max_artifact_pct: float = 5.0) -> None:
        self.paths = paths
        self.names = input_names(paths, subjects)
        self.clean_args = (clean, min_rr_ms, max_rr_ms)
        self.max_artifact_pct = max_artifact_pct
        self.n_beats = self.n_label = 0
        self.subjects: set[str] = set()
        self.hourly: list[tuple[str, int, float]] = []

    def check(self) -> bool:
        from edgekit.data.signal.clean import clean as clean_table
        from edgekit.data.rr import ARTIFACT_MASK

        last_t: dict[str, float] = {}
        slot: dict[tuple[str, int], int] = {}
        acc = np.zeros((0, 4))  # per (subject, hour): sum d2, n diffs, n beats, n flagged
        per_file: list[set] = []
        for p, name in zip(self.paths, self.names):
            per_file.append(set())
            for c in self._file_chunks(p, name):
                t = c.table
                self.n_beats += len(t)
                self.n_label += int(((c.beat_label >= 0) | np.isfinite(c.beat_score)).sum())
                for s in np.unique(t.subject).tolist():
                    m = t.subject == s
                    ts = t.time_s[m]
                    if (len(ts) > 1 and (np.diff(ts) <= 0).any()) or ts[0] <= last_t.get(s, -np.inf):
                        return False
                    last_t[s] = float(ts[-1])
                    self.subjects.add(s)
                    per_file[-1].add(s)
                res = clean_table(t, *self.clean_args)
                ct = res.table
                if len(ct) == 0:
                    continue
                hour = np.floor(ct.time_s / 3600.0).astype(np.int64)
                keys = list(zip(ct.subject.tolist(), hour.tolist()))
                idx = np.empty(len(ct), np.int64)
                for k, key in enumerate(keys):
                    j = slot.get(key)
                    if j is None:
                        j = slot[key] = len(slot)
                    idx[k] = j
                if len(slot) > len(acc):
                    acc = np.vstack([acc, np.zeros((len(slot) - len(acc), 4))])
                same = np.zeros(len(ct), bool)
                same[1:] = (ct.segment[1:] == ct.segment[:-1]) & (ct.subject[1:] == ct.subject[:-1])
                d2 = np.zeros(len(ct))
                d2[1:] = np.diff(ct.rr_ms) ** 2
                # sequential adds in row order: the same sums np.bincount gives over the whole table
                np.add.at(acc[:, 0], idx[same], d2[same])
                np.add.at(acc[:, 1], idx[same], 1.0)
                np.add.at(acc[:, 2], idx, 1.0)
                np.add.at(acc[:, 3], idx, ((ct.flags & ARTIFACT_MASK) != 0).astype(np.float64))
        _refuse_shared(per_file, self.paths)
        self.newest_s = max(last_t.values(), default=0.0)  # the newest beat: 1970 means no clock
        for s in self.subjects:
            lp_key(s)
        for (s, h), j in sorted(slot.items()):
            sd, nd, nb, nf = acc[j]
            if nd >= MIN_HOUR_DIFFS and nf * 100.0 <= self.max_artifact_pct * max(nb, 1):
                self.hourly.append((s, h * 3600 * NS, float(np.sqrt(sd / nd))))
        return True

    def _file_chunks(self, p: Path, name: str | None) -> Iterator[PushData]:
        return _table_chunks(p) if name is None else self._renamed(p, name)

    def _renamed(self, p: Path, name: str) -> Iterator[PushData]:
        seen: set[str] = set()
        for c in _table_chunks(p):
            seen |= set(np.unique(c.table.subject).tolist())
            if len(seen) > 1:
                raise InputError(f"{p}: holds more than one subject; --subject names one")
            t = c.table
            c.table = RRTable(np.full(len(t), name), t.segment, t.time_s, t.rr_ms, t.flags)
            yield c

    def lines(self) -> Iterator[str]:
        for p, name in zip(self.paths, self.names):
            for c in self._file_chunks(p, name):
                yield from rr_lines(c)


def push_stream(client: InfluxClient, stream: TableStream, *, progress: bool = True) -> dict:
    """Write a checked :class:`TableStream` (rr, label, then hrv points). Returns counts."""
    from tqdm import tqdm

    from edgekit.core.log import progress_disabled

    total = stream.n_beats + stream.n_label + len(stream.hourly)
    client.ping()
    client.check_database()
    with tqdm(total=total, desc="push", unit="pt", file=sys.stderr,
              disable=(not progress) or total < 50_000 or progress_disabled()) as bar:
        client.write_batched(stream.lines(), progress=bar.update)
        client.write_batched(hrv_lines(stream.hourly), progress=bar.update)
    return {"rr": stream.n_beats, "label": stream.n_label, "hrv": len(stream.hourly),
            "points": client.points_written}


# ---------------------------------------------------------------------------------------------
# reading back: [data] source = "influxdb"


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
    from edgekit.data.readers.labelled import LabelledData, _renumber

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
    from edgekit.data.readers.labelled import _renumber

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
