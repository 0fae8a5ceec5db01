"""The report's PNG plots (matplotlib, Agg, no pyplot global state, byte-deterministic output).

Each function takes the collected report dict and returns PNG bytes, or ``None`` when the data it
needs is not in the report (e.g. no confusion matrix for a forecaster).
"""

from __future__ import annotations

import math
from typing import Any

from edgekit.report.plot_style import FAIL, PACKAGED, PASS, REF, _figure, _png, _rc
from edgekit.report.plots_real import (
    real_hr_at_speed,
    real_label_shares,
    real_realism,
    real_runs,
    real_zones,
)
from edgekit.tasks.roles import role_named


def pareto(report: dict) -> bytes | None:
    """Size (package KB, log x) vs held-out accuracy / MAE, Pareto front, budget and packaged variant."""
    role = role_named(report["role"])
    classifier, metric = role.has_labels, role.metric
    pts = [(r["bytes_total"] / 1024, r[metric], r) for r in report["variants"] if r.get(metric) is not None]
    if not pts:
        return None
    with _rc():
        fig = _figure()
        ax = fig.add_subplot()
        better = (lambda a, b: a >= b) if role.higher_is_better else (lambda a, b: a <= b)
        front = []
        for kb, v, r in pts:
            dominated = any(k2 <= kb and better(v2, v) and (k2 < kb or v2 != v) for k2, v2, _ in pts)
            if not dominated:
                front.append((kb, v))
        front.sort()
        if len(front) > 1:
            ax.step([p[0] for p in front], [p[1] for p in front], where="post", color=REF, lw=1, ls="--",
                    label="Pareto front")
        for kb, v, r in pts:
            color = PACKAGED if r.get("packaged") else (PASS if r.get("passed") else FAIL)
            marker = "*" if r.get("packaged") else ("o" if r.get("passed") else "x")
            ax.scatter([kb], [v], s=120 if r.get("packaged") else 40, color=color, marker=marker, zorder=3)
            ax.annotate(r["name"], (kb, v), textcoords="offset points", xytext=(5, 5), fontsize=8)
        base = report["fp32_torch"].get(metric)
        if base is not None:
            ax.axhline(base, color=REF, lw=0.8, ls=":", label=f"fp32 torch {metric}")
        max_kb = report["packaging"].get("max_kb")
        if max_kb:
            ax.axvline(max_kb, color=FAIL, lw=0.8, ls="-.", label=f"budget {max_kb:g} KB")
        ax.set_xscale("log")
        ax.set_xlabel("package size on disk (KB, log scale)")
        ax.set_ylabel("held-out accuracy" if classifier else f"held-out MAE ({role.unit}, lower is better)")
        ax.set_title(f"{report['model']}: size vs {'accuracy' if classifier else 'MAE'} per variant")
        from matplotlib.lines import Line2D  # noqa: PLC0415  (deferred: edgekit.report.plot_style)

        handles, _ = ax.get_legend_handles_labels()
        handles += [Line2D([], [], color=PASS, marker="o", ls="", label="passed"),
                    Line2D([], [], color=FAIL, marker="x", ls="", label="failed a gate"),
                    Line2D([], [], color=PACKAGED, marker="*", ms=10, ls="", label="packaged")]
        ax.legend(handles=handles, fontsize=7, loc="best")
        return _png(fig)


def confusion(report: dict) -> bytes | None:
    test = report.get("test_metrics", {})
    cm, labels = test.get("confusion"), test.get("labels")
    if not role_named(report["role"]).has_labels or not cm or not labels:
        return None
    with _rc():
        fig = _figure(4.8, 4.0)
        ax = fig.add_subplot()
        ax.grid(False)
        totals = [max(sum(row), 1) for row in cm]
        norm = [[v / t for v in row] for row, t in zip(cm, totals)]
        im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        for i, row in enumerate(cm):
            for j, v in enumerate(row):
                ax.text(j, i, f"{v}\n{norm[i][j] * 100:.0f}%", ha="center", va="center", fontsize=8,
                        color="white" if norm[i][j] > 0.6 else "black")
        ax.set_xticks(range(len(labels)), labels, rotation=20)
        ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{report['model']}: confusion (fp32 torch, held-out test subjects)")
        fig.colorbar(im, ax=ax, fraction=0.046, label="row fraction")
        return _png(fig)


def training_curves(report: dict) -> bytes | None:
    hist = report.get("history") or []
    if not hist:
        return None
    epochs = [h.get("epoch", i + 1) for i, h in enumerate(hist)]
    with _rc():
        fig = _figure(6.4, 3.6)
        ax = fig.add_subplot()
        loss = [h.get("train_loss") for h in hist]
        ax.plot(epochs, loss, color=PASS, marker=".", label="train loss")
        ax.set_xlabel("epoch")
        ax.set_ylabel("train loss", color=PASS)
        ax2 = ax.twinx()
        ax2.grid(False)
        for key, color, label in (("val_macro_f1", PACKAGED, "val macro-F1"), ("val_accuracy", "#009e73", "val accuracy"),
                                  ("val_mae", PACKAGED, "val MAE")):
            ys = [h.get(key) for h in hist]
            if any(y is not None for y in ys):
                ax2.plot(epochs, [math.nan if y is None else y for y in ys], color=color, marker=".", label=label)
        ax2.set_ylabel("validation metric")
        best = report.get("best_epoch")
        if best:
            ax.axvline(best, color=REF, ls=":", lw=1, label=f"best epoch {best}")
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="center right")
        ax.set_title(f"{report['model']}: training curves")
        return _png(fig)


def parity_errors(report: dict) -> bytes | None:
    """Per-fixture |Δ| distributions when verify recorded them, else max |Δ| per variant and backend."""
    rows = report["variants"]
    series: dict[str, Any] = report.get("parity_series") or {}
    with _rc():
        fig = _figure(6.4, 3.8)
        ax = fig.add_subplot()
        floor = 1e-12
        if series:
            data, labels, colors = [], [], []
            for r in rows:
                for backend, color in (("onnxruntime", PASS), ("coreml", PACKAGED)):
                    vals = series.get(r["name"], {}).get(backend)
                    if vals:
                        data.append([max(v, floor) for v in vals])
                        labels.append(f"{r['name']}\n{'ORT' if backend == 'onnxruntime' else 'Core ML'}")
                        colors.append(color)
            if not data:
                return None
            parts = ax.boxplot(data, tick_labels=labels, patch_artist=True, showfliers=True)
            for patch, color in zip(parts["boxes"], colors):
                patch.set_facecolor(color)
                patch.set_alpha(0.6)
            ax.set_ylabel("|torch − backend| per fixture (log)")
        else:
            names = [r["name"] for r in rows]
            width = 0.38
            any_bar = False
            for k, (field, color, label) in enumerate((("onnx_max_abs_diff", PASS, "onnxruntime"),
                                                      ("coreml_max_abs_diff", PACKAGED, "Core ML program"))):
                xs, ys = [], []
                for i, r in enumerate(rows):
                    if r.get(field) is not None:
                        xs.append(i + (k - 0.5) * width)
                        ys.append(max(r[field], floor))
                if xs:
                    any_bar = True
                    ax.bar(xs, ys, width=width, color=color, label=label)
            if not any_bar:
                return None
            for i, r in enumerate(rows):
                for g in r.get("gates", []):
                    if g.get("limit") is not None and "diff" in g["name"] and g["limit"] > 0:
                        ax.hlines(g["limit"], i - 0.45, i + 0.45, color=FAIL, lw=1)
            ax.set_xticks(range(len(names)), names)
            ax.set_ylabel("max |torch − backend| over fixtures (log)")
            from matplotlib.lines import Line2D  # noqa: PLC0415  (deferred: edgekit.report.plot_style)

            handles, _ = ax.get_legend_handles_labels()
            handles.append(Line2D([], [], color=FAIL, lw=1, label="gate limit"))
            ax.legend(handles=handles, fontsize=7)
        ax.set_yscale("log")
        backend = report.get("coreml_backend") or "unknown"
        ax.set_title(f"{report['model']}: parity vs torch (Core ML figures: {backend})", fontsize=9)
        return _png(fig)


def person_results(report: dict) -> bytes | None:
    """Bars: MAE (bpm) of each approach on one person's newest year (activity model)."""
    res = (report.get("person") or {}).get("results")
    if not res:
        return None
    with _rc():
        fig = _figure(7.0, 0.45 * len(res) + 1.4)
        ax = fig.add_subplot()
        names = list(res)
        vals = [res[n]["mae_bpm"] for n in names]
        colors = ["#999999" if n.startswith("baseline") else "#3366aa" for n in names]
        ax.barh(range(len(names)), vals, color=colors)
        ax.set_yticks(range(len(names)), names, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel("MAE on the newest year (bpm, lower is better)")
        for i, v in enumerate(vals):
            ax.text(v, i, f" {v:.1f}", va="center", fontsize=8)
        return _png(fig)


def person_trace(report: dict) -> bytes | None:
    """Lines: recorded HR and the predictions of one newer workout window of the person."""
    ex = (report.get("person") or {}).get("example")
    if not ex:
        return None
    with _rc():
        fig = _figure(7.0, 3.6)
        ax = fig.add_subplot()
        t = [i * ex["step_s"] / 60.0 for i in range(len(ex["recorded"]))]
        for key, style in (("recorded", dict(color="black", lw=1.6)), ("kinetics", dict(color="#999999", ls="--")),
                           ("population", dict(color="#cc6633")), ("fine_tuned_context", dict(color="#3366aa")),
                           ("fine_tuned", dict(color="#3366aa"))):
            if key in ex:
                ax.plot(t, [float("nan") if v is None else v for v in ex[key]], label=key.replace("_", " "), **style)
        ax.set_xlabel("minutes into the window")
        ax.set_ylabel("HR (bpm)")
        ax.legend(fontsize=8)
        return _png(fig)


def accuracy_vs_beats(report: dict) -> bytes | None:
    """Lines: held-out macro-F1 when every window is cut to its first k beats (all profiles, and Apple
    Watch background readings), with the model's minimum reading length marked."""
    curve = (report.get("coverage") or {}).get("accuracy_vs_beats") or []
    if len(curve) < 2:
        return None
    with _rc():
        fig = _figure(6.4, 3.6)
        ax = fig.add_subplot()
        ax.plot([r["beats"] for r in curve], [r["macro_f1"] for r in curve], marker="o", color="#3366aa",
                label="all held-out windows")
        watch = [r for r in curve if "watch_macro_f1" in r]
        if watch:
            ax.plot([r["beats"] for r in watch], [r["watch_macro_f1"] for r in watch], marker="s", color="#cc6633",
                    label="Apple Watch background readings")
        min_beats = (report.get("coverage") or {}).get("min_beats")
        if isinstance(min_beats, (int, float)):
            ax.axvline(min_beats, color="#999999", ls="--", lw=1, label=f"min_beats = {min_beats:g}")
        ax.set_xlabel("beats in the reading (the rest of the input absent)")
        ax.set_ylabel("macro-F1 (held-out)")
        ax.legend(fontsize=8)
        return _png(fig)


PLOTS = {
    "size_vs_accuracy.png": pareto,
    "confusion.png": confusion,
    "training_curves.png": training_curves,
    "parity_errors.png": parity_errors,
    "person_results.png": person_results,
    "person_trace.png": person_trace,
    "accuracy_vs_beats.png": accuracy_vs_beats,
    "real_runs.png": real_runs,
    "real_hr_at_speed.png": real_hr_at_speed,
    "real_realism.png": real_realism,
    "real_label_shares.png": real_label_shares,
    "real_zones.png": real_zones,
}


def render_all(report: dict) -> dict[str, bytes]:
    out = {}
    for name, fn in PLOTS.items():
        png = fn(report)
        if png is not None:
            out[name] = png
    return out
