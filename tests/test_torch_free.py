"""``edgekit hrv``, ``data ingest`` and ``data push`` need neither torch nor coremltools (issue 25).

Each verb runs in a subprocess whose import system refuses ``torch`` and ``coremltools`` the way an
environment without them does (a meta-path finder raising ``ModuleNotFoundError``), on committed
real recordings (``realdata/``), and must give the same output as with them installed. The
subprocess also fails if either module was imported after all.

Why not ``sys.modules['torch'] = None``: SciPy (1.17) itself breaks under it (its array-API
helpers look ``torch`` up in ``sys.modules`` and read ``.Tensor`` off the ``None``: the
``AttributeError: 'NoneType' object has no attribute 'Tensor'`` of issue 25 is that), so it does not
model a machine without torch; a missing package is absent from ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from influx_server import influx_server  # noqa: F401 - fixture

REPO = Path(__file__).resolve().parent.parent
RR_CSV = REPO / "realdata/hrv/drivedb/drive17a_rest.csv"  # time_s,rr_ms of one real rest recording
RR_TEXT = REPO / "realdata/ppg/welltory/subject_02_rr.txt"  # one RR interval (ms) per line
PPG = REPO / "realdata/ppg/welltory/subject_02_ppg.csv"  # time (ms), R, G, B of a phone camera

BLOCKED = ("torch", "coremltools")
_BOOT = f"""
import sys
class _NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {BLOCKED!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, _NotInstalled())
from edgekit.cli.main import main
code = main(sys.argv[1:])
sys.stdout.flush()
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {BLOCKED!r})
if loaded:
    sys.stderr.write("imported: " + ", ".join(loaded) + "\\n")
    code = 99
sys.exit(code)
"""


def _edgekit(*args: str, blocked: bool) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", _BOOT] if blocked else [sys.executable, "-m", "edgekit"]
    return subprocess.run([*cmd, *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=300)


def _ok(*args: str) -> subprocess.CompletedProcess:
    proc = _edgekit(*args, blocked=True)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_the_blocker_blocks():
    proc = subprocess.run([sys.executable, "-c", _BOOT.replace("from edgekit.cli.main import main",
                                                              "import torch")], capture_output=True, text=True)
    assert proc.returncode != 0 and "No module named 'torch'" in proc.stderr


def test_hrv_without_torch_prints_what_it_prints_with_it():
    args = ("hrv", RR_CSV, "--format", "csv", "--column", "rr_ms", "--time-column", "time_s")
    blocked = _ok(*args)
    assert "rmssd_ms" in blocked.stdout
    assert blocked.stdout == _edgekit(*args, blocked=False).stdout
    doc = json.loads(_ok(*args, "--json").stdout)
    assert doc["n_beats"] > 900 and doc["rmssd_ms"] > 0


@pytest.mark.parametrize("src, fmt_args", [
    (RR_TEXT, ("--format", "rr-text")),
    (RR_CSV, ("--format", "csv", "--column", "rr_ms", "--time-column", "time_s")),
    (PPG, ("--format", "ppg", "--column", "R", "--time-column", "time")),  # HeartPy's peaks
])
def test_ingest_without_torch_writes_what_it_writes_with_it(tmp_path, src, fmt_args):
    _ok("data", "ingest", src, *fmt_args, "--out", tmp_path / "a.csv")
    assert _edgekit("data", "ingest", src, *fmt_args, "--out", tmp_path / "b.csv", blocked=False).returncode == 0
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert len((tmp_path / "a.csv").read_text().splitlines()) > 50


@pytest.mark.integration
def test_push_without_torch(influx_server, tmp_path):
    db = "torch_free"
    influx_server.query(f'CREATE DATABASE "{db}"')
    table = tmp_path / "rr.csv"
    _ok("data", "ingest", RR_TEXT, "--format", "rr-text", "--start", "2024-05-01T07:30:00Z", "--out", table)
    where = ("--influx", influx_server.url, "--database", db)
    pushed = _ok("data", "push", table, "--subject", "table", *where)  # edgekit's RR table: streamed
    assert "101 rr" in pushed.stderr
    _ok("data", "push", RR_CSV, "--format", "csv", "--column", "rr_ms", "--time-column", "time_s",
        "--start", "2024-05-01T07:30:00Z", "--subject", "csv", *where)  # any reader: read whole
    res = influx_server.query('SELECT count("rr_ms") FROM "rr" GROUP BY "subject"', db=db)["results"][0]
    counts = {s["tags"]["subject"]: s["values"][0][1] for s in res["series"]}
    assert counts == {"table": 101, "csv": 1005}
