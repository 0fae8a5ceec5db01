"""``edgekit data push``: RR tables, labels and hourly RMSSD into InfluxDB (docs/influxdb.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from edgekit.core.errors import InputError
from edgekit.core.log import status, warning
from edgekit.cli.inputs import _add_reader_options
from edgekit.data.clock import has_clock, no_clock_warning
from edgekit.data.influx.client import InfluxClient, check_url
from edgekit.data.influx.table_stream import TableStream, push_stream
from edgekit.data.influx.tables import hourly_points, push, read_inputs
from edgekit.data.readers import formats as readers
from edgekit.data.readers.labelled import sniff_kind


def register_push(dsub) -> None:
    """``edgekit data push``: RR tables, labels and hourly RMSSD into InfluxDB (docs/influxdb.md)."""
    p = dsub.add_parser(
        "push", help="write recordings to InfluxDB (rr, label and hourly hrv points)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=("Write recordings to an InfluxDB database through the 1.x HTTP API (InfluxDB 1.x; 2.x\n"
                     "and 3.x through their v1 API): one 'rr' point per beat, a 'label' point per labelled\n"
                     "beat, one 'hrv' point (hourly RMSSD of the cleaned beats) per subject and hour; tag\n"
                     "'subject'. Every input is read and checked before anything is sent; points are keyed\n"
                     "by subject and time, so pushing again overwrites instead of duplicating. Credentials\n"
                     "come from EDGEKIT_INFLUX_USER + EDGEKIT_INFLUX_PASSWORD (or _PASSWORD_FILE), or\n"
                     "EDGEKIT_INFLUX_TOKEN; never put them in the URL. Schema: docs/influxdb.md."),
        epilog=("examples:\n"
                "  edgekit data push cohort.csv --influx http://localhost:8086 --database hrv\n"
                "  edgekit data push rec.txt --format rr-text --subject alice --influx http://db:8086 --database hrv\n"
                "  EDGEKIT_INFLUX_TOKEN=... edgekit data push export.xml --format apple-health \\\n"
                "      --subject bob --influx https://influx.example.com --database hrv\n"
                "\nWithout --format an input must be edgekit's RR table CSV (data ingest / data synth\n"
                "output); its label and fatigue_score columns are pushed as 'label' points. --subject\n"
                "(once per input, in order) names each input's subject; two inputs holding the same\n"
                "subject are refused (push them one after the other to add to one subject)."))
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT")
    _add_reader_options(p)
    p.add_argument("--influx", required=True, metavar="URL", help="server, e.g. http://localhost:8086")
    p.add_argument("--database", required=True, metavar="DB", help="database (must exist, or --create-database)")
    p.add_argument("--create-database", action="store_true", help="create the database first (CREATE DATABASE)")
    p.add_argument("--clean", choices=("kubios", "malik", "none"), default="kubios",
                   help="cleaning before the hourly RMSSD (default kubios, as [data] clean)")
    p.add_argument("--max-artifact-pct", type=float, default=5.0,
                   help="hourly RMSSD: an hour with more artifact beats (%%) is not written (default 5)")
    p.set_defaults(func=cmd_push)


def cmd_push(args) -> int:
    check_url(args.influx)
    notes: list[str] = []

    def read_other(path):
        # subject = file stem here; read_inputs renames (InfluxDB escapes any name, so --subject
        # may hold commas and quotes that the CSV writers refuse)
        t = readers.read([path], args.fmt, sample_rate=args.sample_rate, column=args.column,
                         time_column=args.time_column, unit=args.unit, gap_s=args.gap_s, start=args.start,
                         hr_column=args.hr_column)
        notes.extend(t.meta.get("warnings", []))
        if not has_clock(t.time_s):
            notes.append(no_clock_warning(str(path), "its points would sit at 1970-01-01, where the dashboard and "
                                                     "'edgekit forecast' never look"))
        return t

    stream = data = None
    if args.fmt is None and args.start is not None:
        raise InputError(f"{args.inputs[0]}: --start is for recordings without a clock read with --format (rr-text, "
                         f"csv, ppg, ecg); an edgekit RR table has its own times")
    if args.fmt is None:
        # edgekit's RR tables: streamed (bounded memory) when each subject's beats are in time order

        if all(p.is_file() and sniff_kind(p) == "table" for p in args.inputs):
            stream = TableStream(args.inputs, args.subject, args.clean, max_artifact_pct=args.max_artifact_pct)
            if not stream.check():
                stream = None
    if stream is None:
        data = read_inputs(args.inputs, args.fmt, args.subject, read_other)
        hourly = hourly_points(data.table, args.clean, max_artifact_pct=args.max_artifact_pct)
    if args.fmt is None and not has_clock([stream.newest_s] if stream is not None else data.table.time_s):
        notes.append(no_clock_warning(", ".join(map(str, args.inputs)), "its points would sit at 1970-01-01, where "
                                      "the dashboard and 'edgekit forecast' never look",
                                      "ingest the recording again with --start, or push it with --format and --start"))
    for line in notes:
        warning(line)
    with InfluxClient(args.influx, args.database) as client:
        if args.create_database:
            client.create_database()
        n = push_stream(client, stream) if stream is not None else push(client, data, hourly)
        where = client.where
    n_subj = len(stream.subjects) if stream is not None else len(set(data.table.subject.tolist()))
    status(f"wrote {n['points']} points to database {args.database!r} at {where}: {n['rr']} rr, {n['label']} "
          f"label, {n['hrv']} hrv (hourly RMSSD) for {n_subj} subject(s)")
    return 0
