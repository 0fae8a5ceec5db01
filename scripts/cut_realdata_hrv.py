"""Cut the real HRV set ``realdata/hrv/`` from its public sources (how the committed files were made).

    python scripts/cut_realdata_hrv.py --rhrvbook DIR --drivedb DIR --out realdata/hrv

``--rhrvbook``: the ``data/Chapter8`` folder of the public ``RHRV-team/RHRVBook`` repository (copies of
PhysioNet's nsr2db RR files in seconds, ``normal/nsrNNN_rr_secs.txt``, and of the "RR interval time
series from healthy subjects" in ms, ``healthy_ms/NNN.txt``). ``--drivedb``: a folder holding the
WFDB records ``drive17a`` and ``drive17b`` of PhysioNet's drivedb (``.hea`` + ``.dat``; a copy is in
the public ``akaymaram/ecg_stress_prediction`` repository, ``ecg_peak_finder/Driver_data/Driver_raw_data``).
Needs ``wfdb`` (reads the drivedb records) and NeuroKit2 (R peaks of their ECG), which edgekit does not
need at run time: ``pip install wfdb``.

What is cut (``realdata/hrv/README.md`` says the same for readers of the set):

- **24 h Holter recordings** (nsr2db, healthy-subjects): one 60 s reading per hour of the recording,
  from 20:00 to 21:00 (mm:ss) past each hour since the recording's first beat, all beats as the source
  has them (gaps, ectopic beats and artifacts included: edgekit's cleaning sees them as a user's
  data would be seen; an "interval" over 10 s is a gap in the source's annotations and is not
  written). ``time_s`` = seconds since the recording's first beat (the sources give no clock
  time), ``rr_ms`` the interval ending at that beat.
- **drivedb driver 17** (the one drive whose raw ECG is small enough to be mirrored): R peaks of the
  ECG (NeuroKit2 ``ecg_clean`` + ``ecg_peaks``, method "neurokit", no artifact correction), split at
  the record's marker pulses into the initial rest, driving and final rest, 30 s trimmed after each
  marker; ``time_s`` = seconds since the record's start.

The output is deterministic (same sources, same bytes); the manifest's hashes are computed here.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

READING_S = 60.0
READING_OFFSET_S = 1200.0  # 20 min past each recording hour
HOLTER_HOURS = 24
MARKER_TRIM_S = 30.0

NSR2DB_HOLDOUT_EVERY = 4  # nsr2db persons nsr004, nsr008, ... (every 4th) are holdout
HEALTHY_HOLDOUT = ("006", "013")


def _fmt(v: float, decimals: int) -> str:
    s = f"{v:.{decimals}f}"
    return s.rstrip("0").rstrip(".") if "." in s else s


GAP_MS = 10_000.0  # an "interval" this long is a gap in the source's beat annotations, not a beat


def _write_csv(path: Path, t_s: np.ndarray, rr_ms: np.ndarray, rr_decimals: int) -> None:
    ok = rr_ms <= GAP_MS  # gaps are not written: the reader's gap rule splits the reading there
    t_s, rr_ms = t_s[ok], rr_ms[ok]
    lines = ["time_s,rr_ms"] + [f"{t:.3f},{_fmt(r, rr_decimals)}" for t, r in zip(t_s.tolist(), rr_ms.tolist())]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def hourly_readings(t_s: np.ndarray, rr_ms: np.ndarray, hours: int = HOLTER_HOURS) -> np.ndarray:
    """Mask of the beats in the hourly 60 s readings: beat times in [h*3600 + 1200, h*3600 + 1260)."""
    rel = t_s - t_s[0]
    h = np.floor(rel / 3600.0)
    within = rel - h * 3600.0
    return (h < hours) & (within >= READING_OFFSET_S) & (within < READING_OFFSET_S + READING_S)


def cut_nsr2db(src: Path, out: Path) -> list[dict]:
    recs = []
    for f in sorted(src.glob("nsr*_rr_secs.txt")):
        rec = f.name.split("_")[0]
        v = np.loadtxt(f)
        # the first value is the time from the start of the record to the first annotated beat, not an
        # interval: it anchors the clock and is not written
        t = np.cumsum(v)[1:] - v[0]
        rr = v[1:] * 1000.0
        keep = hourly_readings(t, rr)
        rel = out / "nsr2db" / f"{rec}.csv"
        _write_csv(rel, t[keep], rr[keep], 4)
        n = int(rec[3:])
        recs.append({"id": rec, "file": f"nsr2db/{rec}.csv", "source": "nsr2db", "person": f"nsr2db/{rec}",
                     "profile": "holter_day", "split": "holdout" if n % NSR2DB_HOLDOUT_EVERY == 0 else "tune",
                     "known": {"state": "ambulatory, 24 h", "diagnosis": "normal sinus rhythm", "adult": True,
                               "beats": int(keep.sum())}})
    return recs


def cut_healthy(src: Path, out: Path) -> list[dict]:
    recs = []
    for f in sorted(src.glob("*.txt")):
        vals, skipped = [], 0
        for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
            s = line.strip()
            try:
                vals.append(float(s))
            except ValueError:
                skipped += int(bool(s))  # one malformed line ('@') in 008.txt
        rr = np.asarray(vals)
        t = np.cumsum(rr) / 1000.0
        t = t - t[0]
        keep = hourly_readings(t, rr)
        rec = f.stem
        _write_csv(out / "healthy" / f"h{rec}.csv", t[keep], rr[keep], 0)
        ok = (rr > 300) & (rr < 2000)
        recs.append({"id": f"h{rec}", "file": f"healthy/h{rec}.csv", "source": "healthy",
                     "person": f"healthy/{rec}", "profile": "holter_day",
                     "split": "holdout" if rec in HEALTHY_HOLDOUT else "tune",
                     "known": {"state": "ambulatory, 24 h", "diagnosis": "healthy",
                               "age": "not in this copy (the source's subjects are 1 month to 55 years)",
                               "mean_rr_24h_ms": round(float(rr[ok].mean())), "beats": int(keep.sum()),
                               **({"malformed_lines_skipped": skipped} if skipped else {})}})
    return recs


def _marker_pulses(marker: np.ndarray, fs: float) -> list[float]:
    """Times (s) of the marker channel's pulses: runs where it leaves its baseline by > 3 units."""
    base = np.median(marker)
    on = np.abs(marker - base) > 3.0
    starts = np.flatnonzero(on[1:] & ~on[:-1]) + 1
    times, last = [], -1e9
    for s in starts.tolist():
        t = s / fs
        if t - last > 5.0:
            times.append(t)
        last = t
    return times


def cut_drive17(src: Path, out: Path) -> list[dict]:
    import warnings

    import neurokit2 as nk
    import wfdb

    recs = []
    # the protocol: 15 min rest, then driving; record b holds the end of the drive and the final rest
    plan = {"drive17a": ("rest", "driving"), "drive17b": ("driving", "rest")}
    for name, (first, second) in plan.items():
        rec = wfdb.rdrecord(str(src / name), smooth_frames=False)
        i = rec.sig_name.index("ECG")
        fs = float(rec.fs * rec.samps_per_frame[i])
        ecg = np.asarray(rec.e_p_signal[i], float)
        j = rec.sig_name.index("marker")
        fsm = float(rec.fs * rec.samps_per_frame[j])
        pulses = _marker_pulses(np.asarray(rec.e_p_signal[j], float), fsm)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cleaned = nk.ecg_clean(ecg, sampling_rate=fs, method="neurokit")
            _, info = nk.ecg_peaks(cleaned, sampling_rate=fs, method="neurokit", correct_artifacts=False)
        peaks = np.asarray(info["ECG_R_Peaks"], float)
        t = peaks[1:] / fs
        rr = np.diff(peaks) / fs * 1000.0
        end = len(ecg) / fs
        # a: pulses at the start and at the end of the rest; b: at the start, at the end of the drive, at the end
        if name == "drive17a":
            cuts = {first: (pulses[0], pulses[1]), second: (pulses[1], end)}
        else:
            cuts = {first: (0.0, pulses[1]), second: (pulses[1], pulses[-1] if pulses[-1] > pulses[1] + 60 else end)}
        for state, (a, b) in cuts.items():
            keep = (t >= a + MARKER_TRIM_S) & (t < b - (MARKER_TRIM_S if b < end else 0.0))
            rid = f"{name}_{state}"
            _write_csv(out / "drivedb" / f"{rid}.csv", t[keep], rr[keep], 3)
            recs.append({"id": rid, "file": f"drivedb/{rid}.csv", "source": "drivedb", "person": "drivedb/drive17",
                         "profile": "drive", "split": "holdout",
                         "known": {"state": "rest" if state == "rest" else "driving (city and highway)",
                                   "stress": state != "rest", "diagnosis": "healthy", "adult": True,
                                   "segment_s": [round(a + MARKER_TRIM_S, 1), round(float(t[keep][-1]), 1)],
                                   "ecg_hz": fs, "beats": int(keep.sum())}})
    return recs


SOURCES = '''
[[source]]
id = "nsr2db"
title = "Normal Sinus Rhythm RR Interval Database (nsr2db) 1.0.0"
url = "https://physionet.org/content/nsr2db/1.0.0/"
licence = "ODC-By-1.0"
attribution = "Normal Sinus Rhythm RR Interval Database, PhysioNet; Goldberger A. L. et al. (2000) PhysioBank, PhysioToolkit, and PhysioNet, Circulation 101(23):e215-e220"
citation = "Goldberger AL, Amaral LAN, Glass L, Hausdorff JM, Ivanov PCh, Mark RG, Mietus JE, Moody GB, Peng C-K, Stanley HE (2000). Circulation 101(23):e215-e220"
via = "github:RHRV-team/RHRVBook data/Chapter8/normal (nsrNNN_rr_secs.txt)"
population = "54 adults in normal sinus rhythm (30 men aged 28.5-76, 24 women aged 58-73); per-person age and sex are not in this copy"
device = "24 h Holter ECG, beat annotations at 128 Hz (RR resolution 7.8125 ms)"
sampling = "one 60 s reading per recording hour (20:00-21:00 past each hour since the first beat), 24 per person"

[[source]]
id = "healthy"
title = "RR interval time series from healthy subjects 1.0.0"
url = "https://physionet.org/content/rr-interval-healthy-subjects/1.0.0/"
licence = "CC-BY-4.0"
attribution = "Irurzun IM, Garavaglia L, Defeo MM, Thomas Mailland J (2021). RR interval time series from healthy subjects (version 1.0.0). PhysioNet. https://doi.org/10.13026/51yd-d219"
citation = "Irurzun et al. (2021), PhysioNet, doi:10.13026/51yd-d219; Goldberger et al. (2000), Circulation 101(23):e215-e220"
via = "github:RHRV-team/RHRVBook data/Chapter8/healthy_ms (9 of the set's records)"
population = "healthy subjects of a Holter study in La Plata, Argentina (the set spans 1 month to 55 years); the ages of these 9 records are not in this copy: not counted as adults"
device = "24 h Holter ECG, RR in whole ms"
sampling = "one 60 s reading per recording hour (20:00-21:00 past each hour since the first beat)"

[[source]]
id = "drivedb"
title = "Stress Recognition in Automobile Drivers (drivedb) 1.0.0, record drive17 (a and b)"
url = "https://physionet.org/content/drivedb/1.0.0/"
licence = "ODC-By-1.0"
attribution = "Healey JA, Picard RW (2005). Detecting stress during real-world driving tasks using physiological sensors. IEEE Trans Intell Transp Syst 6(2):156-166; PhysioNet (Goldberger et al. 2000)"
citation = "Healey & Picard (2005), IEEE T-ITS 6(2):156-166; Goldberger et al. (2000), Circulation 101(23):e215-e220"
via = "github:akaymaram/ecg_stress_prediction ecg_peak_finder/Driver_data/Driver_raw_data (drive17a/b .hea/.dat, unchanged PhysioNet files)"
population = "one healthy adult driver (drivedb's drivers are healthy adults); 15 min seated rest before and after driving in Boston city and highway traffic"
device = "ECG at 480 / 496 Hz (modified lead II); R peaks found here with NeuroKit2"
sampling = "the whole rest and driving periods, split at the record's marker pulses"
'''


def manifest(out: Path, recs: list[dict]) -> str:
    def val(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        return '"' + str(v).replace('"', "'") + '"'

    head = '''# The real HRV set: see README.md in this folder for how the files were cut.
[set]
name = "hrv"
description = "RR intervals of healthy adults over 24 h (one-minute readings every hour) and of a driver at rest and driving"
profiles = { holter_day = "24 h Holter ECG of healthy people, one 60 s reading per hour (all day and night)", drive = "ECG of a driver: 15 min seated rest before and after, driving in city and highway traffic between" }
'''
    out_lines = [head, SOURCES]
    for r in recs:
        sha = hashlib.sha256((out / r["file"]).read_bytes()).hexdigest()
        known = "{ " + ", ".join(f"{k} = {val(v)}" for k, v in r["known"].items()) + " }"
        out_lines.append(
            f'[[recording]]\nid = "{r["id"]}"\nfile = "{r["file"]}"\nsource = "{r["source"]}"\n'
            f'person = "{r["person"]}"\nformat = "csv"\nread = {{ column = "rr_ms", time_column = "time_s", unit = "ms" }}\n'
            f'profile = "{r["profile"]}"\nsplit = "{r["split"]}"\nsha256 = "{sha}"\nknown = {known}\n')
    return "\n".join(out_lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rhrvbook", type=Path, required=True, help="RHRVBook's data/Chapter8 folder")
    ap.add_argument("--drivedb", type=Path, required=True, help="folder with drive17a/b .hea/.dat")
    ap.add_argument("--out", type=Path, required=True, help="the set folder (realdata/hrv)")
    a = ap.parse_args()
    recs = cut_nsr2db(a.rhrvbook / "normal", a.out) + cut_healthy(a.rhrvbook / "healthy_ms", a.out) \
        + cut_drive17(a.drivedb, a.out)
    (a.out / "manifest.toml").write_text(manifest(a.out, recs), encoding="utf-8")
    size = sum(p.stat().st_size for p in a.out.rglob("*") if p.is_file())
    print(f"{len(recs)} recordings, {size / 1e6:.2f} MB in {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
