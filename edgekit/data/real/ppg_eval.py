"""The ppg reader on real recordings (``realdata/ppg``): how close the heart rate and RMSSD it derives
come to a reference recorded at the same time, per recording, labelled by split.

- A recording with the device's own HR (``read.hr_column``): the reader's minute-by-minute check
  (:func:`edgekit.data.readers.signals.hr_check`): minutes compared, within 5 bpm, median |difference|.
- A recording with a reference RR file (``known.reference``, a chest strap): derived vs reference
  mean HR (60000 / mean RR of the cleaned beats) and RMSSD (Kubios-cleaned, docs/data.md), and the
  share of the recording's length the derived beats cover.

Run: ``python -m edgekit.data.real.ppg_eval realdata/ppg`` (a Markdown table on stdout; figures are real).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

from edgekit.data.real.manifest import RealSet, Recording, load_set
from edgekit.core.errors import InputError
from edgekit.data.readers import formats as readers
from edgekit.data.signal.clean import clean
from edgekit.data.signal.features import all_features


def _read(rec: Recording):
    opts = dict(rec.read)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return readers.read([rec.path], rec.format, **opts)


def _hr_rmssd(table) -> tuple[float, float]:
    res = clean(table)
    f = all_features(res.table, res.n_corrected)
    return 60000.0 / float(np.mean(res.table.rr_ms)), float(f["rmssd_ms"])


def evaluate_recording(real: RealSet, rec: Recording) -> dict:
    """One PPG recording against its reference (module docstring); ``error`` when it cannot be read."""
    row: dict = {"id": rec.id, "split": rec.split, "profile": rec.profile, "person": rec.person}
    try:
        table = _read(rec)
    except InputError as exc:
        return {**row, "error": str(exc)}
    row["beats"] = int(len(table))
    row["warnings"] = list(table.meta.get("warnings", []))
    checks = table.meta.get("hr_check") or {}
    if checks:
        row["device_hr"] = next(iter(checks.values()))
    ref = rec.known.get("reference")
    if ref:
        ref_rec = next(r for r in real.recordings if r.path == (real.root / ref).resolve())
        ref_table = _read(ref_rec)
        hr, rmssd = _hr_rmssd(table)
        ref_hr, ref_rmssd = _hr_rmssd(ref_table)
        span = float(ref_table.rr_ms.sum()) / 1000.0
        row.update(hr_bpm=hr, ref_hr_bpm=ref_hr, hr_error_bpm=hr - ref_hr, rmssd_ms=rmssd,
                   ref_rmssd_ms=ref_rmssd, rmssd_error_ms=rmssd - ref_rmssd,
                   coverage=min(1.0, float(table.rr_ms.sum()) / 1000.0 / span) if span else None)
    return row


def evaluate_set(root: str | Path) -> list[dict]:
    """Every PPG recording of the set (format ppg or ecg), in manifest order."""
    real = load_set(root)
    return [evaluate_recording(real, r) for r in real.recordings if r.format in ("ppg", "ecg")]


def markdown(rows: list[dict]) -> str:
    out = ["| recording | split | beats | derived vs reference | RMSSD derived / reference ms |",
           "|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            out.append(f"| {r['id']} | {r['split']} | — | not read: {r['error'][:80]} | — |")
            continue
        if "device_hr" in r:
            d = r["device_hr"]
            cmp = (f"HR within 5 bpm of the watch in {d['within_5_bpm']} of {d['minutes']} minutes "
                   f"(median |Δ| {d['median_abs_diff_bpm']:.1f} bpm)") if d.get("minutes") else "no minute compared"
            out.append(f"| {r['id']} | {r['split']} | {r['beats']} | {cmp} | — |")
        else:
            out.append(f"| {r['id']} | {r['split']} | {r['beats']} | HR {r['hr_bpm']:.1f} vs {r['ref_hr_bpm']:.1f} bpm "
                       f"(Δ {r['hr_error_bpm']:+.1f}), {100 * r['coverage']:.0f} % covered | "
                       f"{r['rmssd_ms']:.0f} / {r['ref_rmssd_ms']:.0f} |")
    ok = [r for r in rows if "hr_error_bpm" in r]
    for split in ("tune", "holdout"):
        s = [r for r in ok if r["split"] == split]
        if s:
            e = np.abs([r["hr_error_bpm"] for r in s])
            m = np.abs([r["rmssd_error_ms"] for r in s])
            out.append(f"\n**{split}** ({len(s)} recordings with a chest-strap reference, real): median |HR error| "
                       f"{np.median(e):.1f} bpm, {int((e <= 5).sum())} of {len(s)} within 5 bpm; median |RMSSD "
                       f"error| {np.median(m):.0f} ms")
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover - a measurement command
    print(markdown(evaluate_set(sys.argv[1] if len(sys.argv) > 1 else "realdata/ppg")))
