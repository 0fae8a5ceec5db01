"""Render a collected report as Markdown (reads well on a code host) and one self-contained HTML file."""

from __future__ import annotations

import base64
import html
import math
from typing import Any

from edgekit.tasks import task_for

PLOT_TITLES = {
    "size_vs_accuracy.png": "Size vs accuracy (Pareto)",
    "confusion.png": "Confusion matrix (fp32 torch, held-out)",
    "training_curves.png": "Training curves",
    "parity_errors.png": "Parity error vs torch",
    "person_results.png": "One person's newest year: MAE per approach (bpm)",
    "person_trace.png": "One newer workout: recorded vs predicted HR",
    "accuracy_vs_beats.png": "Held-out macro-F1 against the beats of a reading",
    "real_runs.png": "Real runs: recorded vs predicted HR per run (real)",
    "real_hr_at_speed.png": "HR at speed: real runs against the synthetic population",
}


def _person_rows(report: dict) -> tuple[str, list[list[str]]]:
    """(caption, rows) of the person scenario (activity model), or ("", []) without one."""
    p = report.get("person") or {}
    if not p.get("results"):
        return "", []
    cap = (f"Runner {p['person']}: trained on {', '.join(str(y) for y in p.get('train_years', []))}, tested on "
           f"{p['test_year']} ({p['n_windows']['newer']} windows); context = the first "
           f"{p.get('context_minutes', 0):g} min of recorded HR; synthetic. Run by `edgekit evaluate --person` "
           f"on {p.get('date') or '?'}, config fingerprint {(p.get('config_fingerprint') or '?')[:12]}")
    if p.get("stale"):
        cap += " (from an earlier checkpoint: the model was retrained since; run it again for current figures)"
    rows = [[name, f"{v['mae_bpm']:.2f}", f"{v['rmse_bpm']:.2f}"] for name, v in p["results"].items()]
    return cap, rows


def _coverage_rows(report: dict) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of coverage and accuracy per recording profile (watch-shaped models)."""
    rows = (report.get("coverage") or {}).get("rows") or []
    if not rows:
        return [], []
    if report.get("role") == "classifier":
        head = ["recording profile", "readings", "input available", "macro-F1 per reading", "macro-F1 per day"]
        body = [[r["title"], num(r.get("count")), f"{100 * r['coverage']:.1f} %", num(r.get("macro_f1_per_reading")),
                 num(r.get("macro_f1_per_day"))] for r in rows]
    else:
        head = ["recording profile", "wake-ups", "forecast available", "… with ≥ 3 readings in 24 h", "MAE",
                "MAE ÷ persistence"]
        body = [[r["title"], num(r.get("count")), f"{100 * r['coverage']:.1f} %",
                 f"{100 * r['coverage_given_3_readings']:.1f} %" if r.get("coverage_given_3_readings") is not None
                 else "—", num(r.get("mae")), num(r.get("mae_vs_persistence"))] for r in rows]
    return head, body


COVERAGE_NOTE = ("Held-out subjects of the synthetic cohort (docs/synthetic_cohort.md), per recording profile: "
                 "how often an input can be made (coverage) and the accuracy at that coverage. Simulated "
                 "schedules, not real wearers.")


def _profile_rows(report: dict) -> list[list[str]]:
    """Held-out runners' MAE per HR-sampling profile and context (activity model)."""
    prof = report.get("held_out_by_profile") or (report.get("person") or {}).get("held_out_by_profile") or {}
    return [[name, num(v["windows"]), f"{v['mae_bpm']:.2f}"] for name, v in prof.items()]
BACKEND_TEXT = {
    "reference": "edgekit's NumPy reference evaluator of the ML program (no Core ML runtime on this OS)",
    "reference-evaluator": "edgekit's NumPy reference evaluator of the saved ML program (Linux has no Core ML runtime)",
    "reference-evaluator + coreml-runtime": "the Core ML runtime and edgekit's reference evaluator",
    "reference_evaluator": "edgekit's NumPy reference evaluator of the ML program (no Core ML runtime on this OS)",
    "coreml": "the Core ML runtime",
    "coreml_runtime": "the Core ML runtime",
}


# ---------------------------------------------------------------------------------------------
# formatting


def num(v: Any, digits: int = 4) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e6):
            return f"{v:.2e}"
        return f"{v:.{digits}g}"
    return str(v)


def kb(b: Any) -> str:
    return "—" if b is None else f"{b / 1024:,.1f}"


def pct(v: Any) -> str:
    return "—" if v is None else f"{v * 100:.2f} %"


def signed_pct(v: Any) -> str:
    return "—" if v is None else f"{v * 100:+.2f} pp"


def ratio(v: Any) -> str:
    return "—" if v is None else f"{v:.2f}×"


def yes_no(v: Any) -> str:
    return "—" if v is None else ("✅" if v else "❌")


def gate_text(g: dict) -> str:
    s = g["name"]
    if g.get("value") is not None and g.get("limit") is not None:
        s += f" {num(g['value'])} / {num(g['limit'])}"
    return f"{s} {yes_no(g.get('passed'))}"


def backend_text(b: str | None) -> str:
    if not b:
        return "not recorded by verify"
    return BACKEND_TEXT.get(b, b)


def _signed(v: Any, fmt: str, scale: float = 1.0, unit: str = "") -> str:
    if v is None:
        return "—"
    x = v * scale
    return "±0" + unit if abs(x) < 0.5 * 10 ** -int(fmt[-2]) else format(x, "+" + fmt) + unit


def size_columns(report: dict) -> list[tuple[str, Any]]:
    """(header, row → cell text) of the size table, shared by Markdown and HTML."""
    return [
        ("variant", lambda r: r["name"]),
        ("precision", lambda r: r["precision"]),
        ("package KB", lambda r: kb(r["bytes_total"])),
        ("weight blob KB", lambda r: kb(r["weight_bytes"])),
        ("params", lambda r: num(r["params"])),
        ("bits/param stored", lambda r: num(r["bits_per_param"], 3) if r.get("bits_per_param") is not None
         else "≈" + num(r["bits_per_param_blob"], 3)),
        ("floor KB", lambda r: kb(r.get("floor_bytes"))),
        ("× smaller than fp32", lambda r: ratio(r["compression_vs_fp32"])),
        ("packaged", lambda r: "📦 yes" if r.get("packaged") else "no"),
    ]


def quality_columns(report: dict) -> list[tuple[str, Any]]:
    """(header, row → cell text) of the held-out accuracy and parity table."""
    classifier = report["role"] == "classifier"
    cols: list[tuple[str, Any]] = [("variant", lambda r: r["name"])]
    if classifier:
        cols += [
            ("accuracy", lambda r: pct(r.get("accuracy"))),
            ("Δ acc vs fp32 torch", lambda r: _signed(-r["accuracy_drop"] if r.get("accuracy_drop") is not None
                                                      else None, ".2f", 100, " pp")),
            ("macro-F1", lambda r: num(r.get("macro_f1"), 3)),
            ("Δ F1", lambda r: _signed(-r["macro_f1_drop"] if r.get("macro_f1_drop") is not None else None, ".3f")),
        ]
    else:
        cols += [
            ("MAE", lambda r: num(r.get("mae"), 3)),
            ("Δ MAE vs fp32 torch", lambda r: _signed(r.get("mae_drop"), ".3f")),
        ]
    cols += [("ORT max|Δ|", lambda r: num(r.get("onnx_max_abs_diff")))]
    if classifier:
        cols += [("ORT top-1", lambda r: pct(r.get("onnx_top1_agreement")))]
    cols += [("Core ML max|Δ|", lambda r: num(r.get("coreml_max_abs_diff")))]
    if classifier:
        cols += [("Core ML top-1", lambda r: pct(r.get("coreml_top1_agreement")))]
    cols += [
        ("gates", lambda r: f"{sum(1 for g in r.get('gates', []) if g.get('passed'))}/{len(r.get('gates', []))}"),
        ("passed", lambda r: yes_no(r.get("passed"))),
        ("packaged", lambda r: "📦 yes" if r.get("packaged") else "no"),
    ]
    return cols


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def md_table(headers: list[str], rows: list[list[Any]], align: str | None = None) -> str:
    sep = [":--" if (align and align[i] == "l") else "--:" for i in range(len(headers))] if align else ["---"] * len(headers)
    lines = ["| " + " | ".join(_md_cell(h) for h in headers) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _headline(report: dict) -> list[tuple[str, str]]:
    """(label, text) lines of the summary, shared by Markdown and HTML."""
    t = report["fp32_torch"]
    pack = report["packaging"]
    rows = {r["name"]: r for r in report["variants"]}
    out: list[tuple[str, str]] = []
    if pack.get("variant"):
        r = rows.get(pack["variant"], {})
        text = f"{pack['variant']} — {kb(r.get('bytes_total'))} KB on disk"
        if pack.get("max_kb"):
            text += f" (budget {pack['max_kb']:g} KB)"
        out.append(("Bundled variant", text))
        out.append(("Why", pack.get("why") or "—"))
        if pack.get("bundled_on_disk"):
            out.append(("In the package", f"build/ios/{pack['package']} bundles {pack['bundled_on_disk']} (matched by content hash)"))
    else:
        out.append(("Bundled variant", pack.get("why") or "none"))
    if report["role"] == "classifier":
        out.append(("fp32 torch (held-out)", f"accuracy {pct(t.get('accuracy'))}, macro-F1 {num(t.get('macro_f1'), 3)}"
                    f" on {num(report['test_metrics'].get('n'))} windows of held-out test subjects"))
    else:
        # the task spec's words (a report without model_type, written before it was recorded: a forecaster's)
        task = task_for(report["model_type"]) if report.get("model_type") else None
        unit, base, noun = ((task.output_unit, task.baseline_name, task.input_noun) if task
                            else ("score points", "persistence baseline", "series"))
        text = f"MAE {num(t.get('mae'), 3)} {unit}"
        if t.get("baseline_mae") is not None:
            text += f" ({base} {num(t['baseline_mae'], 3)})"
        if t.get("zone_accuracy") is not None:
            text += f", zone accuracy {pct(t['zone_accuracy'])}"
        many = "series" if noun == "series" else noun + "s"
        out.append(("fp32 torch (held-out)", text + f" on {num(report['test_metrics'].get('n'))} {many}"))
    out.append(("Core ML figures from", backend_text(report.get("coreml_backend"))))
    out.append(("Parameters", num(report["params"])))
    for warning in (report.get("training") or {}).get("warnings", []):
        out.append(("⚠ Weak result", warning))
    out.append(("Trained on", trained_on(report.get("data", {}))))
    return out


def trained_on(data: dict) -> str:
    """What a model was trained on, in words: SYNTHETIC data said so in capitals, else the source."""
    if data.get("synthetic"):
        return "SYNTHETIC data — " + (data.get("note") or "synthetic cohort")
    return {"files": "recorded data from files", "influxdb": "recorded data from InfluxDB"}.get(
        data.get("source"), "unknown data (no data summary)")


def _stage_rows(report: dict) -> list[list[str]]:
    secs = report.get("stage_seconds", {})
    rows = [[stage, "—" if s is None else f"{s:.1f}"] for stage, s in secs.items()]
    known = [s for s in secs.values() if s is not None]
    rows.append(["total (recorded stages)", f"{sum(known):.1f}"])
    return rows


def _env_rows(report: dict) -> list[list[str]]:
    env = report["environment"]
    git = env.get("git", {})
    commit = git.get("commit") or "unknown"
    if git.get("dirty"):
        commit += " (uncommitted changes)"
    rows = [["edgekit", env["edgekit"]], ["git commit", commit], ["python", env["python"]],
            ["platform", env["platform"]]]
    rows += [[k, v or "not installed"] for k, v in env["packages"].items()]
    return rows


def _gate_rows(report: dict) -> list[list[str]]:
    rows = []
    for g in report.get("onnx_gates", []):
        rows.append(["onnx (fp32 export)", g.get("figure") or g["name"], num(g.get("value")),
                     f"{g.get('comparison', '')} {num(g.get('limit'))}".strip(), yes_no(g.get("passed"))])
    for r in report["variants"]:
        if not r.get("gates"):
            rows.append([r["name"], "—", "—", "—", r.get("verify_note") or "no gates recorded"])
        for g in r.get("gates", []):
            rows.append([r["name"], g.get("figure") or g["name"], num(g.get("value")),
                         f"{g.get('comparison', '')} {num(g.get('limit'))}".strip(), yes_no(g.get("passed"))])
    return rows


def _candidate_rows(report: dict) -> list[list[str]]:
    return [[c.get("variant") or "—", c.get("status") or "—", c.get("reason") or "—"]
            for c in report["packaging"].get("candidates", [])]


REAL_NOTE = ("**Real** figures: the trained model (fp32 torch) on recordings of real people no one here wrote "
             "(`realdata/`, licences and sources in each set's manifest); the figures above this section are "
             "**synthetic** (held-out subjects of the simulator). Holdout persons were never used for tuning.")


def real_goal_text(g: dict) -> str:
    value = g.get("value")
    shown = "—" if value is None else num(value, 3)
    return f"{'✅' if g.get('met') else '❌'} {g['name']}: {shown} (goal {g['target']}; {g.get('split', 'all')})"


def _real_blocks(report: dict) -> list[tuple[str, list[str], list[tuple[str, list[str], list[list[str]], str]]]]:
    """(title, goal lines, tables (title, headers, rows, note)) per real set."""
    out = []
    for rs in report.get("real") or []:
        holdout = ", ".join(rs.get("holdout_persons") or []) or "none"
        title = (f"{rs['title']} — {rs['n_recordings']} recordings of {rs['n_persons']} persons "
                 f"(holdout, never tuned on: {holdout})")
        goals = [real_goal_text(g) for g in rs.get("goals", [])] + [f"⚠️ {w}" for w in rs.get("warnings", [])]
        tables = [(t["title"], [str(c) for c in t["columns"]],
                   [[c if isinstance(c, str) else num(c, 3) for c in row] for row in t["rows"]], t.get("note", ""))
                  for t in rs.get("tables", [])]
        out.append((title, goals, tables))
    return out


BASELINE_NOTE = ("The wearer's own baseline, label-free (no model): each subject's night readings (00:00-06:00 "
                 "UTC), ln RMSSD per day, read against its 7-day mean and its 60-day normal range (mean ± the "
                 "smallest worthwhile change, 0.5 s.d.); docs/baseline.md. A figure is '-' until enough days of "
                 "readings exist (the 7-day mean needs 3 of 7 days, the normal range 14 of 60).")
BASELINE_HEAD = ["subject", "readings", "days", "latest day", "ln RMSSD", "7-day mean", "CV %", "normal range",
                 "trend", "today", "trend days below / within / above"]


def _baseline_rows(report: dict) -> list[list[str]]:
    """Per subject of a build from files: the latest day of its baseline and its trend days."""
    sec = report.get("baseline") or {}
    rows = []
    for subject, b in sorted((sec.get("subjects") or {}).items()):
        x = b.get("latest") or {}
        counts = b.get("trend_counts") or {}
        low, high = x.get("normal_range_low_ln"), x.get("normal_range_high_ln")
        rows.append([subject, num(b.get("n_readings")), num(b.get("days_with_value")), x.get("date") or "-",
                     _ln(x.get("ln_rmssd")), _ln(x.get("rolling_mean_7d_ln")),
                     "-" if x.get("cv_7d_pct") is None else f"{x['cv_7d_pct']:.1f}",
                     "-" if low is None or high is None else f"{low:.3f}-{high:.3f}",
                     x.get("trend") or "-", x.get("today") or "-",
                     " / ".join(str(counts.get(w, 0)) for w in ("below", "within", "above"))
                     if x else (b.get("reason") or "-")])
    return rows


def _ln(v: Any) -> str:
    return "-" if v is None else f"{v:.3f}"


def _notes(report: dict) -> list[str]:
    notes = []
    for r in report["variants"]:
        if r.get("size_note"):
            notes.append(f"{r['name']}: {r['size_note']}")
        if r.get("verify_error"):
            notes.append(f"{r['name']}: verify: {r['verify_error']}")
    return notes


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
