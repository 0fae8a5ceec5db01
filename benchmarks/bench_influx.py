"""``make bench`` section ``influx``: InfluxDB push throughput and peak memory, side by side.

- throughput: the same per-beat ``rr`` points (a synthetic cohort's beats) written to a throwaway
  ``influxd`` by edgekit's client (line protocol from the RR table, 5,000 points per request) and by
  the ``influxdb`` 5.3.2 client's ``write_points`` (point dicts built from the same table, same
  batch size, ns precision), each into its own database, rounds interleaved, medians; points/s.
- peak memory: peak RSS of ``edgekit data push`` of a 1 M-beat RR table CSV (streamed) vs the same
  push reading the file whole (:func:`edgekit.data.influx.tables.read_inputs`), each in a fresh process.

Skipped with a note when ``influxd`` or the ``influxdb`` package is not installed.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

_PEAK = r"""
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""

_WHOLE = r"""
import sys
from pathlib import Path
from edgekit.data.influx.client import InfluxClient
from edgekit.data.influx.tables import hourly_points, push, read_inputs
data = read_inputs([Path(sys.argv[1])], None, None, None)
with InfluxClient(sys.argv[2], sys.argv[3]) as c:
    push(c, data, hourly_points(data.table), progress=False)
"""


def _peak_kb(argv: list[str]) -> int:
    out = subprocess.run([sys.executable, "-c", _PEAK, *argv], check=True, capture_output=True, text=True)
    return int(out.stdout.strip().splitlines()[-1])


def influx_section(quick: bool) -> tuple[list[dict], list[str]]:
    from benchmarks.bench import _row, side_by_side
    from edgekit.data.influx.server import INFLUXD, InfluxServer

    if INFLUXD is None:
        return [], ["influx: influxd not installed (apt-get install influxdb); push benchmarks not run"]
    try:
        from influxdb import InfluxDBClient
    except ImportError:
        return [], ["influx: the 'influxdb' package (baseline client) is not installed; push benchmarks not run"]
    from edgekit.data.synth import cohort as synth
    from edgekit.data.influx.client import InfluxClient
    from edgekit.data.influx.protocol import seconds_to_ns
    from edgekit.data.influx.tables import PushData, rr_lines

    rows, notes = [], []
    n = 20_000 if quick else 200_000
    with tempfile.TemporaryDirectory(prefix="edgekit-bench-influx-") as tmp:
        srv = InfluxServer(Path(tmp) / "influxd").start()
        try:
            t = synth.generate(8, 14, 1).table
            t = t.take(np.arange(min(n, len(t))))
            data = PushData(t, np.full(len(t), -1, np.int64), np.full(len(t), np.nan), np.zeros(len(t), bool))
            ours = InfluxClient(srv.url, "bench_edgekit")
            ours.create_database()
            theirs = InfluxDBClient(host="127.0.0.1", port=srv.port, database="bench_influxdb")
            theirs.create_database("bench_influxdb")

            def edgekit_push():
                ours.write_batched(rr_lines(data))

            def baseline_push():
                b = t.segment_bounds()
                seg0 = np.repeat([seconds_to_ns(x) for x in t.time_s[b[:-1]].tolist()], np.diff(b))
                points = [{"measurement": "rr", "tags": {"subject": s}, "time": seconds_to_ns(ts),
                           "fields": {"rr_ms": rr, "flags": fl, "segment_start": int(sg)}}
                          for s, ts, rr, fl, sg in zip(t.subject.tolist(), t.time_s.tolist(), t.rr_ms.tolist(),
                                                       t.flags.tolist(), seg0.tolist())]
                theirs.write_points(points, time_precision="n", batch_size=5000)

            res = side_by_side({"edgekit": edgekit_push, "influxdb": baseline_push}, rounds=2 if quick else 3,
                               min_seconds=0.0)
            a = len(t) / res["edgekit"]["median_s"]
            b = len(t) / res["influxdb"]["median_s"]
            rows.append(_row("influx", f"push {len(t):,} rr points", "edgekit client (requests)", a,
                             "influxdb 5.3.2 write_points", b, "points/s",
                             note="same points, 5,000 per request, ns precision, table -> server"))
            ours.close()
            theirs.close()
            if quick:
                notes.append("influx: peak memory of a 1 M-beat push not measured with --quick")
            else:
                cohort = Path(tmp) / "cohort.csv"
                subprocess.run([sys.executable, "-m", "edgekit", "data", "synth", "--out", str(cohort),
                                "--subjects", "18", "--days", "14", "--seed", "1"], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                n_beats = sum(1 for _ in open(cohort)) - 2
                for db in ("mem_stream", "mem_whole"):
                    srv.query(f"CREATE DATABASE \"{db}\"")
                streamed = _peak_kb([sys.executable, "-m", "edgekit", "data", "push", str(cohort), "--influx",
                                     srv.url, "--database", "mem_stream"])
                whole = _peak_kb([sys.executable, "-c", _WHOLE, str(cohort), srv.url, "mem_whole"])
                rows.append(_row("influx", f"push peak RSS, {n_beats:,} beats", "edgekit data push (streamed)",
                                 streamed / 1024.0, "same push, file read whole", whole / 1024.0, "MB",
                                 note="peak resident set size of a fresh process"))
        finally:
            srv.stop()
    return rows, notes
