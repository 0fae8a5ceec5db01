"""The ``report`` stage: size / accuracy report of a model's variants, and the build summary.

``run(cfg, build_dir)`` writes ``build/<model>/report/``: ``report.json`` (every figure, with the
stage file and JSON pointer it was copied from), ``report.md``, ``report.html`` (one self-contained
file, plots embedded) and the PNG plots. Nothing is re-measured: byte counts are read from disk,
accuracy and parity figures from ``train/metrics.json`` and ``verify/parity.json``.

``write_build_summary(cfgs, build_dir)`` writes ``build/report.md`` over every model of a build.

The modules that gather and draw a report are imported when a report is made, on purpose: they bring
torch (the checkpoint's parameter count) and matplotlib, which reading a report does not need.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edgekit.config.load import ModelConfig
from edgekit.core.errors import EdgekitError
from edgekit.core.fileio import atomic_path, claim_build_dir, write_text
from edgekit.report.sources import read_json

REPORT_FILES = ("report.json", "report.md", "report.html")


def run(cfg: ModelConfig, build_dir: Path) -> dict[str, Any]:
    """Write ``build/<model>/report/`` atomically; a bad input leaves the previous report untouched."""
    from edgekit.report.collect import collect
    from edgekit.report.plots import render_all
    from edgekit.report.render import html_page, markdown

    build_dir = claim_build_dir(build_dir)
    report = collect(cfg, build_dir)
    plots = render_all(report)
    report["plots"] = sorted(plots)
    md = markdown(report, list(plots))
    page = html_page(report, plots)
    out = build_dir / cfg.name / "report"
    with atomic_path(out) as tmp:
        tmp.mkdir(parents=True)
        (tmp / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        (tmp / "report.md").write_text(md, encoding="utf-8")
        (tmp / "report.html").write_text(page, encoding="utf-8")
        for name, png in plots.items():
            (tmp / name).write_bytes(png)
    pack = report["packaging"]
    return {"report": str(out), "variants": len(report["variants"]), "packaged": pack.get("variant"),
            "passed": [r["name"] for r in report["variants"] if r.get("passed")]}


def load_report(build_dir: Path, model: str) -> dict[str, Any]:
    path = Path(build_dir) / model / "report" / "report.json"
    doc = read_json(path, "model report")
    if not isinstance(doc, dict) or not isinstance(doc.get("variants"), list):
        raise EdgekitError(f"{path}: not an edgekit model report (no 'variants' list)")
    return doc


def write_build_summary(cfgs: list[ModelConfig], build_dir: Path) -> Path:
    """``build/report.md``: every model's bundled variant, variants, gates and build times."""
    from edgekit.report.summary import summary_markdown

    build_dir = Path(build_dir)
    reports = [load_report(build_dir, cfg.name) for cfg in cfgs]
    text = summary_markdown(cfgs, reports, build_dir)
    target = build_dir / "report.md"
    write_text(target, text)
    return target


__all__ = ["REPORT_FILES", "load_report", "run", "write_build_summary"]
