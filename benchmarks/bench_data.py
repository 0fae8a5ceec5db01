"""Data-layer benchmarks (``make bench`` runs these side by side in one process).

- :func:`bench_cleaning`: cleaning + features on 100,000 beats: edgekit vs NeuroKit2
  ``signal_fixpeaks(method="Kubios")`` vs hrv-analysis, time and RMSSD error vs the clean truth.
- :func:`bench_apple_health`: streaming Apple Health reader vs a naive ``ElementTree.parse`` of a
  generated export; time, MB/s and peak memory (each measured in a fresh subprocess).
- :func:`check_large_export` (not part of ``make bench``): a 300 MB export read with peak RSS
  < 300 MB, >= 40 MB/s, exact counts: ``python -m benchmarks.bench_data large-export [--mb 300]``.

Also holds the generators the tests share: :func:`inject_artifacts` and :func:`write_export`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

# ---------------------------------------------------------------------------------------------
# artifact injection (shared with tests)
# ---------------------------------------------------------------------------------------------

ECTOPIC, MISSED, EXTRA = 4, 8, 16  # same bits as edgekit.data.rr.Flag


def inject_artifacts(rr: np.ndarray, fraction: float, rng: np.random.Generator,
                     min_spacing: int = 5) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, int]]]:
    """Inject ``fraction * len(rr)`` events, the three kinds mixed in equal shares.

    - ectopic: a premature beat with compensatory pause: RR_j -= d, RR_{j+1} += d, d in [25, 40] %
    - missed: RR_j and RR_{j+1} merged into one interval
    - extra: RR_j split into two at a random point in [30, 70] %

    Returns (corrupted rr, per-beat truth flags, events as (start, stop, kind) in the corrupted
    series' indices).
    """
    rr = np.asarray(rr, dtype=np.float64)
    n = len(rr)
    k = int(round(fraction * n))
    pos: list[int] = []
    cand = np.arange(3, n - 4)
    while len(pos) < k:
        q = int(rng.choice(cand))
        if all(abs(q - p) >= min_spacing for p in pos):
            pos.append(q)
    kinds = [ECTOPIC, MISSED, EXTRA] * (k // 3 + 1)
    kinds = kinds[:k]
    rng.shuffle(kinds)
    out = rr.tolist()
    truth = [0] * n
    for q, kind in sorted(zip(pos, kinds), reverse=True):
        if kind == ECTOPIC:
            d = rng.uniform(0.25, 0.40) * out[q]
            out[q] -= d
            out[q + 1] += d
            truth[q] = truth[q + 1] = ECTOPIC
        elif kind == MISSED:
            out[q] = out[q] + out[q + 1]
            del out[q + 1]
            del truth[q + 1]
            truth[q] = MISSED
        else:
            a = rng.uniform(0.3, 0.7) * out[q]
            out[q:q + 1] = [a, out[q] - a]
            truth[q:q + 1] = [EXTRA, EXTRA]
    truth_a = np.array(truth, np.int64)
    events = []
    i = 0
    while i < len(truth_a):
        if truth_a[i]:
            j = i + 1
            while j < len(truth_a) and truth_a[j] == truth_a[i] and truth_a[i] != MISSED and j - i < 2:
                j += 1
            events.append((i, j, int(truth_a[i])))
            i = j
        else:
            i += 1
    return np.array(out), truth_a, events


def match_events(truth_events, detected_spans) -> tuple[float, float]:
    """Per-event recall and precision: a detection matches a truth event when their spans overlap
    or touch (one interval tolerance); each side is matched at most once."""
    det = sorted(detected_spans)
    used = [False] * len(det)
    hit = 0
    starts = [a for a, _ in det]
    import bisect

    for a, b, _ in truth_events:
        lo = bisect.bisect_left(starts, a - 3)
        for e in range(lo, len(det)):
            da, db = det[e]
            if da > b:
                break
            if not used[e] and da <= b and db >= a - 1 + 0 and db > a - 1:
                used[e] = True
                hit += 1
                break
    recall = hit / len(truth_events) if truth_events else 1.0
    precision = sum(used) / len(det) if det else 1.0
    return recall, precision


# ---------------------------------------------------------------------------------------------
# generated Apple Health export (shared with tests)
# ---------------------------------------------------------------------------------------------

_DTD = """<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 14 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary|ClinicalRecord)*)>
<!ATTLIST HealthData
  locale CDATA #REQUIRED
>
<!ELEMENT ExportDate EMPTY>
<!ATTLIST ExportDate
  value CDATA #REQUIRED
>
<!ELEMENT Me EMPTY>
<!ATTLIST Me
  HKCharacteristicTypeIdentifierDateOfBirth CDATA #REQUIRED
>
<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>
<!ATTLIST Record
  type CDATA #REQUIRED
  unit CDATA #IMPLIED
  value CDATA #IMPLIED
  sourceName CDATA #REQUIRED
  startDate CDATA #REQUIRED
  endDate CDATA #REQUIRED
>
<!ELEMENT MetadataEntry EMPTY>
<!ELEMENT HeartRateVariabilityMetadataList (InstantaneousBeatsPerMinute*)>
<!ELEMENT InstantaneousBeatsPerMinute EMPTY>
<!ATTLIST InstantaneousBeatsPerMinute
  bpm CDATA #REQUIRED
  time CDATA #REQUIRED
>
]>
"""


def _fmt_tod(sec: float, style: int) -> str:
    sec = sec % 86400
    h = int(sec // 3600)
    m = int(sec % 3600 // 60)
    s = sec % 60
    cs = int(round((s - int(s)) * 100))
    si = int(s)
    if cs == 100:
        cs = 99
    if style == 0:  # en_US
        h12 = h % 12 or 12
        return f"{h12}:{m:02d}:{si:02d}.{cs:02d} {'PM' if h >= 12 else 'AM'}"
    if style == 1:  # 24 h, dot decimal
        return f"{h:02d}:{m:02d}:{si:02d}.{cs:02d}"
    if style == 3:  # en_US on iOS 17+: narrow no-break space before the AM/PM marker
        h12 = h % 12 or 12
        return f"{h12}:{m:02d}:{si:02d}.{cs:02d}\u202f{'PM' if h >= 12 else 'AM'}"
    return f"{h:02d}:{m:02d}:{si:02d},{cs:02d}"  # 24 h, comma decimal (de_DE, fr_FR)


def write_export(path: str | Path, target_mb: float = 4.0, seed: int = 0, hrv_every: int = 25,
                 beats_per_record: int = 60) -> dict:
    """Write a synthetic Apple Health export of about ``target_mb`` MB: mostly filler heart-rate
    records with metadata, and every ``hrv_every``-th record an HRV record with a beat list.
    Returns exact counts (records, hrv_records, beats, intervals) for tests."""
    rng = np.random.default_rng(seed)
    path = Path(path)
    target = int(target_mb * 1e6)
    n_rec = n_hrv = n_beats = n_int = 0
    t0 = 1704067200 + 3600 * 23  # 2024-01-01 23:00 UTC (+0000): crosses midnight early on
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        fh.write(_DTD)
        fh.write('<HealthData locale="en_US">\n <ExportDate value="2024-02-01 10:00:00 +0000"/>\n')
        fh.write(' <Me HKCharacteristicTypeIdentifierDateOfBirth="1990-01-01"/>\n')
        written = 0
        t = float(t0)
        while written < target:
            buf = []
            for _ in range(200):
                n_rec += 1
                t += 97.0
                ts = time.strftime("%Y-%m-%d %H:%M:%S +0000", time.gmtime(t))
                if n_rec % hrv_every == 0:
                    n_hrv += 1
                    style = n_hrv % 4
                    buf.append(f' <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" '
                               f'sourceName="Watch" unit="ms" value="41.5" startDate="{ts}" endDate="{ts}">\n'
                               f'  <HeartRateVariabilityMetadataList>\n')
                    bt = t + 0.5
                    for b in range(beats_per_record):
                        rr = 0.8 + 0.05 * rng.standard_normal()
                        bt += rr
                        bpm = int(round(60.0 / rr))
                        buf.append(f'   <InstantaneousBeatsPerMinute bpm="{bpm}" time="{_fmt_tod(bt, style)}"/>\n')
                    n_beats += beats_per_record
                    buf.append("  </HeartRateVariabilityMetadataList>\n </Record>\n")
                    t = bt
                else:
                    buf.append(f' <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Watch" '
                               f'unit="count/min" value="{60 + n_rec % 40}" startDate="{ts}" endDate="{ts}">\n'
                               f'  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="0"/>\n'
                               f' </Record>\n')
            s = "".join(buf)
            fh.write(s)
            written += len(s)
        fh.write("</HealthData>\n")
    return {"records": n_rec, "hrv_records": n_hrv, "beats": n_beats, "bytes": path.stat().st_size}


# ---------------------------------------------------------------------------------------------
# benchmarks
# ---------------------------------------------------------------------------------------------


def _clean_series(n: int, seed: int) -> np.ndarray:
    """A long clean RR series: the real pyhrv NNI sample tiled with jitter when available, else
    the synthetic spectral model."""
    from edgekit.data.synth import cohort as synth

    co = synth.generate(subjects=3, days=1, seed=seed, artifacts=False)
    base = np.concatenate(co.clean_rr)
    try:
        import pyhrv  # noqa: F401  (only for its data file)
    except Exception:
        pass
    reps = int(np.ceil(n / len(base)))
    return np.tile(base, reps)[:n]


def bench_cleaning(n_beats: int = 100_000, fraction: float = 0.02, seed: int = 0, quick: bool = False) -> dict:
    """edgekit Kubios cleaning + features vs NeuroKit2 Kubios vs hrv-analysis (time, RMSSD error).

    ``quick`` uses 20,000 beats."""
    if quick:
        n_beats = min(n_beats, 20_000)
    from edgekit.data.signal.clean import clean
    from edgekit.data.signal.features import time_domain, frequency_domain
    from edgekit.data.rr import RRTable

    rng = np.random.default_rng(seed)
    x = _pyhrv_nni()
    reps = int(np.ceil(n_beats / len(x)))
    truth_rr = np.concatenate([x] * reps)[:n_beats]
    bad, _, events = inject_artifacts(truth_rr, fraction, rng)
    rm_true = float(np.sqrt(np.mean(np.diff(truth_rr) ** 2)))
    out: dict = {"n_beats": n_beats, "artifact_fraction": fraction, "rmssd_truth_ms": rm_true}

    t = time.perf_counter()
    tab = RRTable(np.full(len(bad), "b"), np.zeros(len(bad), np.int64), np.cumsum(bad) / 1000.0, bad,
                  np.zeros(len(bad), np.int64))
    res = clean(tab, "kubios")
    feats = time_domain(res.table.rr_ms, res.table.segment)
    feats.update(frequency_domain(res.table.rr_ms, res.table.time_s, res.table.segment))
    t_ek = time.perf_counter() - t
    from edgekit.data.signal.clean import _resolve, detect_kubios

    # detection quality of the first pass (outside the timing)
    spans = [(a, b) for a, b, _, _ in _resolve(detect_kubios(bad, np.zeros(len(bad), np.int64)), len(bad))]
    rec, prec = match_events(events, spans)
    out["edgekit"] = {"seconds": t_ek, "rmssd_ms": feats["rmssd_ms"],
                      "rmssd_err_pct": 100 * (feats["rmssd_ms"] - rm_true) / rm_true,
                      "n_corrected": res.n_corrected, "n_beats_out": len(res.table),
                      "recall": rec, "precision": prec}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import neurokit2 as nk

            peaks = np.concatenate([[0], np.cumsum(np.round(bad).astype(np.int64))])
            t = time.perf_counter()
            _, fixed = nk.signal_fixpeaks(peaks, sampling_rate=1000, method="Kubios", iterative=True)
            rr_nk = np.diff(fixed).astype(float)
            rm_nk = float(np.sqrt(np.mean(np.diff(rr_nk) ** 2)))
            t_nk = time.perf_counter() - t
            # detection quality: the first (non-iterative) pass; NeuroKit2 indexes artifacts by peak,
            # peak p ends interval p-1: the span covers both intervals next to the peak
            info, _ = nk.signal_fixpeaks(peaks, sampling_rate=1000, method="Kubios", iterative=False)
            nk_spans = sorted((int(p) - 1, int(p) + 1) for key in ("ectopic", "missed", "extra", "longshort")
                              for p in np.asarray(info.get(key, []), np.int64))
            rec_nk, prec_nk = match_events(events, nk_spans)
            out["neurokit2_kubios"] = {"seconds": t_nk, "rmssd_ms": rm_nk,
                                       "rmssd_err_pct": 100 * (rm_nk - rm_true) / rm_true,
                                       "n_beats_out": len(rr_nk), "recall": rec_nk, "precision": prec_nk}
            out["speedup_vs_neurokit2"] = t_nk / t_ek
        except Exception as exc:  # pragma: no cover - optional dependency
            out["neurokit2_kubios"] = {"error": str(exc).splitlines()[0]}
        try:
            ha = import_hrvanalysis()
            get_frequency_domain_features, get_time_domain_features = (ha.get_frequency_domain_features,
                                                                       ha.get_time_domain_features)
            interpolate_nan_values, remove_ectopic_beats, remove_outliers = (
                ha.interpolate_nan_values, ha.remove_ectopic_beats, ha.remove_outliers)

            t = time.perf_counter()
            r1 = remove_outliers(rr_intervals=bad.tolist(), low_rri=300, high_rri=2000, verbose=False)
            r2 = interpolate_nan_values(r1)
            r3 = remove_ectopic_beats(r2, method="malik", verbose=False)
            r4 = interpolate_nan_values(r3)
            td = get_time_domain_features(r4)
            get_frequency_domain_features(r4)
            t_ha = time.perf_counter() - t
            out["hrv_analysis_malik"] = {"seconds": t_ha, "rmssd_ms": td["rmssd"],
                                         "rmssd_err_pct": 100 * (td["rmssd"] - rm_true) / rm_true}
        except Exception as exc:  # pragma: no cover
            out["hrv_analysis_malik"] = {"error": str(exc).splitlines()[0]}
    return out


def import_hrvanalysis():
    """Import hrv-analysis 1.0.4 (test extra) on current astropy.

    It imports ``astropy.stats.LombScargle``, which astropy 6 removed (the class has lived in
    ``astropy.timeseries`` since 3.2): the alias is added before the import. Its nolds needs the pins
    in constraints.txt (nolds 0.6.2, setuptools < 81). Raises ImportError when not installed.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import astropy.stats
        import astropy.timeseries

        if not hasattr(astropy.stats, "LombScargle"):
            astropy.stats.LombScargle = astropy.timeseries.LombScargle
        import hrvanalysis
    return hrvanalysis


def _pyhrv_nni() -> np.ndarray:
    """pyhrv's long sample NNI series (ms), read from the installed package's data file."""
    import importlib.util

    spec = importlib.util.find_spec("pyhrv")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pyhrv (test extra) is not installed")
    p = Path(list(spec.submodule_search_locations)[0]) / "files" / "SampleNNISeriesLong.npy"
    return np.load(p).astype(np.float64)


_CHILD = r"""
import json, resource, sys, time
mode, path = sys.argv[1], sys.argv[2]
t = time.perf_counter()
extra = {}
if mode == "stream":
    from edgekit.data.readers import apple_health
    tab = apple_health.read_export(path)
    n = len(tab)
    extra = {"records": tab.meta["records"], "beats": tab.meta["beats"], "path": tab.meta.get("path")}
else:
    import xml.etree.ElementTree as ET
    root = ET.parse(path).getroot()
    n = 0
    for rec in root.iter("Record"):
        if rec.get("type") == "HKQuantityTypeIdentifierHeartRateVariabilitySDNN":
            n += max(len(rec.findall("./HeartRateVariabilityMetadataList/InstantaneousBeatsPerMinute")) - 1, 0)
dt = time.perf_counter() - t
def hwm():
    # VmHWM is per address space (reset by exec); ru_maxrss can carry the parent's peak over exec
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": dt, "intervals": n, "peak_rss_mb": hwm(), **extra}))
"""


def _run_child(mode: str, path: Path) -> dict:
    r = subprocess.run([sys.executable, "-c", _CHILD, mode, str(path)], capture_output=True, text=True,
                       check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def _baseline_rss_mb() -> float:
    r = subprocess.run([sys.executable, "-c", "import edgekit.data.readers.apple_health\n"
                        "print([int(l.split()[1]) / 1024 for l in open('/proc/self/status') "
                        "if l.startswith('VmHWM:')][0])"],
                       capture_output=True, text=True, check=True)
    return float(r.stdout.strip())


LARGE_EXPORT_MB = 300.0  # the large-export check: peak RSS and speed limits below
LARGE_MAX_PEAK_MB = 300.0
MIN_MB_PER_S = 40.0


def bench_apple_health(target_mb: float = 60.0, workdir: str | Path | None = None, quick: bool = False,
                       baseline: bool | None = None) -> dict:
    """Streaming reader vs ElementTree.parse on a generated export (each in its own process).

    ``quick`` uses an 8 MB export; ``baseline=False`` skips ElementTree (default: only up to 100 MB,
    it needs ~10x the file in memory). The result says whether the counts are exact and, for the
    reader, its peak RSS, MB/s and whether the fast path read the file (``path``).
    """
    if quick:
        target_mb = min(target_mb, 8.0)
    if baseline is None:
        baseline = target_mb <= 100
    tmp = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="edgekit-bench-"))
    path = tmp / "export.xml"
    try:
        counts = write_export(path, target_mb=target_mb)
        mb = counts["bytes"] / 1e6
        exp_int = counts["beats"] - counts["hrv_records"]  # one anchor beat per record
        out = {"name": f"apple-health {mb:.0f} MB", "file_mb": mb, "expected_intervals": exp_int,
               "expected_records": counts["hrv_records"], "expected_beats": counts["beats"]}
        base = _baseline_rss_mb()
        for mode in ("stream", "elementtree") if baseline else ("stream",):
            r = _run_child(mode, path)
            r["mb_per_s"] = mb / r["seconds"]
            r["counts_exact"] = r["intervals"] == exp_int and r.get("records", counts["hrv_records"]) == \
                counts["hrv_records"] and r.get("beats", counts["beats"]) == counts["beats"]
            out[mode] = r
        out["interpreter_baseline_rss_mb"] = base
        # rows for `make bench` (benchmarks.bench.data_section)
        out.update({"a": "edgekit stream", "a_value": out["stream"]["seconds"], "unit": "s"})
        if baseline:
            out.update({"b": "ElementTree.parse", "b_value": out["elementtree"]["seconds"]})
        out["note"] = (f"{out['stream']['mb_per_s']:.0f} MB/s, peak {out['stream']['peak_rss_mb']:.0f} MB, "
                       f"counts {'exact' if out['stream']['counts_exact'] else 'WRONG'}")
    finally:
        if not workdir:
            path.unlink(missing_ok=True)
            os.rmdir(tmp)
    return out


def check_large_export(target_mb: float = LARGE_EXPORT_MB, workdir: str | Path | None = None) -> dict:
    """The large-export check: a generated ``target_mb`` export read with peak RSS below
    LARGE_MAX_PEAK_MB, at least MIN_MB_PER_S, exact counts (no ElementTree baseline)."""
    r = bench_apple_health(target_mb, workdir=workdir, baseline=False)
    s = r["stream"]
    r["limits"] = {"peak_rss_mb": LARGE_MAX_PEAK_MB, "mb_per_s": MIN_MB_PER_S}
    r["ok"] = bool(s["counts_exact"] and s["peak_rss_mb"] < LARGE_MAX_PEAK_MB and s["mb_per_s"] >= MIN_MB_PER_S
                   and s.get("path") == "fast")
    return r


def run_all(quick: bool = False) -> dict:
    return {"cleaning": bench_cleaning(quick=quick), "apple_health": bench_apple_health(quick=quick)}


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.bench_data [all|cleaning|apple-health|large-export] [--mb N] [--quick]``"""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_data", description=main.__doc__)
    ap.add_argument("what", nargs="?", default="all", choices=("all", "cleaning", "apple-health", "large-export"))
    ap.add_argument("--mb", type=float, default=None, help="export size (apple-health: 60, large-export: 300)")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args(argv)
    if a.what == "all":
        res = run_all(a.quick)
    elif a.what == "cleaning":
        res = bench_cleaning(quick=a.quick)
    elif a.what == "apple-health":
        res = bench_apple_health(a.mb or 60.0, quick=a.quick)
    else:
        res = check_large_export(a.mb or LARGE_EXPORT_MB)
    print(json.dumps(res, indent=2, default=float))
    return 0 if res.get("ok", True) else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
