"""The ``edgekit`` command line: one verb per pipeline stage, plus ``build`` for all of them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
import os

from edgekit import __version__
from edgekit.core import log
from edgekit.core.errors import EdgekitError
from edgekit.core.fileio import check_build_dir, describe_os_error
from edgekit.cli.data import register as register_data
from edgekit.cli.run import register as register_run
from edgekit.config.load import load_config
from edgekit.train import person as person_eval

DEFAULT_OUT = Path("build")

EPILOG = """\
stages (each reads the previous stage's files under OUT/<model>/):
  data → train → convert → verify → evaluate → report, then package (build/ios/<Package>/)

examples:
  edgekit build                                   # everything in edgekit.toml
  edgekit build --config configs/hrv_slots.toml   # one model, all its stages
  edgekit train --config configs/hrv_reading.toml
  edgekit verify --config configs/hrv_reading.toml
  edgekit data synth --out cohort.csv --subjects 20 --days 7
  edgekit hrv recording.txt --format rr-text --json
  edgekit predict --config configs/hrv_reading.toml export.xml --format apple-health
  edgekit data push export.xml --format apple-health --subject me --influx http://localhost:8086 --database hrv
  edgekit forecast --config configs/hrv_slots.toml --influx http://localhost:8086 --database hrv
  edgekit dashboard --influx-datasource edgekit-influx --out grafana/

bundled model configs: configs/hrv_reading.toml (strain, one reading), configs/hrv_slots.toml
(fatigue forecast, 24 local clock hours), configs/hr_activity.toml (HR from running activity).
"""


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"edgekit: error: {message} (see '{self.prog} --help')\n")


def _add_common(p: argparse.ArgumentParser, config_help: str, default_config: str | None = None) -> None:
    p.add_argument(
        "--config",
        metavar="FILE",
        default=default_config,
        required=default_config is None,
        help=config_help,
    )
    p.add_argument("--out", metavar="DIR", default=str(DEFAULT_OUT),
                   help="build directory (default: build/); created and marked as edgekit's, or an "
                        "empty or edgekit-made directory — any other existing directory is refused")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="edgekit",
        description="Train, quantize, verify and package on-device HRV models (Core ML + Swift) for iOS.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"edgekit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_const", const=log.VERBOSE, dest="verbosity",
                        default=log.NORMAL, help="also show third-party warnings (coremltools, torch)")
    parser.add_argument("-q", "--quiet", action="store_const", const=log.QUIET, dest="verbosity",
                        help="only warnings and errors; no progress lines or bars")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    sub.required = True

    model_help = "model config TOML (configs/<model>.toml)"

    p = sub.add_parser(
        "build",
        help="run every stage; skip stages whose inputs and config are unchanged",
        description=(
            "Run the whole pipeline. With edgekit.toml (the default): every model it lists, then the "
            "Swift package. With a model config: that model's stages only. A stage whose config, code "
            "and input files are unchanged since its last successful run is skipped. Exits 0 only if "
            "every gate passes."
        ),
    )
    _add_common(p, "edgekit.toml or a model config (default: edgekit.toml)", "edgekit.toml")
    p.add_argument("--force", action="store_true", help="re-run every stage even if up to date")
    p.add_argument("--jobs", "-j", metavar="N", type=int, default=None,
                   help="models built side by side in worker processes (default: CPU cores // the largest "
                        "train.threads: 2 on a 2-core machine with the bundled 1-thread configs). Outputs are the "
                        "same bytes either way")
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser(
        "train",
        help="train a model on its windows (train/model.pt, metrics.json)",
        description=(
            "Train the model of a config on build/<model>/data/windows.npz with a subject-wise "
            "train/validation/test split, AdamW, a one-cycle learning-rate schedule and early stopping. "
            "Same config and seed give bit-identical weights. With --init-from and --data, fine-tune a "
            "population checkpoint on one person's recordings. Under torchrun, trains with "
            "DistributedDataParallel (gloo on CPU). The data stage must have run: 'edgekit build --config' "
            "runs every stage, 'edgekit data windows --config' the data stage alone."
        ),
        epilog=("examples:\n"
                "  edgekit train --config configs/hrv_reading.toml\n"
                "  edgekit train --config configs/hrv_slots.toml --init-from build/hrv_slots/train/model.pt \\\n"
                "      --data readings.csv labels.csv wake.csv"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_common(p, model_help)
    p.add_argument("--init-from", metavar="CKPT", type=Path,
                   help="start from this checkpoint, e.g. build/hrv_slots/train/model.pt (default: none, train anew)")
    p.add_argument("--data", metavar="PATH", nargs="+", type=Path,
                   help="one person's labelled files to fine-tune on (with --init-from): an RR table with label / "
                        "fatigue_score columns, or recordings plus a labels file per reading (subject,time_s,label) "
                        "and a scores file per wake-up (subject,time_s,fatigue_score); docs/data.md 'Labelled files'")
    p.add_argument("--format", metavar="FMT", default=None,
                   help="reader format of the --data recordings (default: the config's data.format; see 'edgekit "
                        "data ingest --help')")
    p.set_defaults(func=_cmd_stage, stage="train")

    for stage, text in (
        ("convert", "export ONNX and Core ML packages of every variant (onnx/, coreml/)"),
        ("verify", "three-way parity: torch vs onnxruntime vs the Core ML program, per variant"),
        ("evaluate", "the trained model on the real recordings of evaluate.real_sets (evaluate/real.json)"),
        ("report", "size/accuracy report of the variants (report/report.{json,md,html})"),
    ):
        p = sub.add_parser(stage, help=text, description=text[0].upper() + text[1:] + ".")
        _add_common(p, model_help)
        if stage == "evaluate":
            p.add_argument("--person", action="store_true",
                           help="instead, run the person scenario of the activity model (one held-out runner's older "
                                "workouts train, their newest year tests: baselines, a person-only LSTM, fine-tuning, "
                                "calibration context; trains two small models) and write person/person.json with the "
                                "date and config fingerprint; the report shows it (default: off; 'edgekit build' does "
                                "not run it)")
        p.set_defaults(func=_cmd_stage, stage=stage)

    p = sub.add_parser(
        "package",
        help="render the Swift package (build/ios/<Package>/) from verified models",
        description=(
            "Render the Swift package described by edgekit.toml, bundling for each model the smallest "
            "variant that passed every gate within its size budget."
        ),
    )
    _add_common(p, "package config (default: edgekit.toml)", "edgekit.toml")
    p.set_defaults(func=_cmd_package)

    dsub = register_data(sub)
    w = dsub.add_parser(
        "windows", help="the data stage alone: a model's training examples (build/<model>/data/)",
        description=("Run a model's data stage alone: read its [data] source (the synthetic cohort, labelled "
                     "files, InfluxDB), clean, and write build/<model>/data/windows.npz and summary.json, as "
                     "'edgekit build' does before training."),
        epilog="example:\n  edgekit data windows --config configs/hrv_slots.toml",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_common(w, model_help)
    w.set_defaults(func=_cmd_stage, stage="data")

    register_run(sub)
    return parser


def _pipeline():
    """The build layer (:mod:`edgekit.pipeline.build`)."""
    # deferred: the build imports every stage (the reference evaluator and SciPy, about 0.6 s), which
    # 'edgekit --help' and the verbs that do not build (hrv, data, predict) never need
    from edgekit.pipeline import build as pipeline

    return pipeline


def _cmd_build(args: argparse.Namespace) -> int:
    _pipeline().build(Path(args.config), check_build_dir(args.out), force=args.force, jobs=args.jobs)
    return 0


def _cmd_stage(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    extra = {}
    if args.stage == "train":
        extra = {"init_from": args.init_from, "data": args.data, "data_format": args.format}
        if args.data and not args.init_from:
            raise EdgekitError("--data (fine-tuning) needs --init-from CKPT")
    if getattr(args, "person", False):
        return _cmd_person(cfg, check_build_dir(args.out))
    _pipeline().run_stage(cfg, args.stage, check_build_dir(args.out), **extra)
    return 0


def _cmd_person(cfg, out: Path) -> int:
    """``edgekit evaluate --person``: the person scenario, then the report again if one was rendered
    (its input person/ changed; every other stage stays as it is)."""
    doc = person_eval.run(cfg, out)
    res = doc["result"]
    if "skipped" in res:
        log.echo(f"{cfg.name}: person scenario skipped: {res['skipped']}")
    else:
        log.echo(f"{cfg.name}: runner {res['person']}, newest year {res['test_year']} (synthetic):")
        for name, v in res["results"].items():
            log.echo(f"  {name}: MAE {v['mae_bpm']:.2f} bpm")
    log.echo(f"wrote {out / cfg.name / person_eval.PERSON_JSON}")
    if (out / cfg.name / "report" / "report.json").is_file():
        _pipeline().run_stage(cfg, "report", out, skip_if_up_to_date=True)
    return 0


def _cmd_package(args: argparse.Namespace) -> int:
    _pipeline().run_package_stage(Path(args.config), check_build_dir(args.out))
    return 0


_GLOBAL_FLAGS = ("-v", "--verbose", "-q", "--quiet")


def _hoist_global_flags(argv: list[str]) -> list[str]:
    """Accept --verbose/--quiet anywhere (``edgekit build --verbose``), not only before the verb."""
    head, rest = [], []
    for i, tok in enumerate(argv):
        if tok == "--":
            rest.extend(argv[i:])
            break
        (head if tok in _GLOBAL_FLAGS else rest).append(tok)
    return head + rest


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_hoist_global_flags(list(sys.argv[1:] if argv is None else argv)))
    log.configure(args.verbosity)
    try:
        return int(args.func(args) or 0)
    except EdgekitError as exc:
        log.echo_err(f"edgekit: error: {exc}")
        return 1
    except BrokenPipeError:  # the reader of stdout closed it (edgekit ... | head): stop quietly
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        except (OSError, ValueError):
            pass
        return 141  # 128 + SIGPIPE, as a tool killed by the signal
    except OSError as exc:  # an OS error no stage turned into its own line: still one line, no traceback
        where = exc.filename if exc.filename is not None else "edgekit"
        log.echo_err(f"edgekit: error: {where}: {describe_os_error(exc)}")
        return 1
    except KeyboardInterrupt:
        log.echo_err("edgekit: interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
