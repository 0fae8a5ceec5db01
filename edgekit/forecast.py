"""``edgekit forecast``: fatigue scores from the hourly RMSSD in InfluxDB, written back.

For each subject with ``hrv`` points, the input is the 24 clock hours ending with the subject's
newest ``hrv`` hour, read as

    SELECT mean("rmssd") FROM "hrv" WHERE "subject" = '<s>' AND time >= <start> AND time < <end>
    GROUP BY time(1h), "subject" fill(null)

(InfluxQL stamps a bucket with its start, which is the data layer's hour index floor(time_s/3600)),
missing hours filled exactly as the data layer fills them
(:func:`edgekit.data.windows.complete_series`). The score (0-100, the next 24 h) is written as a
``fatigue_forecast`` point at the series end (the start of the 24 h it covers): field ``score``;
tags ``subject``, ``zone``, ``model``, ``variant``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from edgekit.data.influx import InfluxClient, lp_float, lp_key, ql_ident, ql_string
from edgekit.data.influx_io import FORECAST, HRV, NS
from edgekit.errors import EdgekitError

HOUR_NS = 3600 * NS
HOURS = 24


def read_inputs(client: InfluxClient, subjects: list[str] | None = None) -> tuple[list, list[str]]:
    """([(subject, series end ns, x (24,) filled)], refusal lines for subjects without an input)."""
    from edgekit.data.windows import MAX_MISSING_HOURS, complete_series

    last = client.query(f"SELECT last({ql_ident('rmssd')}) FROM {ql_ident(HRV)} GROUP BY {ql_ident('subject')}")
    newest = {s["tags"].get("subject", ""): int(s["values"][0][0]) for s in last if s["values"]}
    if subjects:
        missing = [s for s in subjects if s not in newest]
        if missing:
            raise EdgekitError(f"InfluxDB at {client.where}: no '{HRV}' points for subject(s) "
                               f"{', '.join(map(repr, missing[:5]))}")
        newest = {s: newest[s] for s in subjects}
    if not newest:
        raise EdgekitError(f"InfluxDB at {client.where}, database {client.database!r}: no '{HRV}' points (push "
                           f"recordings first: edgekit data push)")
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


def forecast(cfg, build_dir: Path, url: str, database: str, variant: str | None = None,
             subjects: list[str] | None = None) -> tuple[list[dict], list[str]]:
    """Read inputs, run the model, write ``fatigue_forecast`` points; returns (rows, refusals)."""
    from edgekit.predict import load_runner
    from edgekit.zones import zone_of

    from edgekit.tasks import task_for

    if task_for(cfg.model.type).role != "forecaster":
        raise EdgekitError(f"{cfg.path}: forecast needs a fatigue forecaster config, got a "
                           f"{task_for(cfg.model.type).title} ({cfg.model.type!r})")
    runner = load_runner(cfg, build_dir, variant)
    with InfluxClient(url, database) as client:
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
    return rows, refused


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


def print_rows(rows: list[dict], as_json: bool) -> None:
    import json

    from edgekit.predict import fmt_time

    if as_json:
        print(json.dumps({"forecasts": [dict(r, time=fmt_time(r["time_ns"] / NS)) for r in rows]}, indent=2))
        return
    w = max([len("subject")] + [len(r["subject"]) for r in rows])
    print(f"{'subject':{w}s}  {'from (UTC)':20s}  {'score':>6s}  zone    model/variant")
    for r in rows:
        print(f"{r['subject']:{w}s}  {fmt_time(r['time_ns'] / NS):20s}  {r['score']:6.1f}  {r['zone']:6s}  "
              f"{r['model']}/{r['variant']}")
    sys.stdout.flush()
