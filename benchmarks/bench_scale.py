"""Scale benchmarks (``make bench``, section ``scale``): memory against input size, time under load.

Each figure is edgekit's path next to a named baseline, run side by side in fresh processes (peak
memory is the child's own ``VmHWM``, wall time its own clock):

- **ingest**: ``edgekit data ingest --format apple-health`` (streamed, :mod:`edgekit.data.readers.stream`)
  vs the whole-table path it replaced (read the whole export into a table, then write the CSV:
  :func:`ingest_whole_table`, kept here as the baseline) on generated HRV-dense exports; MB/s,
  peak MB, and whether the two CSVs are the same bytes.
- **recordings**: the same for a long Polar RR log (``--format polar``; rr-text and CSV share its
  chunked reader), streamed (:func:`edgekit.data.readers.stream.ingest_recordings`) vs the whole table.
- **cohort memory**: the synthetic data stage (``synth.iter_cohort``, a chunk of subjects at a time)
  vs the whole-cohort path (:func:`generate_whole_table`, the generator as it was, then one clean
  and one windowing of the whole table) for 12, 48, 192 subjects x 14 days; windows.npz bytes
  compared. ``data synth`` likewise.
- **loaded training**: a small fixed transformer config trained quiet and next to one CPU-bound
  process this benchmark starts (and stops), with edgekit's OpenMP setting
  (``GOMP_SPINCOUNT=1000``, set by ``import edgekit``) vs today's default (torch imported
  first, so OpenMP spins); loaded/quiet ratio of each, and whether the weights are the same bits.

``EDGEKIT_BENCH_LARGE=1`` adds the 1.2 GB export, a 400 MB Polar log and the 1,000-subject cohort
(chunked path only: the whole-cohort path would need ~15 GB). ``python -m benchmarks.bench_scale [ingest|recordings|cohort|train]``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

LARGE = os.environ.get("EDGEKIT_BENCH_LARGE", "") not in ("", "0")


# ---------------------------------------------------------------------------------------------
# baselines: the whole-table paths as they were before streaming / chunking


def ingest_whole_table(paths, out, fmt: str = "apple-health") -> None:
    """The whole-table ingest: every interval in one RRTable, then ``rr.write_csv``."""
    from edgekit.data import rr
    from edgekit.data.readers import formats as readers

    rr.write_csv(readers.read(paths, fmt), out)


def generate_whole_table(subjects: int, days: int, seed: int, artifacts: bool = True):
    """``synth.generate`` as it was: every draw for the whole cohort at once (one generator)."""
    from edgekit.data.synth import cohort as synth
    from edgekit.data.rr import RRTable

    rng = np.random.default_rng(seed)
    p = synth._subject_params(rng, subjects)
    day_state, r_hour, morning = synth._trajectories(rng, p, subjects, days)
    hours = days * 24
    sub = np.repeat(np.arange(subjects), hours)
    hour = np.tile(np.arange(hours), subjects)
    hod = hour % 24
    day = np.clip(hour // 24 - (hod < p["wake"][sub]), 0, days - 1)
    state = day_state[sub, day]
    r = r_hour[sub, hour]
    asleep = (hod >= p["sleep"][sub]) | (hod < p["wake"][sub])
    n = len(sub)
    day_phase = np.cos(2 * np.pi * (hod - 15) / 24.0)
    hr = (p["hr0"][sub] + synth.HR_DELTA[state] - 10.0 * (r - 0.6) + np.where(asleep, -7.0, 2.0 * day_phase)
          + rng.normal(0, 2.5, n))
    mean_rr = 60000.0 / np.clip(hr, 40, 150)
    ln_rmssd = (p["ln_rmssd0"][sub] + synth.BETA_R * (r - 0.65) + synth.LN_RMSSD_STATE[state]
                + np.where(asleep, 0.25, 0.0) + rng.normal(0, 0.07, n))
    lfhf = np.exp(p["ln_lfhf0"][sub] + synth.LN_LFHF_STATE[state] + np.where(asleep, -0.5, 0.0)
                  + rng.normal(0, 0.15, n))
    resp = p["resp_hz"][sub] + synth.RESP_DELTA_HZ[state] + np.where(asleep, -0.03, 0.0)
    one = {"coef_re": rng, "coef_im": rng, "white": rng}  # one generator, drawn in sequence
    rr = synth._spectral_rr(one, mean_rr, np.exp(ln_rmssd), lfhf, p["lf_hz"][sub], resp,
                            synth.WHITE_STATE_MS[state])
    rr = np.clip(rr, 320.0, 1900.0)
    start = synth.EPOCH0 + hour * 3600.0 + rng.uniform(0, 3600 - synth.SEGMENT_S - 60, n)
    heavy = rng.random(n) < 0.05
    rates = np.where(heavy, rng.uniform(0.03, 0.10, n), rng.uniform(0.0, 0.015, n))
    subj_ids = np.array([f"S{i:03d}" for i in range(subjects)])
    cols_rr, cols_truth, clean_rr = [], [], []
    cum = np.cumsum(rr, axis=1)
    nb = np.minimum((cum <= synth.SEGMENT_S * 1000.0).sum(axis=1), synth.L_BEATS)
    for i in range(n):
        seg_rr = rr[i, : nb[i]]
        clean_rr.append(seg_rr.copy())
        out, truth = synth._inject(rng, seg_rr, rates[i]) if artifacts else (seg_rr.tolist(), [0] * len(seg_rr))
        cols_rr.append(np.asarray(out))
        cols_truth.append(np.asarray(truth, np.int64))
    lens = np.array([len(c) for c in cols_rr])
    all_rr = np.concatenate(cols_rr)
    csum = np.cumsum(all_rr)
    seg_first = np.concatenate([[0], np.cumsum(lens)[:-1]])
    base = np.repeat(csum[seg_first] - all_rr[seg_first], lens)
    t = np.repeat(start, lens) + (csum - base) / 1000.0
    table = RRTable(subj_ids[np.repeat(sub, lens)], np.repeat(np.arange(n), lens), t, all_rr,
                    np.zeros(len(all_rr), np.int64), meta={"synthetic": True, "seed": seed})
    return synth.Cohort(table=table, truth=np.concatenate(cols_truth), clean_rr=clean_rr,
                        seg_label=state.astype(np.int64), seg_subject=sub.astype(np.int64),
                        seg_hour=hour.astype(np.int64), score=100.0 * r_hour, subject_ids=subj_ids,
                        wake_hour=p["wake"].astype(np.int64), readiness=100.0 * morning, day_state=day_state)


def data_stage_whole_table(cfg, out_path) -> str:
    """The data stage's windows as they were made: the whole cohort generated, cleaned and windowed
    at once. Writes windows.npz to ``out_path``; returns its sha256."""
    from edgekit.data import pipeline
    from edgekit.data.signal.clean import clean

    d = cfg.data
    cohort = generate_whole_table(d.subjects, d.days, d.seed)
    res = clean(cohort.table, d.clean, d.min_rr_ms, d.max_rr_ms)
    from edgekit.tasks import task_for

    examples = task_for(cfg.model.type).examples(cfg)
    examples.add(res, cohort)
    arrays, _ = examples.finish(cohort)
    return pipeline.write_npz_deterministic(out_path, arrays)


# ---------------------------------------------------------------------------------------------
# child processes

_CHILD = r"""
import hashlib, json, sys, time
job, args = sys.argv[1], json.loads(sys.argv[2])
t = time.perf_counter()
res = {}
if job == "ingest-stream":
    from edgekit.data.readers.stream import ingest_apple_health
    r = ingest_apple_health(args["inputs"], args["out"])
    res = {"rows": r["rows"], "path": r["paths"][0]}
elif job == "ingest-whole":
    from benchmarks.bench_scale import ingest_whole_table
    ingest_whole_table(args["inputs"], args["out"], args.get("format", "apple-health"))
elif job == "recording-stream":
    from edgekit.data.readers.stream import ingest_recordings
    res = {"rows": ingest_recordings(args["inputs"], args["out"], args["format"])["rows"]}
elif job in ("data-chunked", "data-whole"):
    from edgekit.config.load import load_config
    cfg = load_config(args["config"])
    cfg.data.subjects = args["subjects"]
    if job == "data-chunked":
        from edgekit.data import pipeline
        from edgekit.tasks import task_for

        res = {"sha256": pipeline.run(cfg, args["build"], task_for(cfg.model.type).examples(cfg))["fingerprint"]}
    else:
        from benchmarks.bench_scale import data_stage_whole_table
        res = {"sha256": data_stage_whole_table(cfg, args["out"])}
elif job in ("synth-chunked", "synth-whole"):
    if job == "synth-whole":  # the old generator behind the same CSV writer
        from edgekit.data.synth import cohort as synth
        from benchmarks.bench_scale import generate_whole_table
        synth.iter_cohort = lambda s, d, seed, profile=None: iter([generate_whole_table(s, d, seed)])
    from edgekit.cli.main import main
    rc = main(["data", "synth", "--out", args["out"], "--subjects", str(args["subjects"]),
               "--days", str(args["days"]), "--seed", "7"])
    assert rc == 0
dt = time.perf_counter() - t
if "out" in args and "sha256" not in res:
    h = hashlib.sha256()
    with open(args["out"], "rb") as fh:
        for block in iter(lambda: fh.read(1 << 24), b""):
            h.update(block)
    res["sha256"] = h.hexdigest()
hwm = [int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
print(json.dumps({"seconds": dt, "peak_mb": hwm, **res}))
"""


def _child(job: str, **args) -> dict:
    r = subprocess.run([sys.executable, "-c", _CHILD, job, json.dumps(args, default=str)],
                       capture_output=True, text=True, timeout=3600)
    if r.returncode != 0:
        tail = (r.stderr.strip().splitlines() or ["?"])[-1]
        raise RuntimeError(f"{job}: exit {r.returncode}: {tail}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _row(name, a, av, b, bv, unit, note="") -> dict:
    return {"name": name, "a": a, "a_value": av, "b": b, "b_value": bv, "unit": unit, "note": note,
            "ratio": (av / bv) if (av is not None and bv) else None}


# ---------------------------------------------------------------------------------------------
# ingest


def _stream_vs_whole(name: str, stream_job: str, inputs: list[str], tmp, size_mb: float, expected_rows: int,
                     what: str, fmt: str | None = None) -> tuple[list[dict], dict]:
    """One input ingested streamed (``stream_job``) and as a whole table, each in its own process:
    the MB/s and peak-RSS rows, and the detail (both results, byte equality, exact row count)."""
    options = {} if fmt is None else {"format": fmt}
    s = _child(stream_job, inputs=inputs, out=str(Path(tmp) / "stream.csv"), **options)
    w = _child("ingest-whole", inputs=inputs, out=str(Path(tmp) / "whole.csv"), **options)
    same = s["sha256"] == w["sha256"]
    exact = s["rows"] == expected_rows
    note = (f"{what}; counts {'exact' if exact else 'WRONG'}; CSV bytes {'identical' if same else 'DIFFER'}"
            + (f"; {s['path']} path" if "path" in s else ""))
    rows = [_row(f"{name} {size_mb:.0f} MB: MB/s", "streamed", size_mb / s["seconds"],
                 "whole table", size_mb / w["seconds"], "MB/s", note),
            _row(f"{name} {size_mb:.0f} MB: peak RSS", "streamed", s["peak_mb"], "whole table", w["peak_mb"], "MB")]
    return rows, {"file_mb": size_mb, "stream": s, "whole": w, "bytes_identical": same, "counts_exact": exact}


def bench_ingest(quick: bool = False, sizes_mb: tuple[float, ...] | None = None, workdir=None) -> dict:
    """Streamed vs whole-table Apple Health ingest on HRV-dense generated exports (every record
    an HRV record with 60 beats). Rows: MB/s and peak MB of each, and byte equality of the CSVs."""
    from benchmarks.bench_data import write_export

    if sizes_mb is None:
        sizes_mb = (20.0,) if quick else ((300.0, 1200.0) if LARGE else (300.0,))
    rows, detail = [], []
    with tempfile.TemporaryDirectory(prefix="edgekit-bench-ingest-", dir=workdir) as tmp:
        for mb in sizes_mb:
            xml = Path(tmp) / "export.xml"
            counts = write_export(xml, target_mb=mb, hrv_every=1)
            size = counts["bytes"] / 1e6
            expected = counts["beats"] - counts["hrv_records"]
            r, d = _stream_vs_whole("ingest", "ingest-stream", [str(xml)], tmp, size, expected,
                                    f"{size:.0f} MB export, {expected} intervals")
            rows += r
            detail.append({"expected_intervals": expected, **d})
            for f in ("stream.csv", "whole.csv", "export.xml"):
                (Path(tmp) / f).unlink(missing_ok=True)
    return {"rows": rows, "detail": detail}


# ---------------------------------------------------------------------------------------------
# cohort memory


def bench_cohort_memory(quick: bool = False, cohorts: tuple[int, ...] | None = None,
                        config: str | Path | None = None, synth_cohorts: tuple[int, ...] | None = None,
                        workdir=None) -> dict:
    """Peak memory of the transformer's data stage per cohort size (x 14 days), chunked vs whole
    cohort, and of ``data synth``; windows / CSV bytes compared."""
    config = str(config or Path(__file__).resolve().parent.parent / "configs" / "hrv_transformer.toml")
    if cohorts is None:
        cohorts = (6, 12) if quick else ((12, 48, 192, 1000) if LARGE else (12, 48, 192))
    if synth_cohorts is None:
        synth_cohorts = (6,) if quick else ((12, 48, 192, 1000) if LARGE else (12, 48))
    rows, detail = [], []
    with tempfile.TemporaryDirectory(prefix="edgekit-bench-cohort-", dir=workdir) as tmp:
        for n in cohorts:
            c = _child("data-chunked", config=config, subjects=n, build=str(Path(tmp) / f"b{n}"))
            w = None
            if n <= 192:  # the whole-cohort path needs ~15 MB per subject-day... ~15 GB at 1,000
                w = _child("data-whole", config=config, subjects=n, out=str(Path(tmp) / f"w{n}.npz"))
            note = ("windows.npz " + ("identical" if w and w["sha256"] == c["sha256"] else
                                      "DIFFER" if w else "(whole cohort not run: would need ~15 GB)"))
            note += f"; {c['seconds']:.0f} s chunked" + (f", {w['seconds']:.0f} s whole" if w else "")
            rows.append(_row(f"data stage {n} subjects x 14 d: peak RSS", "chunked", c["peak_mb"],
                             "whole cohort", w["peak_mb"] if w else None, "MB", note))
            detail.append({"subjects": n, "chunked": c, "whole": w})
        for n in synth_cohorts:
            c = _child("synth-chunked", subjects=n, days=14, out=str(Path(tmp) / f"s{n}.csv"))
            w = _child("synth-whole", subjects=n, days=14, out=str(Path(tmp) / f"sw{n}.csv")) if n <= 192 else None
            note = "CSV " + ("identical" if w and w["sha256"] == c["sha256"] else "DIFFER" if w else "(whole not run)")
            rows.append(_row(f"data synth {n} subjects x 14 d: peak RSS", "chunked", c["peak_mb"],
                             "whole cohort", w["peak_mb"] if w else None, "MB", note))
            detail.append({"synth_subjects": n, "chunked": c, "whole": w})
            for f in (f"s{n}.csv", f"sw{n}.csv"):
                (Path(tmp) / f).unlink(missing_ok=True)
    return {"rows": rows, "detail": detail}


# ---------------------------------------------------------------------------------------------
# training under load

_TRAIN_TOML = """
[model]
name = "bench_transformer"
type = "{model_type}"
[model.params]
window_beats = 128
patch_beats = 4
d_model = 64
n_heads = 4
n_layers = 2
ff_dim = 128
dropout = 0.1
[data]
source = "synthetic"
subjects = {subjects}
days = {days}
seed = 7
window_stride = 64
[train]
seed = 0
epochs = {epochs}
batch_size = 64
lr = 0.002
patience = 100
"""

_TODAY = "import sys, torch\nfrom edgekit.cli.main import main\nsys.exit(main())"  # torch first: OpenMP spins


def _weights_sha(model_pt: Path) -> str:
    import torch

    sd = torch.load(model_pt, map_location="cpu", weights_only=True)["state_dict"]
    h = hashlib.sha256()
    for k in sorted(sd):
        h.update(k.encode())
        h.update(sd[k].detach().contiguous().numpy().tobytes())
    return h.hexdigest()


def _hog(seconds: float) -> subprocess.Popen:
    """One CPU-bound process (one core), ending by itself after ``seconds``."""
    code = f"import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    pass\n"
    return subprocess.Popen([sys.executable, "-c", code])


def _train(mode: str, cfg: Path, out: Path) -> float:
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    env.pop("GOMP_SPINCOUNT", None)
    cmd = [sys.executable, "-m", "edgekit"] if mode == "edgekit" else [sys.executable, "-c", _TODAY]
    t = time.perf_counter()
    subprocess.run(cmd + ["train", "--config", str(cfg), "--out", str(out)], env=env, check=True,
                   capture_output=True, timeout=3600)
    return time.perf_counter() - t


def bench_loaded_training(quick: bool = False, subjects: int = 12, days: int = 7, epochs: int = 6,
                          workdir=None) -> dict:
    """Train a small transformer config quiet and next to one CPU-bound process, with edgekit's
    OpenMP setting vs today's; rows: loaded/quiet per mode, and loaded edgekit vs loaded today."""
    if quick:
        subjects, days, epochs = 6, 3, 2
    rows = []
    with tempfile.TemporaryDirectory(prefix="edgekit-bench-train-", dir=workdir) as tmp:
        tmp = Path(tmp)
        cfg = tmp / "bench_transformer.toml"
        from edgekit.tasks.strain import StrainTask

        cfg.write_text(_TRAIN_TOML.format(model_type=StrainTask.type, subjects=subjects, days=days, epochs=epochs))
        subprocess.run([sys.executable, "-c", "import sys\nfrom edgekit.config.load import load_config\n"
                        "from edgekit.data import pipeline\nfrom edgekit.tasks import task_for\n"
                        "cfg = load_config(sys.argv[1])\npipeline.run(cfg, sys.argv[2], task_for(cfg.model.type).examples(cfg))",
                        str(cfg), str(tmp / "build")], check=True, capture_output=True, timeout=3600)
        times: dict = {}
        shas: dict = {}
        for mode in ("today", "edgekit"):
            times[(mode, "quiet")] = _train(mode, cfg, tmp / "build")
            shas[mode] = _weights_sha(tmp / "build" / "bench_transformer" / "train" / "model.pt")
            hog = _hog(30 * times[(mode, "quiet")] + 60)
            try:
                time.sleep(0.5)
                times[(mode, "loaded")] = _train(mode, cfg, tmp / "build")
            finally:
                hog.kill()
                hog.wait()
            shas[mode + " loaded"] = _weights_sha(tmp / "build" / "bench_transformer" / "train" / "model.pt")
    same = len(set(shas.values())) == 1
    note = (f"{subjects} subjects x {days} d, {epochs} epochs, 2 threads; one competing CPU-bound process; "
            f"weights {'bit-identical' if same else 'DIFFER'} across modes and load")
    for mode, label in (("edgekit", "edgekit (GOMP_SPINCOUNT=1000)"), ("today", "today (OpenMP spins)")):
        rows.append(_row(f"train under load: {label}", "loaded", times[(mode, "loaded")], "quiet",
                         times[(mode, "quiet")], "s", note if mode == "edgekit" else ""))
    rows.append(_row("train under load: edgekit vs today", "edgekit loaded", times[("edgekit", "loaded")],
                     "today loaded", times[("today", "loaded")], "s"))
    rows.append(_row("train quiet: edgekit vs today", "edgekit quiet", times[("edgekit", "quiet")],
                     "today quiet", times[("today", "quiet")], "s"))
    return {"rows": rows, "detail": {"seconds": {f"{m} {c}": v for (m, c), v in times.items()},
                                     "weights_sha256": shas, "weights_identical": same}}


def write_polar_log(path: Path, target_mb: float, seed: int = 0) -> int:
    """A Polar Sensor Logger RR file of about ``target_mb`` MB: a chest strap worn for days, one
    ``ISO 8601 time;RR ms`` line per beat as the app writes them (ms precision, no zone), a 1-3 min
    gap (strap off) about hourly. Returns the beat count."""
    rng = np.random.default_rng(seed)
    beats = 0
    t = 1.7e9
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("Phone timestamp;RR-interval [ms]\n")
        while fh.tell() < target_mb * 1e6:
            rr_ms = np.clip(850.0 + 120.0 * np.sin(np.arange(4000) / 300.0 + beats)
                            + rng.normal(0.0, 35.0, 4000), 350.0, 1800.0).round(1)
            times = t + np.cumsum(rr_ms) / 1000.0
            stamps = np.datetime_as_string((times * 1000.0).round().astype("datetime64[ms]"), unit="ms")
            fh.write("".join(f"{x};{r:g}\n" for x, r in zip(stamps.tolist(), rr_ms.tolist())))
            t = float(times[-1]) + (rng.uniform(60.0, 180.0) if rng.random() < 0.25 else 0.0)
            beats += len(rr_ms)
    return beats


def bench_recording_ingest(quick: bool = False, sizes_mb: tuple[float, ...] | None = None, workdir=None) -> dict:
    """Streamed vs whole-table ingest of a long Polar RR log (``data ingest --format polar``; rr-text
    and CSV go through the same chunked reader). Rows: MB/s and peak MB of each, byte equality."""
    if sizes_mb is None:
        sizes_mb = (5.0,) if quick else ((100.0, 400.0) if LARGE else (100.0,))
    rows, detail = [], []
    with tempfile.TemporaryDirectory(prefix="edgekit-bench-polar-", dir=workdir) as tmp:
        for mb in sizes_mb:
            log = Path(tmp) / "polar_RR.txt"
            beats = write_polar_log(log, mb)
            size = log.stat().st_size / 1e6
            r, d = _stream_vs_whole("polar ingest", "recording-stream", [str(log)], tmp, size, beats,
                                    f"{size:.0f} MB Polar RR log, {beats} beats", fmt="polar")
            rows += r
            detail.append({"beats": beats, **d})
            for f in ("stream.csv", "whole.csv", "polar_RR.txt"):
                (Path(tmp) / f).unlink(missing_ok=True)
    return {"rows": rows, "detail": detail}


BENCHMARKS = {"ingest": bench_ingest, "recordings": bench_recording_ingest, "cohort": bench_cohort_memory,
              "train": bench_loaded_training}


def run_all(quick: bool = False) -> dict:
    out = {}
    for name, fn in BENCHMARKS.items():
        out[name] = fn(quick=quick)
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.bench_scale [all|ingest|recordings|cohort|train] [--quick]`` (JSON to stdout)."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_scale", description=main.__doc__)
    ap.add_argument("what", nargs="?", default="all", choices=("all", *BENCHMARKS))
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args(argv)
    res = run_all(a.quick) if a.what == "all" else BENCHMARKS[a.what](quick=a.quick)
    print(json.dumps(res, indent=2, default=float))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
