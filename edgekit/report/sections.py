"""What a per-model report says, section by section, as (header, rows) and (label, text) lines that
the Markdown and HTML renderers (:mod:`edgekit.report.render`) both lay out: the headline, the
variants' size and quality columns, coverage per recording profile, gates, stages, environment, real
recordings and the personal baseline. The model's role (:mod:`edgekit.tasks.roles`) decides which
figures a section carries."""

from __future__ import annotations

from typing import Any

from edgekit.report.text import _signed, backend_text, kb, num, pct, ratio, real_goal_text, trained_on, yes_no
from edgekit.tasks import task_for
from edgekit.tasks.roles import ROLES, role_named


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
    role = ROLES.get(report.get("role", ""))
    if role is not None and role.has_labels:
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
    classifier = role_named(report["role"]).has_labels
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
    if role_named(report["role"]).has_labels:
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
