"""A throwaway ``influxd`` (InfluxDB 1.x) on 127.0.0.1: own free port, own directory, stopped after.

Used by the tests (tests/influx_server.py) and ``make bench``; not by edgekit's verbs. The config
enables the HTTP API only (no reporting, no UDP/Graphite/CQ/monitor store), with the RPC bind
address moved off 8088 to another free port so parallel servers never collide.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
import base64
import json

INFLUXD = shutil.which("influxd")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CONFIG = """\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc}"
[meta]
  dir = "{root}/meta"
[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  query-log-enabled = false
[retention]
  enabled = false
[shard-precreation]
  enabled = false
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:{http}"
  auth-enabled = {auth}
  log-enabled = false
  flux-enabled = false
[logging]
  level = "error"
[subscriber]
  enabled = false
[continuous_queries]
  enabled = false
"""


class InfluxServer:
    """One ``influxd`` process on 127.0.0.1 with its data under ``root``."""

    def __init__(self, root: Path, auth: bool = False) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = self.root / "influxdb.conf"
        self.config.write_text(CONFIG.format(rpc=free_port(), root=self.root, http=self.port,
                                             auth="true" if auth else "false"))
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 30.0) -> "InfluxServer":
        log = open(self.root / "influxd.log", "ab")
        self.proc = subprocess.Popen([INFLUXD, "-config", str(self.config)], stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"influxd exited with {self.proc.returncode}; see {self.root}/influxd.log")
            try:
                with urllib.request.urlopen(self.url + "/ping", timeout=1) as r:
                    if r.status == 204:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"influxd did not answer /ping within {timeout_s} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def query(self, q: str, db: str = "", auth: tuple | None = None) -> dict:
        """Run InfluxQL with plain urllib (independent of edgekit's client)."""
        data = urllib.parse.urlencode({"q": q, "db": db, "epoch": "ns"}).encode()
        req = urllib.request.Request(self.url + "/query", data=data, method="POST")
        if auth:
            req.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())
