"""CLI verbs of the data layer: ``edgekit data synth|ingest|coverage`` and ``edgekit hrv`` (``data push``:
:mod:`edgekit.cli.push`; the reader options they share: :mod:`edgekit.cli.inputs`).

``register(subparsers)`` adds them to the main parser (edgekit/cli/main.py). Each handler returns an exit
code; user errors raise :class:`edgekit.core.errors.InputError` (printed as ``edgekit: error: ...``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from edgekit.core.errors import InputError
from edgekit.core.log import echo, echo_err, progress_disabled, status, warning
from edgekit.cli.inputs import (_add_reader_options, _check_inputs_differ_from_output, _read, _subjects,
                                add_baseline_options, baseline_of)
from edgekit.cli.push import register_push
from edgekit.core.fileio import check_output_file, dumps_strict, atomic_path
from edgekit.data.clock import utc_offset_seconds
from edgekit.data.readers import formats as readers
from edgekit.data.readers.stream import ingest_apple_health, ingest_recordings
from edgekit.data.rr import write_csv
from edgekit.data.signal.baseline_text import text_lines
from edgekit.data.signal.clean import clean
from edgekit.data.synth import cohort as synth
from edgekit.data.synth.cohort import RECORDINGS
from edgekit.data.synth.coverage import measure


def register(subparsers):
    """Add ``data`` (and its sub-verbs) and ``hrv``; returns the ``data`` sub-parsers (edgekit/cli/main.py adds
    ``data windows``, the data stage, which needs the build layer)."""
    fmt = argparse.RawDescriptionHelpFormatter
    data = subparsers.add_parser(
        "data", help="synthetic cohort, RR ingestion, push to InfluxDB",
        description="Build RR tables: a labelled SYNTHETIC cohort, or ingest recordings; push them to InfluxDB.",
        formatter_class=fmt)
    dsub = data.add_subparsers(dest="data_cmd", metavar="{synth,ingest,push,coverage,windows}")
    data.set_defaults(func=lambda a: (data.print_help(), 2)[1])

    s = dsub.add_parser(
        "synth", help="write the labelled synthetic cohort (simulated data)",
        formatter_class=fmt,
        description=(
            "Write a labelled SYNTHETIC cohort: simulated RR intervals (McSharry et al. 2003 spectral\n"
            "model), states healthy / strained / burnout_risk, latent recovery and fatigue score,\n"
            "injected artifacts with ground-truth flags. No real subjects; see docs/synthetic_cohort.md."),
        epilog=("examples:\n"
                "  edgekit data synth --out build/cohort.csv\n"
                "  edgekit data synth --out small.csv --subjects 6 --days 3 --seed 1\n"
                "  edgekit data synth --out person.csv --subjects 1 --days 20 --seed 99 --profile atypical\n"
                "\nThe CSV is a labelled RR table (docs/data.md 'Labelled files'): columns label and\n"
                "fatigue_score make it usable as data.inputs for training and fine-tuning."))
    s.add_argument("--out", required=True,
                   help="output CSV (RR table plus label, fatigue_score, recovery and truth columns); "
                        "an existing file is replaced only with --force, a directory never")
    s.add_argument("--force", action="store_true", help="replace an existing output file")
    s.add_argument("--subjects", type=int, default=48, help="simulated people (default 48)")
    s.add_argument("--days", type=int, default=14, help="days simulated per person (default 14)")
    s.add_argument("--seed", type=int, default=7, help="random seed: the same seed gives the same file (default 7)")
    s.add_argument("--profile", default="population", choices=("population", "atypical"),
                   help="population: baselines drawn from the population (default); atypical: a person "
                        "off the population (HR 80 bpm, RMSSD scale 17 ms, variable proneness)")
    s.add_argument("--profiles", default="spot", metavar="P[,P...]",
                   help="recording profiles assigned to subjects in turn (deterministic by seed): spot "
                        "(hourly 150 s, default), watch (background ~1 min readings every 2-5 h), breathe "
                        "(watch + 1-5 min sessions), strap (30-60 min and overnight chest strap)")
    s.add_argument("--hr0", type=float, default=None,
                   help="override every subject's resting HR, bpm (default: drawn per subject)")
    s.add_argument("--rmssd0", type=float, default=None,
                   help="override every subject's RMSSD scale, ms (default: drawn per subject)")
    s.add_argument("--proneness", choices=("resilient", "variable", "prone"), default=None,
                   help="override every subject's proneness type (state transition matrix; default: drawn)")
    s.set_defaults(func=cmd_synth)

    g = dsub.add_parser(
        "ingest", help="read recordings into an RR table CSV",
        formatter_class=fmt,
        description=("Read recordings into one RR table (CSV: subject,segment,time_s,rr_ms,flags).\n"
                     "One row per RR interval; a gap ends a segment; HeartPy-rejected peaks are\n"
                     "flagged, not dropped. Nothing is written when any input is bad. rr-text, polar,\n"
                     "csv and apple-health are streamed (memory independent of the file's size)."),
        epilog=("examples:\n"
                "  edgekit data ingest rec.txt --format rr-text --out rr.csv\n"
                "  edgekit data ingest polar_RR.txt --format polar --out rr.csv\n"
                "  edgekit data ingest ppg.csv --format ppg --sample-rate 100 --out rr.csv\n"
                "  edgekit data ingest export.xml --format apple-health --out rr.csv"))
    g.add_argument("inputs", nargs="+", type=Path, metavar="INPUT")
    _add_reader_options(g)
    g.add_argument("--out", required=True,
                   help="output CSV path; an existing file is replaced only with --force, a directory never")
    g.add_argument("--force", action="store_true", help="replace an existing output file")
    g.set_defaults(func=cmd_ingest)
    register_push(dsub)

    c = dsub.add_parser(
        "coverage", help="per recording profile: how often today's and the watch inputs can be made",
        formatter_class=fmt,
        description=("Simulate a SYNTHETIC cohort with the given recording profiles, clean it, and report per\n"
                     "profile the fraction of readings for which a strain input can be made (128-beat window\n"
                     "today; a single reading of >= 45 beats) and of wake-ups for which a forecast input can\n"
                     "be made (22 of 24 complete hours today; hourly slots), for the held-out subjects of the\n"
                     "train stage's split and for all subjects. JSON on stdout."),
        epilog="example:\n  edgekit data coverage --profiles watch,spot,strap,breathe --subjects 24 --days 7")
    c.add_argument("--subjects", type=int, default=24, help="simulated people (default 24, at least 3)")
    c.add_argument("--days", type=int, default=7, help="days simulated per person (default 7, at least 2)")
    c.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    c.add_argument("--profiles", default="watch,spot,strap,breathe", metavar="P[,P...]",
                   help="recording profiles assigned to subjects in turn (default watch,spot,strap,breathe)")
    c.add_argument("--max-artifact-pct", type=float, default=5.0,
                   help="artifact limit of today's contracts, %% of beats (default 5)")
    c.add_argument("--reading-max-artifact-pct", type=float, default=None,
                   help="artifact limit of the watch contracts, %% of beats (default: --max-artifact-pct)")
    c.add_argument("--min-beats", type=int, default=45, help="beats a reading needs (default 45)")
    c.set_defaults(func=cmd_coverage)

    h = subparsers.add_parser(
        "hrv", help="clean a recording and print its HRV features",
        formatter_class=fmt,
        description=("Clean a recording (bounds + artifact correction) and compute HRV features\n"
                     "(Task Force 1996): RMSSD, SDNN, pNN50, mean RR/HR, SD1/SD2, LF/HF (Welch, 4 Hz).\n"
                     "Then the wearer's own baseline of each subject, label-free: per day the ln RMSSD of\n"
                     "the night readings, its 7-day mean and CV, the 60-day normal range and the trend\n"
                     "(docs/baseline.md; days of readings each figure needs are printed when missing).\n"
                     "Without --format, the file is read only when its format is certain from its\n"
                     "content: edgekit's RR table CSV, an Apple Health export.xml, a Polar RR file.\n"
                     "A bare column of numbers needs --format rr-text, ppg or ecg."),
        epilog=("examples:\n"
                "  edgekit hrv rec.txt --format rr-text\n"
                "  edgekit hrv export.xml --format apple-health --json\n"
                "  edgekit hrv rr.csv --format csv --column rr_ms --clean malik"))
    h.add_argument("input", type=Path, metavar="INPUT")
    _add_reader_options(h)
    h.add_argument("--clean", choices=("kubios", "malik", "none"), default="kubios",
                   help="artifact correction method (default kubios)")
    h.add_argument("--min-rr", type=float, default=300.0, help="lower physiological bound, ms (default 300)")
    h.add_argument("--max-rr", type=float, default=2000.0, help="upper physiological bound, ms (default 2000)")
    h.add_argument("--json", action="store_true",
                   help="print strict JSON instead of a table (undefined values are null)")
    add_baseline_options(h)
    h.set_defaults(func=cmd_hrv)
    return dsub


def cmd_ingest(args) -> int:
    out = check_output_file(args.out, force=args.force)
    if args.fmt is None:
        raise InputError("data ingest: --format is required (ppg, ecg, polar, rr-text, csv, apple-health, fit)")
    _check_inputs_differ_from_output(args.inputs, out)
    if args.fmt == "apple-health" and args.start is not None:
        raise InputError(f"{args.inputs[0]}: an Apple Health export has its own clock; --start is for recordings "
                         f"without one")
    if args.fmt == "apple-health":  # streamed: written as it is parsed, memory independent of the export
        r = ingest_apple_health(args.inputs, out)
        status(f"wrote {r['rows']} RR intervals in {r['segments']} segments to {out}")
        return 0
    if args.fmt in readers.STREAMED_FORMATS:  # streamed too: written chunk by chunk as it is read
        r = ingest_recordings(args.inputs, out, args.fmt, subjects=_subjects(args, len(args.inputs)),
                              column=args.column, time_column=args.time_column, unit=args.unit,
                              gap_s=args.gap_s, start=args.start)
        status(f"wrote {r['rows']} RR intervals in {r['segments']} segments to {out}")
        return 0
    table = _read(args, args.inputs)  # ppg / ecg: HeartPy finds the peaks of the whole signal

    for line in table.meta.get("warnings", []):
        warning(line)
    write_csv(table, out)
    n_seg = len(set(zip(table.subject.tolist(), table.segment.tolist())))
    status(f"wrote {len(table)} RR intervals in {n_seg} segments to {out}")
    return 0


HRV_MAX_ARTIFACT_PCT = 20.0  # edgekit hrv: more artifact beats than this (%) gives a warning


def hrv_warnings(table, feats: dict, where: str) -> list[str]:
    """The reader's warnings, else one for a recording that is mostly artifacts."""
    out = list(table.meta.get("warnings", []))
    if not out and feats.get("artifact_pct") is not None and feats["artifact_pct"] > HRV_MAX_ARTIFACT_PCT:
        out.append(f"{where}: {feats['artifact_pct']:.0f} % of the beats are artifacts (corrected or flagged): the "
                   f"features describe the corrections more than the heart; check --format (a PPG read as ECG, or "
                   f"the other way round) and the recording")
    return out


def hrv_report(table, method: str = "kubios", min_rr: float = 300.0, max_rr: float = 2000.0, res=None) -> dict:
    """HRV features of a recording; ``res``: its cleaning result when the caller already has it."""
    # deferred: the features import scipy.signal (about 1 s), which only this verb needs; 'edgekit --help' stays fast
    from edgekit.data.signal.features import all_features

    if res is None:
        res = clean(table, method, min_rr, max_rr)
    if len(res.table) < 3:
        raise InputError("fewer than 3 RR intervals left after cleaning")
    feats = all_features(res.table, res.n_corrected)
    feats["n_out_of_bounds"] = res.n_out_of_bounds
    feats["n_segments"] = int(len(res.segment_origin))
    feats["clean"] = method
    return feats


def cmd_hrv(args) -> int:
    utc_offset_seconds(args.utc_offset)  # a bad value is refused before the file is read
    table = _read(args, [args.input])
    res = clean(table, args.clean, args.min_rr, args.max_rr)
    feats = hrv_report(table, args.clean, args.min_rr, args.max_rr, res=res)
    notes = hrv_warnings(table, feats, str(args.input))
    for line in notes:
        warning(line)
    if "hr_check" in table.meta:
        feats["device_hr_check"] = next(iter(table.meta["hr_check"].values()))
    baselines = baseline_of(res.table, args.utc_offset, args.baseline_window)
    if args.json:
        echo(dumps_strict({**feats, "warnings": notes, "baseline": {s: b.to_json() for s, b in baselines.items()}},
                           indent=2))
    else:
        for k in ("n_beats", "mean_rr_ms", "mean_hr_bpm", "sdnn_ms", "rmssd_ms", "pnn50_pct", "sd1_ms",
                  "sd2_ms", "lf_ms2", "hf_ms2", "lf_hf", "lfnu", "hfnu", "n_corrected", "artifact_pct"):
            v = feats[k]
            echo(f"{k:14s} {v:.3f}" if isinstance(v, float) else f"{k:14s} {v}")
        for b in baselines.values():
            echo("\n".join(text_lines(b)))
    return 0


def cmd_synth(args) -> int:
    out = check_output_file(args.out, force=args.force)
    if args.subjects < 1 or args.days < 1:
        raise InputError("data synth: --subjects and --days must be >= 1")
    if (args.hr0 is not None and not 30 <= args.hr0 <= 140) or (
            args.rmssd0 is not None and not 2 <= args.rmssd0 <= 200):
        raise InputError("data synth: --hr0 must be in 30-140 bpm and --rmssd0 in 2-200 ms")
    profile = dict(synth.PROFILES[args.profile])
    for key, val in (("hr0", args.hr0), ("rmssd0", args.rmssd0), ("type", args.proneness)):
        if val is not None:
            profile[key] = val

    desc = ", ".join(f"{k}={v}" for k, v in profile.items()) or "population"
    try:
        recordings = synth.check_recordings([x.strip() for x in args.profiles.split(",") if x.strip()])
    except ValueError as exc:
        raise InputError(f"data synth: --profiles: {exc}") from None
    rec_kw = {"recordings": recordings} if recordings else {}
    if recordings:
        desc += "; recordings: " + ",".join(recordings)
    n_rows = 0
    stats = None
    # subject chunk by subject chunk (synth.iter_cohort): memory does not grow with the cohort
    with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as fh, \
            tqdm(total=args.subjects, desc="synth", unit="subject", file=sys.stderr,
                 disable=args.subjects * args.days < 50 or progress_disabled()) as bar:
        fh.write("# SYNTHETIC data (edgekit data synth, seed=%d, profile: %s): simulated, no real "
                 "subjects; see docs/synthetic_cohort.md\n" % (args.seed, desc))
        fh.write("subject,segment,time_s,rr_ms,flags,label,fatigue_score,recovery_score,"
                 "truth_flags\n")
        for co in synth.iter_cohort(args.subjects, args.days, args.seed, profile=profile or None, **rec_kw):
            t = co.table
            seg = t.segment
            label = np.array(co.label_names)[co.seg_label[seg]]
            rec = co.score[co.seg_subject[seg], co.seg_hour[seg]]
            fat = co.beat_fatigue_score()
            fat_s = np.where(np.isfinite(fat), np.char.mod("%.3f", np.nan_to_num(fat)), "")
            n = len(t)
            step = 200_000
            for a in range(0, n, step):
                b = min(n, a + step)
                rows = [f"{s},{g},{tt:.6f},{r:.6f},{f},{lab},{fs},{rc:.3f},{tr}"
                        for s, g, tt, r, f, lab, fs, rc, tr in zip(
                            t.subject[a:b].tolist(), seg[a:b].tolist(), t.time_s[a:b].tolist(),
                            t.rr_ms[a:b].tolist(), t.flags[a:b].tolist(), label[a:b].tolist(),
                            fat_s[a:b].tolist(), rec[a:b].tolist(), co.truth[a:b].tolist())]
                fh.write("\n".join(rows) + "\n")
            n_rows += n
            bar.update(len(np.unique(t.subject)))
            stats = co.recording_stats
    status(f"wrote SYNTHETIC data (simulated, no real subjects; profile: {desc}): {args.subjects} subjects "
          f"x {args.days} days, {n_rows} labelled RR intervals to {args.out}")
    if stats:
        echo_err("recordings per profile: " + ", ".join(
            f"{k}: {stats[f'subjects_{k}']} subjects, {stats[f'recordings_{k}']} recordings" for k in RECORDINGS
            if stats[f"subjects_{k}"] or stats[f"recordings_{k}"]))
    return 0


def cmd_coverage(args) -> int:
    if args.subjects < 3 or args.days < 2:
        raise InputError("data coverage: --subjects must be >= 3 and --days >= 2")
    profiles = [x.strip() for x in args.profiles.split(",") if x.strip()]
    try:
        synth.check_recordings(profiles)
    except ValueError as exc:
        raise InputError(f"data coverage: --profiles: {exc}") from None
    echo(dumps_strict(measure(args.subjects, args.days, args.seed, profiles,
                               max_artifact_pct=args.max_artifact_pct, min_beats=args.min_beats,
                               reading_max_artifact_pct=args.reading_max_artifact_pct), indent=2))
    return 0


