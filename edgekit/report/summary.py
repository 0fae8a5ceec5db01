"""``build/report.md``: one page over every model of a build and its Swift package."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgekit.config.load import ModelConfig
from edgekit.core.errors import EdgekitError
from edgekit.report.environment import STAGE_ORDER, stage_times
from edgekit.report.packaging import bundled_on_disk
from edgekit.report.sources import read_json
from edgekit.report.text import backend_text, kb, md_table, num, pct, real_goal_text, yes_no
from edgekit.tasks.roles import role_named


def _package_seconds(build_dir: Path) -> float | None:
    p = build_dir / "ios" / ".package-stamp.json"
    if not p.is_file():
        return None
    rec = read_json(p, "package stamp")
    secs = rec.get("seconds") if isinstance(rec, dict) else None
    if not isinstance(secs, (int, float)) or isinstance(secs, bool):
        raise EdgekitError(f"{p}: package stamp has no numeric 'seconds'")
    return float(secs)


def _stage_seconds(build_dir: Path, model: str) -> dict[str, float | None]:
    return stage_times(build_dir / model)


def summary_markdown(cfgs: list[ModelConfig], reports: list[dict[str, Any]], build_dir: Path) -> str:
    out = ["# edgekit build report", ""]
    package = next((r["packaging"].get("package") for r in reports if r["packaging"].get("package")), None)
    rows = []
    for rep in reports:
        pack = rep["packaging"]
        by_name = {v["name"]: v for v in rep["variants"]}
        chosen = by_name.get(pack.get("variant") or "", {})
        on_disk = bundled_on_disk(build_dir, package, rep["model"], rep["variants"]) if package else None
        if role_named(rep["role"]).has_labels:
            metric = (f"accuracy {pct(chosen.get('accuracy'))}, macro-F1 {num(chosen.get('macro_f1'), 3)}"
                      if chosen else "—")
            ref = f"accuracy {pct(rep['fp32_torch'].get('accuracy'))}, macro-F1 {num(rep['fp32_torch'].get('macro_f1'), 3)}"
        else:
            metric = f"MAE {num(chosen.get('mae'), 3)}" if chosen else "—"
            ref = f"MAE {num(rep['fp32_torch'].get('mae'), 3)}"
            if rep["fp32_torch"].get("baseline_mae") is not None:
                ref += f" (persistence {num(rep['fp32_torch']['baseline_mae'], 3)})"
        bundled = pack.get("variant") or "none"
        if on_disk is not None and on_disk != pack.get("variant"):
            bundled += f" (package on disk holds {on_disk}: re-run `edgekit build`)"
        elif on_disk is not None:
            bundled += " ✓"
        data = rep.get("data") or {}
        rows.append([
            f"[{rep['model']}]({rep['model']}/report/report.md)", rep["role"],
            "**SYNTHETIC**" if data.get("synthetic") else {"files": "files", "influxdb": "InfluxDB"}.get(
                data.get("source"), "—"), bundled,
            kb(chosen.get("bytes_total")) if chosen else "—",
            f"{pack['max_kb']:g}" if pack.get("max_kb") else "—", metric, ref,
            f"{sum(1 for v in rep['variants'] if v.get('passed'))}/{len(rep['variants'])}",
        ])
    if package:
        pkg_dir = build_dir / "ios" / package
        out.append(f"Swift package: `ios/{package}/` ({'present' if pkg_dir.is_dir() else 'not built'}). "
                   "✓ = the bundled `.mlpackage` matches the variant by content hash.")
        out.append("")
    out += ["## Models", "",
            md_table(["model", "role", "trained on", "bundled variant", "KB", "budget KB", "bundled (held-out)",
                      "fp32 torch (held-out)", "variants passed"], rows), ""]
    if any((rep.get("data") or {}).get("synthetic") for rep in reports):
        out += ["Models trained on **SYNTHETIC** data (simulated RR, no real people; docs/synthetic_cohort.md) "
                "demonstrate the pipeline: their held-out figures are synthetic, not a health claim.", ""]
    real = [(rep["model"], rs) for rep in reports for rs in rep.get("real") or []]
    if real:
        out += ["## Real recordings", "",
                "Figures above are **synthetic** (held-out subjects of the simulator); these are **real** "
                "(recordings of real people, `realdata/`).", ""]
        for model, rs in real:
            out += [f"- **{model}** on {rs['title']}:"] + [f"  - {real_goal_text(g)}" for g in rs.get("goals", [])]
        out.append("")
    for rep in reports:
        out += [f"## {rep['model']}", ""]
        pack = rep["packaging"]
        if pack.get("why"):
            out += [f"**Why {pack.get('variant') or 'nothing'}:** {pack['why']}", ""]
        metric = role_named(rep["role"]).metric
        vrows = []
        for v in rep["variants"]:
            val = pct(v.get(metric)) if metric == "accuracy" else num(v.get(metric), 3)
            failed = [g["name"] for g in v.get("gates", []) if g.get("passed") is False]
            vrows.append([v["name"], kb(v["bytes_total"]), f"{v['compression_vs_fp32']:.2f}×" if v.get("compression_vs_fp32") else "—",
                          val, num(v.get("coreml_max_abs_diff")), yes_no(v.get("passed")),
                          ", ".join(failed) or "—", "📦" if v.get("packaged") else ""])
        out += [md_table(["variant", "KB", "× vs fp32", "accuracy" if metric == "accuracy" else "MAE",
                          "Core ML max|Δ|", "passed", "failed gates", "packaged"], vrows), "",
                f"Core ML figures from {backend_text(rep.get('coreml_backend'))}. Full report: "
                f"[{rep['model']}/report/report.md]({rep['model']}/report/report.md), "
                f"[report.html]({rep['model']}/report/report.html).", ""]
    # build times
    times = {rep["model"]: _stage_seconds(build_dir, rep["model"]) for rep in reports}
    trow = []
    for stage in STAGE_ORDER:
        trow.append([stage] + ["—" if times[m].get(stage) is None else f"{times[m][stage]:.1f}" for m in times])
    pkg_s = _package_seconds(build_dir)
    out += ["## Build time per stage (seconds, last successful run)", "",
            md_table(["stage"] + list(times), trow), "",
            f"Package stage: {'—' if pkg_s is None else f'{pkg_s:.1f}'} s.", ""]
    env = reports[0]["environment"] if reports else {}
    if env:
        git = env.get("git", {})
        out += ["## Environment", "",
                f"edgekit {env['edgekit']}, git {git.get('commit') or 'unknown'}"
                f"{' (uncommitted changes)' if git.get('dirty') else ''}, Python {env['python']} on {env['platform']}; "
                + ", ".join(f"{k} {v}" for k, v in env["packages"].items() if v) + ".", ""]
    return "\n".join(out)
