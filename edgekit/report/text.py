"""Cell text of the reports (numbers, sizes, percentages, gates, backends) and Markdown tables,
shared by the per-model report (:mod:`edgekit.report.render`) and the build summary."""

from __future__ import annotations

import math
from typing import Any


BACKEND_TEXT = {
    "reference": "edgekit's NumPy reference evaluator of the ML program (no Core ML runtime on this OS)",
    "reference-evaluator": "edgekit's NumPy reference evaluator of the saved ML program (Linux has no Core ML runtime)",
    "reference-evaluator + coreml-runtime": "the Core ML runtime and edgekit's reference evaluator",
    "reference_evaluator": "edgekit's NumPy reference evaluator of the ML program (no Core ML runtime on this OS)",
    "coreml": "the Core ML runtime",
    "coreml_runtime": "the Core ML runtime",
}


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


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def md_table(headers: list[str], rows: list[list[Any]], align: str | None = None) -> str:
    sep = [":--" if (align and align[i] == "l") else "--:" for i in range(len(headers))] if align else ["---"] * len(headers)
    lines = ["| " + " | ".join(_md_cell(h) for h in headers) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def trained_on(data: dict) -> str:
    """What a model was trained on, in words: SYNTHETIC data said so in capitals, else the source."""
    if data.get("synthetic"):
        return "SYNTHETIC data — " + (data.get("note") or "synthetic cohort")
    return {"files": "recorded data from files", "influxdb": "recorded data from InfluxDB"}.get(
        data.get("source"), "unknown data (no data summary)")


def real_goal_text(g: dict) -> str:
    value = g.get("value")
    shown = "—" if value is None else num(value, 3)
    return f"{'✅' if g.get('met') else '❌'} {g['name']}: {shown} (goal {g['target']}; {g.get('split', 'all')})"
