"""Render a collected report as Markdown (reads well on a code host) and one self-contained HTML file,
from the sections of :mod:`edgekit.report.sections`."""

from __future__ import annotations

import base64
import html

from edgekit.report.sections import (
    BASELINE_HEAD,
    BASELINE_NOTE,
    COVERAGE_NOTE,
    PLOT_TITLES,
    REAL_NOTE,
    _baseline_rows,
    _candidate_rows,
    _coverage_rows,
    _env_rows,
    _gate_rows,
    _headline,
    _notes,
    _person_rows,
    _profile_rows,
    _real_blocks,
    _stage_rows,
    quality_columns,
    size_columns,
)
from edgekit.report.text import backend_text, md_table, num, trained_on  # noqa: F401  (trained_on: tests import it here)

# ---------------------------------------------------------------------------------------------
# Markdown


def markdown(report: dict, plots: list[str]) -> str:
    out = [f"# {report['model']} — size / accuracy report", ""]
    if report.get("description"):
        out += [f"_{report['description']}_", ""]
    out += [f"- **{label}:** {text}" for label, text in _headline(report)]
    size, quality = size_columns(report), quality_columns(report)
    rows = report["variants"]
    out += ["", "## Size", "",
            md_table([h for h, _ in size], [[f(r) for _, f in size] for r in rows]), "",
            "Package = every byte of the `.mlpackage` on disk; weight blob = its "
            "`Data/com.apple.CoreML/weights/weight.bin`; bits/param as measured by the convert stage from "
            "the saved program; floor = parameters × nominal bits ÷ 8.", "",
            "## Held-out accuracy and parity", "",
            md_table([h for h, _ in quality], [[f(r) for _, f in quality] for r in rows]), "",
            "Accuracy and parity figures are copied from `verify/parity.json` (variants) and "
            "`train/metrics.json` (fp32 torch); Δ is relative to the fp32 torch model on the same held-out "
            f"subjects. Core ML figures from {backend_text(report.get('coreml_backend'))}.", ""]
    notes = _notes(report)
    if notes:
        out += ["**Notes:**", ""] + [f"- {n}" for n in notes] + [""]
    cap, prow = _person_rows(report)
    if prow:
        out += ["## One person over the years", "", cap + ".", "", md_table(["approach", "MAE bpm", "RMSE bpm"], prow),
                ""]
    head, crow = _coverage_rows(report)
    if crow:
        out += ["## Coverage per recording profile", "", COVERAGE_NOTE, "", md_table(head, crow), ""]
    if _profile_rows(report):
        out += ["## Held-out runners by HR sampling", "",
                md_table(["profile", "windows", "MAE bpm"], _profile_rows(report)), ""]
    real = _real_blocks(report)
    if real:
        out += ["## Real recordings", "", REAL_NOTE, ""]
        for title, goals, tables in real:
            out += [f"### {title}", ""] + [f"- {g}" for g in goals] + [""]
            for ttitle, head, trows, note in tables:
                out += [f"**{ttitle}**", "", md_table(head, trows), ""] + ([note, ""] if note else [])
    brows = _baseline_rows(report)
    if brows:
        out += ["## Personal baseline per subject", "", BASELINE_NOTE, "", md_table(BASELINE_HEAD, brows), ""]
    out += ["## Gates", "", md_table(["variant", "gate", "value", "limit", "passed"], _gate_rows(report)), ""]
    cand = _candidate_rows(report)
    if cand:
        out += ["## Package selection", "", md_table(["variant", "status", "reason"], cand), ""]
    if plots:
        out += ["## Plots", ""]
        for name in plots:
            out += [f"### {PLOT_TITLES.get(name, name)}", "", f"![{PLOT_TITLES.get(name, name)}]({name})", ""]
    tr = report.get("training", {})
    out += ["## Training", "",
            f"Best epoch {num(tr.get('best_epoch'))} of {num(tr.get('epochs_run'))}; windows "
            + ", ".join(f"{k} {num(v)}" for k, v in (tr.get("n_windows") or {}).items())
            + "; subjects " + ", ".join(f"{k} {num(v)}" for k, v in (tr.get("n_subjects") or {}).items()) + ".", ""]
    out += ["## Build time per stage", "", md_table(["stage", "seconds"], _stage_rows(report)), "",
            "## Environment", "", md_table(["component", "version"], _env_rows(report)), ""]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# HTML (one self-contained file: inline CSS, plots as base64 data URIs, no scripts, no network)


_CSS = """
body{font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif;margin:2em auto;max-width:1200px;
padding:0 1em;color:#1f2328;line-height:1.45}
h1{border-bottom:1px solid #d0d7de;padding-bottom:.3em}h2{margin-top:1.6em;border-bottom:1px solid #eaeef2}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:right}
th{background:#f6f8fa}td.l,th.l{text-align:left}tr.packaged td{background:#fff8e1;font-weight:600}
tr.failed td{color:#8a1c12}dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}dd{margin:0}
figure{display:inline-block;margin:.5em 1em .5em 0;vertical-align:top}figcaption{font-size:12px;color:#57606a}
img{max-width:100%;border:1px solid #eaeef2}.note{color:#57606a;font-size:13px}
"""


_HTML_GLYPHS = {"✅": "✓", "❌": "✗ FAIL", "📦 ": ""}


def _plain(text: str) -> str:
    """Emoji read well on a code host; the HTML uses glyphs every system font has."""
    for a, b in _HTML_GLYPHS.items():
        text = text.replace(a, b)
    return text


def _html_table(headers: list[str], rows: list[list[str]], row_classes: list[str] | None = None,
                left: int = 1) -> str:
    def e(x: str) -> str:
        return html.escape(_plain(x))

    parts = ["<table><thead><tr>"]
    parts += [f'<th class="{"l" if i < left else ""}">{e(h)}</th>' for i, h in enumerate(headers)]
    parts.append("</tr></thead><tbody>")
    for k, row in enumerate(rows):
        cls = f' class="{row_classes[k]}"' if row_classes and row_classes[k] else ""
        parts.append(f"<tr{cls}>" + "".join(
            f'<td class="{"l" if i < left else ""}">{e(str(c))}</td>' for i, c in enumerate(row)) + "</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def html_page(report: dict, plots: dict[str, bytes]) -> str:
    e = html.escape
    size, quality = size_columns(report), quality_columns(report)
    title = f"{report['model']} — size / accuracy report"
    body = [f"<h1>{e(title)}</h1>"]
    if report.get("description"):
        body.append(f"<p><em>{e(report['description'])}</em></p>")
    body.append("<dl>" + "".join(f"<dt>{e(label)}</dt><dd>{e(text)}</dd>" for label, text in _headline(report)) + "</dl>")
    classes = ["packaged" if r.get("packaged") else ("" if r.get("passed") else "failed") for r in report["variants"]]
    rows = report["variants"]
    body += ["<h2>Size</h2>",
             _html_table([h for h, _ in size], [[f(r) for _, f in size] for r in rows], classes, left=2),
             "<p class=note>Package = every byte of the .mlpackage on disk; weight blob = "
             "Data/com.apple.CoreML/weights/weight.bin; bits/param as measured by the convert stage; "
             "floor = parameters × nominal bits ÷ 8.</p>",
             "<h2>Held-out accuracy and parity</h2>",
             _html_table([h for h, _ in quality], [[f(r) for _, f in quality] for r in rows], classes),
             "<p class=note>Accuracy and parity figures are copied from verify/parity.json and "
             "train/metrics.json; Δ is relative to the fp32 torch model on the same held-out subjects. Core ML "
             f"figures from {e(backend_text(report.get('coreml_backend')))}.</p>"]
    notes = _notes(report)
    if notes:
        body.append("<ul>" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>")
    cap, prow = _person_rows(report)
    if prow:
        body += ["<h2>One person over the years</h2>", f"<p>{e(cap)}.</p>",
                 _html_table(["approach", "MAE bpm", "RMSE bpm"], prow, left=1)]
    head, crow = _coverage_rows(report)
    if crow:
        body += ["<h2>Coverage per recording profile</h2>", f"<p>{e(COVERAGE_NOTE)}</p>",
                 _html_table(head, crow, left=1)]
    if _profile_rows(report):
        body += ["<h2>Held-out runners by HR sampling</h2>",
                 _html_table(["profile", "windows", "MAE bpm"], _profile_rows(report), left=1)]
    real = _real_blocks(report)
    if real:
        body += ["<h2>Real recordings</h2>", f"<p class=note>{e(_plain(REAL_NOTE.replace('**', '').replace('`', '')))}</p>"]
        for title, goals, tables in real:
            body += [f"<h3>{e(title)}</h3>", "<ul>" + "".join(f"<li>{e(_plain(g))}</li>" for g in goals) + "</ul>"]
            for ttitle, head, trows, note in tables:
                body += [f"<p><strong>{e(ttitle)}</strong></p>", _html_table(head, trows, left=1)]
                if note:
                    body.append(f"<p class=note>{e(note)}</p>")
    brows = _baseline_rows(report)
    if brows:
        body += ["<h2>Personal baseline per subject</h2>", f"<p class=note>{e(BASELINE_NOTE)}</p>",
                 _html_table(BASELINE_HEAD, brows, left=1)]
    body += ["<h2>Gates</h2>", _html_table(["variant", "gate", "value", "limit", "passed"], _gate_rows(report), left=2)]
    cand = _candidate_rows(report)
    if cand:
        body += ["<h2>Package selection</h2>", _html_table(["variant", "status", "reason"], cand, left=3)]
    if plots:
        body.append("<h2>Plots</h2>")
        for name, png in plots.items():
            data = base64.b64encode(png).decode("ascii")
            cap = PLOT_TITLES.get(name, name)
            body.append(f'<figure><img alt="{e(cap)}" src="data:image/png;base64,{data}"><figcaption>{e(cap)}'
                        "</figcaption></figure>")
    body += ["<h2>Build time per stage</h2>", _html_table(["stage", "seconds"], _stage_rows(report)),
             "<h2>Environment</h2>", _html_table(["component", "version"], _env_rows(report), left=2)]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{e(title)}</title><style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
