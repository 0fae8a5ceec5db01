"""``edgekit forecast``: fatigue scores from the data in InfluxDB, written back.

The input is the model's own (its task spec's ``model_inputs``, as ``edgekit predict`` makes it from
the recording that was pushed): for a model of local clock hours (``hrv_slots``) it is made from the
subject's ``rr`` points (:func:`beat_inputs`), so ``forecast`` and ``predict`` give the same score.

For the window forecaster (``hrv_lstm``) and each subject with ``hrv`` points, the input is the 24
clock hours ending with the subject's newest ``hrv`` hour, read as

    SELECT mean("rmssd") FROM "hrv" WHERE "subject" = '<s>' AND time >= <start> AND time < <end>
    GROUP BY time(1h), "subject" fill(null)

(InfluxQL stamps a bucket with its start, which is the data layer's hour index floor(time_s/3600)),
missing hours filled exactly as the data layer fills them
(:func:`edgekit.data.signal.windows.complete_series`). The score (0-100, the next 24 h) is written as a
``fatigue_forecast`` point at the series end (the start of the 24 h it covers): field ``score``;
tags ``subject``, ``zone``, ``model``, ``variant``.
"""

from __future__ import annotations

import sys
from pathlib import Path
import json

import numpy as np

from edgekit.data.influx.client import InfluxClient
from edgekit.data.influx.protocol import lp_float, lp_key, ql_ident, ql_string
from edgekit.data.influx.tables import FORECAST, HRV, NS
from edgekit.core.errors import EdgekitError, InputError
from edgekit.core.log import echo
from edgekit.core.zones import zone_of
from edgekit.data.clock import has_clock, no_clock_warning
from edgekit.data.influx.read_back import newest_by_subject, recent_beats
from edgekit.data.signal.windows import MAX_MISSING_HOURS, complete_series
from edgekit.run.predict import model_inputs, input_warnings, load_runner, model_warnings, fmt_time
from edgekit.tasks import task_for

HOUR_NS = 3600 * NS
HOURS = 24


def read_inputs(client: InfluxClient, subjects: list[str] | None = None) -> tuple[list, list[str]]:
    """([(subject, series end ns, x (24,) filled)], refusal lines for subjects without an input)."""

    newest = newest_by_subject(client, HRV, "rmssd", subjects)
    out, refused = [], []
    for s in sorted(newest):
        end = (newest[s] // HOUR_NS + 1) * HOUR_NS
        start = end - HOURS * HOUR_NS
        series = client.query(
            f"SELECT mean({ql_ident('rmssd')}) FROM {ql_ident(HRV)} WHERE {ql_ident('subject')} = {ql_string(s)} "
            f"AND time >= {start} AND time < {end} GROUP BY time(1h), {ql_ident('subject')} fill(null)")
        x = np.full(HOURS, np.nan)
        for ser in series:
            for t, v in ser["values"]:
                k = (int(t) - start) // HOUR_NS
                if 0 <= k < HOURS and v is not None:
                    x[k] = float(v)
        filled = complete_series(x)
        if filled is None:
            refused.append(f"subject {s!r}: cannot make an input: {int(np.isnan(x).sum())} of the last {HOURS} "
                           f"hours have no RMSSD (at most {MAX_MISSING_HOURS} may be missing, not the last)")
            continue
        out.append((s, end, filled))
    return out, refused


def beat_inputs(cfg, client: InfluxClient, subjects: list[str] | None, utc_offset: str | None
                ) -> tuple[list, list[str], list[str]]:
    """The task spec's own input per subject (``edgekit predict``'s rule) from the ``rr`` points of the
    segments that reach into the last ``T + 1`` hours before the subject's newest beat (whole
    segments: cleaning works per segment, so they clean as in the whole recording). Returns
    ([(subject, X (1, T), info)], refusal lines, warning lines)."""
    hours = task_for(cfg.model.type).input_length(cfg.model.params)
    tables = recent_beats(client, subjects, hours + 1)
    out, refused, warnings = [], [], []
    for s, table in tables.items():
        if not has_clock(table.time_s):
            warnings.append(no_clock_warning(f"subject {s!r}", "its beats sit at 1970 in InfluxDB and its hours are "
                                                                "not the wearer's clock hours", "push it again with "
                                                                "--start"))
        try:
            X, info = model_inputs(cfg, table, f"subject {s!r}", utc_offset)
        except InputError as exc:
            refused.append(f"cannot make an input: {exc}")
            continue
        k = int(np.argmax([r["end_time_s"] for r in info]))  # the newest input (one per subject)
        out.append((s, X[k:k + 1], info[k]))
    return out, refused, warnings


def forecast(cfg, build_dir: Path, url: str, database: str, variant: str | None = None,
             subjects: list[str] | None = None, utc_offset: str | None = None) -> tuple[list[dict], list[str]]:
    """Read inputs, run the model, write ``fatigue_forecast`` points; returns (rows, warning lines:
    the model's, each input's and the subjects without an input). A task whose input is made of the
    wearer's local clock hours (``TaskSpec.clock_hours``: hourly slots) takes it from the beats, as
    ``edgekit predict`` does (UTC ``hrv`` points cannot give local hours or the slot rule); the
    window forecaster from the hourly ``hrv`` points."""
    task = task_for(cfg.model.type)
    if not task.role.forecasts:
        raise EdgekitError(f"{cfg.path}: forecast needs a fatigue forecaster config, got a "
                           f"{task.title} ({cfg.model.type!r})")
    runner = load_runner(cfg, build_dir, variant)
    warnings = model_warnings(runner)
    with InfluxClient(url, database) as client:
        if task.clock_hours:
            got, refused, more = beat_inputs(cfg, client, subjects, utc_offset)
            warnings += more
            inputs = [(s, int(round(info["end_time_s"] * NS)), x[0]) for s, x, info in got]
            for s, x, info in got:
                warnings += input_warnings(runner, x, [info], f"subject {s!r}")
        else:
            inputs, refused = read_inputs(client, subjects)
        if not inputs:
            raise EdgekitError(f"InfluxDB at {client.where}: no subject has an input; " + "; ".join(refused))
        X = np.stack([x for _, _, x in inputs]).astype(np.float32)
        scores = runner.run(X)
        rows, lines = [], []
        for (s, end, x), score in zip(inputs, scores.tolist()):
            zone = zone_of(score)
            rows.append({"subject": s, "time_ns": int(end), "score": float(score), "zone": zone,
                         "model": cfg.name, "variant": runner.variant})
            lines.append(f"{FORECAST},model={lp_key(cfg.name)},subject={lp_key(s)},variant={lp_key(runner.variant)},"
                         f"zone={zone} score={lp_float(score)} {end}")
        client.write(lines)
    return rows, warnings + refused


def read_forecasts(client: InfluxClient) -> list[dict]:
    """Every ``fatigue_forecast`` point: subject, time_ns, score, zone, model, variant."""
    series = client.query(f"SELECT {ql_ident('score')} FROM {ql_ident(FORECAST)} GROUP BY *")
    out = []
    for s in series:
        for t, v in s["values"]:
            out.append({"subject": s["tags"].get("subject"), "time_ns": int(t), "score": float(v),
                        "zone": s["tags"].get("zone"), "model": s["tags"].get("model"),
                        "variant": s["tags"].get("variant")})
    return sorted(out, key=lambda r: (r["subject"], r["time_ns"], r["variant"]))


def print_rows(rows: list[dict], as_json: bool, warnings: list[str] | None = None) -> None:
    if as_json:
        echo(json.dumps({"warnings": list(warnings or []),
                          "forecasts": [dict(r, time=fmt_time(r["time_ns"] / NS)) for r in rows]}, indent=2))
        return
    w = max([len("subject")] + [len(r["subject"]) for r in rows])
    echo(f"{'subject':{w}s}  {'from (UTC)':20s}  {'score':>6s}  zone    model/variant")
    for r in rows:
        echo(f"{r['subject']:{w}s}  {fmt_time(r['time_ns'] / NS):20s}  {r['score']:6.1f}  {r['zone']:6s}  "
              f"{r['model']}/{r['variant']}")
    sys.stdout.flush()
