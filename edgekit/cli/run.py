"""CLI verbs that use a built model or watch its results: ``predict``, ``forecast``, ``dashboard``.

``register(subparsers)`` adds them to the main parser (edgekit/cli/main.py).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from edgekit.core.log import echo, plural, status, warning
from edgekit.cli.inputs import _add_reader_options, add_baseline_options, _read, baseline_of
from edgekit.config.load import load_config
from edgekit.core.errors import InputError
from edgekit.data.clock import has_clock, no_clock_warning
from edgekit.data.influx.client import check_url
from edgekit.data.signal.baseline_text import text_lines
from edgekit.data.signal.clean import clean
from edgekit.run.dashboard import write
from edgekit.run.forecast import forecast, print_rows
from edgekit.run.predict import (fmt_time, input_warnings, load_runner, model_inputs, model_warnings, outputs,
                                 utc_offset_seconds)
from edgekit.data.readers.workouts.files import read_workouts, sport_problem
from edgekit.models.workout_run import predict_workout

_RAW = argparse.RawDescriptionHelpFormatter


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "predict", help="run a built model on recordings or workouts (strain label, fatigue score, HR per step)",
        formatter_class=_RAW,
        description=("Run a built model on recordings, with inputs made exactly as training made them (the\n"
                     "config's [data] clean, bounds and artifact limit): the strain classifier on one reading\n"
                     "(configs/hrv_reading.toml) gives the label and probabilities of every reading of a file (an\n"
                     "Apple Watch heartbeat series, or each 128 beats of a longer recording, newest last); the\n"
                     "fatigue forecaster on hourly slots (configs/hrv_slots.toml) the score (0-100, next 24 h) and\n"
                     "zone at the local clock hour after each subject's last beat (--utc-offset); the window models\n"
                     "(hrv_transformer, hrv_lstm) each 128-beat window / 24-hour series. The torch checkpoint by\n"
                     "default, or a Core ML variant through edgekit's reference evaluator of the ML program.\n"
                     "A recording that cannot make one input is refused with one line. Warnings (one line each on\n"
                     "stderr, and under 'warnings' with --json): a model trained on SYNTHETIC data, a variant that\n"
                     "failed its parity gate, an input with less data than most training inputs, a recording\n"
                     "without a clock for a model of clock hours. The activity model (configs/hr_activity.toml)\n"
                     "reads workouts instead (GPX, TCX, FIT, an Apple Health export: --format apple-health or by\n"
                     "extension) and predicts each as one run: HR per 10 s step, with mae_bpm against the recorded\n"
                     "HR and how many steps were predicted and scored. A workout of another sport (FIT sport, TCX\n"
                     "Sport, GPX type: cycling, swimming, ...) or without one step with a speed is refused; walking\n"
                     "and hiking are predicted with a warning."),
        epilog=("examples:\n"
                "  edgekit predict --config configs/hrv_reading.toml export.xml --format apple-health\n"
                "  edgekit predict --config configs/hrv_reading.toml polar_RR.txt --format polar --variant int8\n"
                "  edgekit predict --config configs/hrv_slots.toml export.xml --format apple-health \\\n"
                "      --utc-offset Europe/Berlin --json\n"
                "  edgekit predict --config configs/hrv_slots.toml rec.txt --format rr-text \\\n"
                "      --start 2024-05-01T07:30:00+02:00\n"
                "  edgekit predict --config configs/hr_activity.toml run.gpx --context-minutes 5 --json\n"
                "\nA model built with 'edgekit build --out DIR' is found with --build DIR."))
    p.add_argument("--config", required=True, metavar="FILE",
                   help="model config TOML: configs/hrv_reading.toml, configs/hrv_slots.toml, configs/hr_activity.toml "
                        "(bundled) or your own")
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT")
    _add_reader_options(p)
    _add_model_options(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--utc-offset", default=None, metavar="TZ",
                   help="the wearer's time zone, for a model whose input is local clock hours (hrv_slots): "
                        "+05:30, -7, UTC (default) or a zone name such as Europe/Berlin (its offset at the last "
                        "beat); it also places the personal baseline's days")
    p.add_argument("--context-minutes", type=float, default=None, metavar="M",
                   help="activity model: minutes of recorded HR, from the start, given as calibration context; "
                        "what the model learns from them carries through the whole run (default: the config's "
                        "data.context_minutes; 0 = none; at most 120)")
    add_baseline_options(p, utc_offset=False)
    p.set_defaults(func=cmd_predict)

    f = subparsers.add_parser(
        "forecast", help="fatigue scores from the data in InfluxDB, written back",
        formatter_class=_RAW,
        description=("For each subject in the database, make the built forecaster's input from what was pushed\n"
                     "(edgekit data push) and write 'fatigue_forecast' points (field score; tags subject, zone,\n"
                     "model, variant) at the end of each input, and print them. The input follows the model's own\n"
                     "rule, as 'edgekit predict' makes it from the same recording: for hrv_slots (the default) the\n"
                     "RMSSD of the last 24 local clock hours (--utc-offset) from the subject's 'rr' points, the\n"
                     "hour after its last beat; for hrv_lstm the last 24 hourly RMSSD ('hrv' points, up to 2\n"
                     "missing hours filled). Warnings as for predict. Credentials: EDGEKIT_INFLUX_USER +\n"
                     "EDGEKIT_INFLUX_PASSWORD (or _PASSWORD_FILE), or EDGEKIT_INFLUX_TOKEN."),
        epilog=("examples:\n"
                "  edgekit forecast --influx http://localhost:8086 --database hrv\n"
                "  edgekit forecast --config configs/hrv_slots.toml --influx http://db:8086 --database hrv \\\n"
                "      --utc-offset Europe/Berlin --variant palette4 --subject alice --json\n"
                "\nA model built with 'edgekit build --out DIR' is found with --build DIR."))
    f.add_argument("--config", default="configs/hrv_slots.toml", metavar="FILE",
                   help="fatigue forecaster config (default configs/hrv_slots.toml, the bundled one)")
    f.add_argument("--influx", required=True, metavar="URL", help="server, e.g. http://localhost:8086")
    f.add_argument("--database", required=True, metavar="DB")
    f.add_argument("--subject", action="append", default=None, metavar="NAME",
                   help="only this subject (repeatable; default: every subject in the database)")
    f.add_argument("--utc-offset", default=None, metavar="TZ",
                   help="the wearers' time zone, for a model whose input is local clock hours (hrv_slots): +05:30, "
                        "-7, UTC (default) or a zone name such as Europe/Berlin (its offset at each subject's last beat)")
    _add_model_options(f)
    f.add_argument("--json", action="store_true", help="print JSON instead of a table")
    f.set_defaults(func=cmd_forecast)

    d = subparsers.add_parser(
        "dashboard", help="write a Grafana dashboard + datasource provisioning for the InfluxDB data",
        formatter_class=_RAW,
        description=("Write provisioning-ready Grafana files into DIR: a dashboard (hourly RMSSD and the fatigue\n"
                     "forecast per subject, zones red < 40, yellow 40-69, green >= 70, max 100) built with\n"
                     "grafana-foundation-sdk, its dashboard provider, and an InfluxDB (InfluxQL) datasource named\n"
                     "NAME. URL, database and credentials in the datasource are $ENV references Grafana expands\n"
                     "(EDGEKIT_INFLUX_URL, _DATABASE, _USER, _PASSWORD) unless --influx/--database are given.\n"
                     "DIR must be new, empty, or written by an earlier 'edgekit dashboard'."),
        epilog=("examples:\n"
                "  edgekit dashboard --influx-datasource edgekit-influx --out grafana/\n"
                "  edgekit dashboard --influx-datasource hrv --out prov --influx http://influxdb:8086 --database hrv\n"
                "\nthen mount DIR/datasources and DIR/dashboards under /etc/grafana/provisioning/ (and the\n"
                "dashboards folder at --dashboards-path)."))
    d.add_argument("--influx-datasource", required=True, metavar="NAME", help="Grafana datasource name")
    d.add_argument("--out", required=True, type=Path, metavar="DIR", help="output directory")
    d.add_argument("--influx", default=None, metavar="URL", help="datasource URL (default $EDGEKIT_INFLUX_URL)")
    d.add_argument("--database", default=None, metavar="DB", help="database (default $EDGEKIT_INFLUX_DATABASE)")
    d.add_argument("--dashboards-path", default="/var/lib/grafana/dashboards/edgekit", metavar="PATH",
                   help="where Grafana finds DIR/dashboards (dashboard provider 'path')")
    d.set_defaults(func=cmd_dashboard)


def _add_model_options(p) -> None:
    p.add_argument("--variant", default=None, metavar="V",
                   help="torch (default: the checkpoint) or a Core ML variant of the config: fp32, fp16, int8, "
                        "palette6, ... (one that failed its parity gate runs with a warning)")
    p.add_argument("--build", type=Path, default=Path("build"), metavar="DIR",
                   help="build directory holding <model>/train and <model>/coreml: the --out of 'edgekit build' "
                        "(default build/)")


def _warn(lines: list[str]) -> None:
    for line in lines:
        warning(line)


WORKOUT_FORMATS = (None, "apple-health", "fit")  # the activity model reads GPX/TCX/FIT by extension


def _predict_workouts(args, cfg, runner, warnings: list[str]) -> int:
    """``edgekit predict`` of the activity model: HR per step of each running workout in the inputs.

    A workout of another sport (FIT ``sport``, TCX ``Sport``, GPX ``type``: cycling, swimming, …)
    is refused, walking or hiking predicted with a warning (``sport_problem``); a workout without
    one step with a speed (a one-point GPX, no route) is refused as too short. In a file of several
    workouts such a workout is left out with a warning; a file left with none is refused (one line,
    nothing printed)."""
    if args.fmt not in WORKOUT_FORMATS:
        raise InputError(f"--format {args.fmt} does not apply to {cfg.name}: it reads workouts (GPX, TCX, FIT by "
                         f"their extension, an Apple Health export with --format apple-health)")
    params = runner.task.params(cfg.model.params)
    minutes = cfg.data.context_minutes if args.context_minutes is None else args.context_minutes
    if not 0.0 <= minutes <= 120.0:
        raise InputError(f"--context-minutes must be in [0, 120], got {minutes:g}")
    results = []
    for path in args.inputs:
        workouts = read_workouts(path, args.fmt)
        if not workouts:
            raise InputError(f"{path}: no running workout with a route to predict")
        refused, kept = [], []
        for w in workouts:
            problem = sport_problem(w)
            if problem is not None and problem[0] == "refuse":
                refused.append(problem[1])
                continue
            r = predict_workout(runner, w, params.window_steps, params.step_s, minutes)
            if r["n_predicted_steps"] == 0:
                n_route = int(len(w.route_t_s))
                refused.append(f"workout {w.workout_id}: too short to predict one {params.step_s:g} s step "
                               f"({n_route} route point{'s' if n_route != 1 else ''} over {max(w.duration_s, 0):.0f} s, "
                               "no step with a speed)")
                continue
            if problem is not None:
                warnings.append(f"{path}: {problem[1]}")
            kept.append({"input": str(path), **r})
        if not kept:
            raise InputError(f"{path}: {refused[0]}" + (f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""))
        warnings += [f"{path}: {why}; left out" for why in refused]
        results += kept
    _warn(warnings)
    if args.json:
        echo(json.dumps({"model": cfg.name, "variant": runner.variant, "warnings": warnings,
                          "predictions": results}, indent=2))
        return 0
    echo(f"{cfg.name} ({runner.variant}): {plural(len(results), 'workout')}, context {minutes:g} min")
    for r in results:
        hr = [v for v in r["hr_bpm"] if v is not None]
        mae = f"MAE {r['mae_bpm']:.1f} bpm vs recorded" if r["mae_bpm"] is not None else "no recorded HR to score"
        echo(f"{r['input']}  {r['workout_id']}  {r['n_steps']} steps ({r['n_steps'] * r['step_s'] / 60:.1f} min), "
              f"{r['n_predicted_steps']} predicted, {r['n_scored_steps']} scored  predicted mean "
              f"{sum(hr) / len(hr):.0f} bpm  {mae}")
    return 0


def cmd_predict(args) -> int:
    cfg = load_config(args.config)
    if args.utc_offset is not None:
        utc_offset_seconds(args.utc_offset)  # a bad value is refused before any file is read
    runner = load_runner(cfg, args.build, args.variant)
    warnings = model_warnings(runner)
    if runner.task.reads_workouts:
        return _predict_workouts(args, cfg, runner, warnings)
    results = []
    baselines: dict = {}
    subjects = args.subject or [None] * len(args.inputs)
    if len(subjects) != len(args.inputs):
        raise InputError(f"--subject given {len(subjects)} times for {len(args.inputs)} inputs; give one "
                         f"--subject NAME per input, in order")
    for path, name in zip(args.inputs, subjects):
        # one input at a time, read by the data layer's reader (format detection, subject rules)
        one = argparse.Namespace(**{**vars(args), "subject": [name] if name is not None else None})
        table = _read(one, [path])
        if runner.task.clock_hours and not has_clock(table.time_s):
            warnings.append(no_clock_warning(str(path), f"{cfg.name} reads the wearer's clock hours, but these hours "
                                                        f"are counted from the first beat"))
        X, info = model_inputs(cfg, table, str(path), args.utc_offset)
        warnings.extend(input_warnings(runner, X, info, str(path)))
        base = _baselines(cfg, table, args)
        baselines.update(base)
        for r in outputs(runner, X, info):
            results.append({"input": str(path), **r, "baseline": _baseline_of_row(base, r)})
    _warn(warnings)
    if args.json:
        echo(json.dumps({"model": cfg.name, "variant": runner.variant, "warnings": warnings, "predictions": results,
                          "baselines": {s: b.to_json() for s, b in baselines.items()}}, indent=2))
        return 0
    noun = runner.task.input_noun
    echo(f"{cfg.name} ({runner.variant}): {plural(len(results), noun, 'series' if noun == 'series' else None)}")
    for r in results:
        span = f"{fmt_time(r['start_time_s'])} .. {fmt_time(r['end_time_s'])}"
        echo(f"{r['input']}  {r['subject']}  {span}  {runner.task.role.prediction_text(r)}")

    for b in baselines.values():
        echo("\n".join(text_lines(b)))
    return 0


def _baselines(cfg, table, args) -> dict:
    """The personal baseline of each subject of one input (edgekit.data.signal.baseline), label-free, next
    to the model's answer: cleaned as the config cleans, the same limits for every model."""
    d = cfg.data
    return baseline_of(clean(table, d.clean, d.min_rr_ms, d.max_rr_ms).table, args.utc_offset, args.baseline_window)


def _baseline_of_row(baselines: dict, row: dict) -> dict | None:
    """The baseline day of a prediction: its subject's record of the local day of its last beat."""
    b = baselines.get(row.get("subject"))
    day = b.day_of(row["end_time_s"]) if b is not None else None
    if day is None:
        return None
    keys = ("date", "ln_rmssd", "rolling_mean_7d_ln", "cv_7d_pct", "normal_range_low_ln", "normal_range_high_ln",
            "trend", "today")
    return {k: getattr(day, k) for k in keys}


def cmd_forecast(args) -> int:
    cfg = load_config(args.config)
    if args.utc_offset is not None:
        utc_offset_seconds(args.utc_offset)  # a bad value is refused before the server is asked
    rows, warnings = forecast(cfg, args.build, args.influx, args.database, args.variant, args.subject,
                              utc_offset=args.utc_offset)
    _warn(warnings)
    print_rows(rows, args.json, warnings)
    status(f"wrote {plural(len(rows), 'fatigue_forecast point')} to database {args.database!r}")
    return 0


def cmd_dashboard(args) -> int:
    if args.influx is not None:
        check_url(args.influx)
    files = write(args.out, args.influx_datasource, args.influx, args.database, args.dashboards_path)
    status(f"wrote {len(files)} Grafana provisioning files to {args.out}")
    return 0
