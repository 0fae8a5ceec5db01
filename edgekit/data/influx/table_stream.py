"""``edgekit data push`` of edgekit's RR table CSV in bounded memory: the file read in chunks that end at a
segment boundary (:class:`TableStream`), checked whole before anything is sent, then pushed chunk by chunk
(:func:`push_stream`), the same points as :func:`~edgekit.data.influx.tables.push` of the file read whole.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
import csv

import numpy as np
from tqdm import tqdm

from edgekit.data.influx.client import InfluxClient
from edgekit.data.influx.protocol import lp_key
from edgekit.data.influx.tables import NS, PushData, _refuse_shared, hrv_lines, input_names, rr_lines
from edgekit.data.rr import RRTable, COLUMNS, ARTIFACT_MASK
from edgekit.data.signal.windows import MIN_HOUR_DIFFS
from edgekit.core.errors import InputError
from edgekit.core.log import progress_disabled
from edgekit.data.readers.label_files import _label_index, _score
from edgekit.data.signal.clean import clean as clean_table


CHUNK_BEATS = 20_000  # beats per chunk (a chunk ends at a segment boundary)


def _table_chunks(path: Path, chunk: int | None = None) -> Iterator[PushData]:
    """Chunks of whole segments of an RR table CSV, validated as
    :func:`~edgekit.data.readers.labelled.read_table_csv` validates (same messages), read line by line."""

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

    total = stream.n_beats + stream.n_label + len(stream.hourly)
    client.ping()
    client.check_database()
    with tqdm(total=total, desc="push", unit="pt", file=sys.stderr,
              disable=(not progress) or total < 50_000 or progress_disabled()) as bar:
        client.write_batched(stream.lines(), progress=bar.update)
        client.write_batched(hrv_lines(stream.hourly), progress=bar.update)
    return {"rr": stream.n_beats, "label": stream.n_label, "hrv": len(stream.hourly),
            "points": client.points_written}
