"""Helpers shared by the unit tests, as plain functions (the fixtures built on them are in conftest.py).

- running edgekit: ``run_edgekit`` (a child process), ``out_json`` (what an in-process ``main`` printed);
- writing inputs: ``bundled_config`` (a repository config with small edits), ``tiny_config`` (a bundled
  HRV model type small enough to train in a second), ``synth`` (``edgekit data synth``),
  ``write_apple_export`` (an Apple Health export shaped like a watch's background readings) and
  ``write_fit_hrv`` (a FIT file of beat intervals);
- ``require_influxd``: skip when the InfluxDB server is not installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import struct
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from edgekit.cli.main import main
from edgekit.data.influx.server import INFLUXD

REPO = Path(__file__).resolve().parent.parent

INFLUXD_SKIP = ("influxd not installed (apt-get install influxdb; 'make setup' does it when run as root "
                "with apt): InfluxDB tests skipped")


def require_influxd() -> None:
    """Skip the calling test when the ``influxd`` binary is absent (``make setup`` installs it as root)."""
    if INFLUXD is None:
        pytest.skip(INFLUXD_SKIP)


def run_edgekit(*args: str, cwd: Path = REPO, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """``python -m edgekit ARGS`` in a child process (text output captured); ``env`` adds to os.environ."""
    return subprocess.run([sys.executable, "-m", "edgekit", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, **(env or {})))


def out_json(capsys) -> dict:
    """The JSON document an in-process ``main([...])`` wrote to stdout."""
    return json.loads(capsys.readouterr().out)


CONFIG_OF = {"strain": "hrv_transformer", "lstm": "hrv_lstm"}  # the tests' short names of the window models
SMALL_COHORT = {"subjects = 48": "subjects = 6", "days = 14": "days = 3"}  # 6 subjects x 3 days: seconds


def influx_source(url: str, database: str) -> dict[str, str]:
    """``bundled_config`` edits that read the data from InfluxDB instead of the simulator."""
    return {'source = "synthetic"': f'source = "influxdb"\nurl = "{url}"\ndatabase = "{database}"',
            "subjects = 48\n": "", "seed = 7\n": ""}


def bundled_config(folder: Path, name: str, edits: dict[str, str] | None = None, stem: str | None = None) -> Path:
    """``configs/<name>.toml`` of the repository copied to ``folder/<stem or name>.toml`` with each
    ``old: new`` text edit applied (an absent ``old`` is left alone: one edit list serves several configs)."""
    text = (REPO / "configs" / f"{name}.toml").read_text()
    for old, new in (edits or {}).items():
        text = text.replace(old, new)
    path = Path(folder) / f"{stem or name}.toml"
    path.write_text(text)
    return path


_TAIL = """[data]
source = "files"
inputs = {inputs}
max_artifact_pct = 20.0
[train]
epochs = {epochs}
batch_size = 32
threads = 1
[convert]
variants = ["fp32"]
"""

TINY = {  # the bundled HRV model types, small enough to train in a second
    "reading": """
[model]
name = "{name}"
type = "strain_reading"
[model.params]
window_beats = 128
patch_beats = 4
d_model = 16
n_heads = 2
n_layers = 1
ff_dim = 16
dropout = 0.0
min_beats = 45
""" + _TAIL,
    "slots": """
[model]
name = "{name}"
type = "fatigue_slots"
[model.params]
sequence_hours = 24
hidden_size = 8
n_layers = 1
dropout = 0.0
min_present_hours = 1
""" + _TAIL,
}


def tiny_config(folder: Path, kind: str, inputs: list[str], name: str | None = None, epochs: int = 2) -> Path:
    """A tiny config of a bundled model type (seconds to train) reading ``inputs`` (relative to ``folder``)."""
    name = name or f"{kind}_tiny"
    p = folder / f"{name}.toml"
    p.write_text(TINY[kind].format(name=name, inputs=json.dumps(inputs), epochs=epochs))
    return p


def synth(path: Path, *extra: str) -> Path:
    """``edgekit -q data synth --out PATH --force EXTRA…`` in process; returns ``path``."""
    assert main(["-q", "data", "synth", "--out", str(path), "--force", *extra]) == 0
    return path


PATTERNS = {  # state -> (mean RR ms, respiratory swing ms, beat-to-beat noise ms)
    "healthy": (900.0, 45.0, 18.0),
    "strained": (720.0, 12.0, 6.0),
}


def write_apple_export(path: Path, readings: int, drop_beat_in: int | None = None, seed: int = 0,
                       start: str = "2024-03-04 07:10:00 +0100", every_h: float = 3.0,
                       states: list[str] | None = None) -> dict:
    """A small Apple Health export: ``readings`` HRV records (~1 min, 62-80 beats each) every ``every_h``
    hours, each shaped by its state (``states``, default healthy); one beat left out of record
    ``drop_beat_in`` (a dropped beat: the record is split). Returns the path, each reading's time
    (Unix s, inside the reading) and state."""
    rng = np.random.default_rng(seed)
    t0 = datetime.strptime(start, "%Y-%m-%d %H:%M:%S %z")
    states = states or ["healthy"] * readings
    recs, starts = [], []
    for r in range(readings):
        st = t0 + timedelta(hours=every_h * r, minutes=float(rng.uniform(0, 20)))
        mean, swing, noise = PATTERNS[states[r]]
        n = int(60000 // mean) + 1
        rr = mean + swing * np.sin(np.arange(n) / 3.0 + rng.uniform(0, 6)) + noise * rng.standard_normal(n)
        beats, t = [], st
        for k, x in enumerate(rr):
            t = t + timedelta(milliseconds=float(x))
            if drop_beat_in == r and k == 30:
                continue
            beats.append(f'<InstantaneousBeatsPerMinute bpm="{round(60000 / x)}" time="{t.strftime("%H:%M:%S.%f")[:-4]}"/>')
        starts.append(st.timestamp() + rr[0] / 1000.0 + 20.0)
        sd = st.strftime("%Y-%m-%d %H:%M:%S %z")
        recs.append(f'<Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" sourceName="Watch" unit="ms" '
                    f'creationDate="{sd}" startDate="{sd}" endDate="{sd}" value="40">'
                    f'<HeartRateVariabilityMetadataList>{"".join(beats)}</HeartRateVariabilityMetadataList></Record>')
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n' + "\n".join(recs)
                    + "\n</HealthData>\n")
    return {"path": path, "starts": starts, "states": states}


FIT_EPOCH = 631065600  # 1989-12-31T00:00:00Z


def write_fit_hrv(path: Path, start_s: float, rr_ms: list[float | None]) -> Path:
    """A minimal FIT activity file: file_id, one record (the start) and ``hrv`` messages of up to five
    beat intervals each (None = 0xFFFF, invalid), with the protocol's CRC."""
    from test_data_workouts import _fit_crc as crc

    body = bytearray()

    def define(local, glob, fields):
        body.extend(struct.pack("<BBBHB", 0x40 | local, 0, 0, glob, len(fields)))
        for f in fields:
            body.extend(struct.pack("<BBB", *f))

    t = int(start_s) - FIT_EPOCH
    define(0, 0, [(0, 1, 0x00), (1, 2, 0x84), (4, 4, 0x86)])  # file_id: type, manufacturer, time_created
    body.extend(struct.pack("<BBHI", 0, 4, 1, t))
    define(1, 20, [(253, 4, 0x86), (3, 1, 0x02)])  # record: timestamp, heart_rate
    body.extend(struct.pack("<BIB", 1, t, 70))
    define(2, 78, [(0, 10, 0x84)])  # hrv: time[5], uint16, s x 1000
    vals = [0xFFFF if v is None else round(v) for v in rr_ms]
    vals += [0xFFFF] * (-len(vals) % 5)
    for i in range(0, len(vals), 5):
        body.extend(struct.pack("<B5H", 2, *vals[i:i + 5]))
    head = struct.pack("<BBHI4s", 14, 0x20, 2132, len(body), b".FIT")
    head += struct.pack("<H", crc(head))
    data = head + bytes(body)
    path.write_bytes(data + struct.pack("<H", crc(data)))
    return path
