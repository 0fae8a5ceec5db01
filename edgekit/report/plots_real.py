"""The report's plots of REAL recordings (``report["real"]``: the evaluate stage's figures on the
committed real sets): runs of the activity model, HR at speed, the simulator's realism, label shares
and zones of the HRV models. PNG bytes, or ``None`` when the report holds no such figures."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from edgekit.data.real.realism import FEATURE_TITLES
from edgekit.report.plot_style import _figure, _png, _rc


def _real_runs(report: dict) -> dict:
    """Per-run series of the activity model's real-run evaluations (``series['runs']``), by run id."""
    out: dict = {}
    for rs in report.get("real") or []:
        out.update((rs.get("series") or {}).get("runs") or {})
    return out


def _nan(values) -> list[float]:
    return [float("nan") if v is None else float(v) for v in values]


def real_runs(report: dict) -> bytes | None:
    """Lines per real run (one panel each): recorded HR, the model with and without context, and the
    context-mean and kinetics baselines; the context minutes shaded (activity model, **real**)."""
    runs = _real_runs(report)
    if not runs:
        return None
    n = len(runs)
    cols = 3 if n > 4 else max(n, 1)
    rows = -(-n // cols)
    with _rc():
        fig = _figure(4.2 * cols, 2.5 * rows + 0.4)
        for i, (rid, r) in enumerate(runs.items()):
            ax = fig.add_subplot(rows, cols, i + 1)
            t = r["t_min"]
            ctx = int(r.get("context_steps") or 0)
            if ctx and t:
                ax.axvspan(0, t[min(ctx, len(t)) - 1], color="#dddddd", lw=0)
            ax.plot(t, _nan(r["recorded"]), color="black", lw=1.0, label="recorded")
            ax.plot(t, _nan(r["no_context"]), color="#cc6633", lw=0.9, label="model, no context")
            ax.plot(t, _nan(r["context"]), color="#3366aa", lw=1.1, label="model, 5 min context")
            if r.get("context_mean") is not None:
                ax.axhline(r["context_mean"], color="#999999", ls="--", lw=0.8, label="context mean")
            if r.get("kinetics"):
                ax.plot(t, _nan(r["kinetics"]), color="#999999", ls=":", lw=0.9, label="kinetics on context")
            ax.set_title(f"{rid} ({r.get('split', '')})", fontsize=7)
            ax.tick_params(labelsize=7)
            lo = [v for v in _nan(r["recorded"]) if v == v]
            if lo:
                ax.set_ylim(min(lo) - 25, max(lo) + 20)
            if i == 0:
                ax.legend(fontsize=6, loc="lower right")
            if i % cols == 0:
                ax.set_ylabel("HR (bpm)", fontsize=7)
            if i >= n - cols:
                ax.set_xlabel("minutes", fontsize=7)
        return _png(fig)


def real_hr_at_speed(report: dict) -> bytes | None:
    """HR at speed: the SYNTHETIC population's 5-95 % band and median, and each real run's medians."""
    band = next(((rs.get("series") or {}).get("hr_at_speed") for rs in report.get("real") or []
                 if (rs.get("series") or {}).get("hr_at_speed")), None)
    if not band or not band.get("real"):
        return None
    x = [b + 0.25 for b in band["bins_mps"]]
    with _rc():
        fig = _figure(6.4, 4.0)
        ax = fig.add_subplot()
        syn = band.get("synthetic")
        if syn:
            ax.fill_between(x, _nan(syn["p5"]), _nan(syn["p95"]), color="#cccccc", label="synthetic 5-95 %")
            ax.plot(x, _nan(syn["p50"]), color="#777777", ls="--", label="synthetic median")
        for rid, r in band["real"].items():
            style = dict(marker="o", ls="-", lw=0.8, ms=4) if r.get("split") == "tune" else dict(marker="s", ls=":", lw=0.8, ms=4)
            ax.plot(x, _nan(r["bpm"]), label=f"{rid} ({r.get('split', '')})", **style)
        ax.set_xlabel("speed, 2-min mean (m/s)")
        ax.set_ylabel("HR, median (bpm)")
        ax.set_title("HR at speed: real runs vs the synthetic population", fontsize=9)
        ax.legend(fontsize=5, ncol=2, loc="lower right")
        return _png(fig)


def _real_series(report: dict, key: str) -> list[tuple[str, Any]]:
    """(set title, series[key]) of every real-set evaluation in the report that carries ``key``."""
    return [(rs.get("title", ""), rs["series"][key]) for rs in report.get("real") or []
            if isinstance(rs.get("series"), dict) and rs["series"].get(key)]


def real_realism(report: dict) -> bytes | None:
    """Histograms, one panel per feature: REAL all-day one-minute readings vs SYNTHETIC readings of the
    simulator (the realism measure's inputs), with the domain classifier's AUC per profile in the title."""
    found = _real_series(report, "realism")
    if not found:
        return None
    _, s = found[0]
    feats = [f for f in s["features"] if f in s.get("real", {}) and f in s.get("sim", {})]
    if not feats:
        return None
    with _rc():
        cols = 4
        rows = math.ceil(len(feats) / cols)
        fig = _figure(9.6, 2.3 * rows + 0.6)
        for i, f in enumerate(feats):
            ax = fig.add_subplot(rows, cols, i + 1)
            a = np.asarray([x for x in s["real"][f] if x is not None], float)
            b = np.asarray([x for x in s["sim"][f] if x is not None], float)
            a, b = a[np.isfinite(a)], b[np.isfinite(b)]
            if not len(a) or not len(b):
                continue
            lo, hi = np.percentile(np.r_[a, b], [1, 99])
            bins = np.linspace(lo, hi if hi > lo else lo + 1, 30)
            ax.hist(a, bins=bins, density=True, alpha=0.55, color="#2b7bba", label="real")
            ax.hist(b, bins=bins, density=True, alpha=0.55, color="#e69f00", label=f"synthetic ({s.get('sim_profile')})")
            ax.set_title(FEATURE_TITLES.get(f, f), fontsize=8)
            ax.tick_params(labelsize=7)
            if i == 0:
                ax.legend(fontsize=7)
        auc = ", ".join(f"{k} {v:.2f}" for k, v in (s.get("auc") or {}).items())
        fig.suptitle(f"Real vs synthetic one-minute readings — domain-classifier AUC: {auc}", fontsize=9)
        return _png(fig)


def _stacked_shares(bars: list[dict], parts: tuple[tuple[str, str], ...], ylabel: str, title: str,
                    lines: tuple[tuple[float, str, str], ...]) -> bytes:
    """Stacked bars of shares: one bar per dict of ``bars`` (its "name" and a share per part), the parts
    (key, colour) bottom to top, horizontal guide ``lines`` (y, colour, style)."""
    with _rc():
        fig = _figure(6.4, 3.4)
        ax = fig.add_subplot()
        bottom = [0.0] * len(bars)
        for key, color in parts:
            vals = [b.get(key) or 0.0 for b in bars]
            ax.bar(range(len(bars)), vals, bottom=bottom, color=color, label=key)
            bottom = [x + v for x, v in zip(bottom, vals)]
        for y, color, style in lines:
            ax.axhline(y, color=color, ls=style, lw=1)
        ax.set_xticks(range(len(bars)), [b["name"] for b in bars], fontsize=8)
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=8)
        ax.legend(fontsize=7, loc="lower right")
        return _png(fig)


def real_label_shares(report: dict) -> bytes | None:
    """Stacked bars: share of REAL one-minute readings per label, healthy adults over the day and at rest
    (holdout and tune persons), with the goals marked."""
    found = _real_series(report, "strain_real")
    if not found:
        return None
    _, s = found[0]
    keys = [k for k in ("day/holdout", "rest/holdout", "day/tune", "rest/tune") if (s["slices"].get(k) or {}).get("readings")]
    if not keys:
        return None
    bars = [dict(s["slices"][k], name=k.replace("day", "whole day").replace("/", "\n")) for k in keys]
    return _stacked_shares(bars, (("healthy", "#4c9a2a"), ("strained", "#e6b800"), ("burnout_risk", "#c0392b")),
                           "share of readings (real)",
                           "Healthy adults: labels of real one-minute readings (goals: healthy ≥ 50 %, burnout_risk ≤ 10 %)",
                           ((0.5, "#333333", "--"), (0.9, "#c0392b", ":")))


def real_zones(report: dict) -> bytes | None:
    """Stacked bars: zones of the forecaster on REAL watch-like days, per source and split (goal: red ≤ 20 %)."""
    found = _real_series(report, "forecaster_real")
    if not found:
        return None
    _, s = found[0]
    keys = [k for k in s if not k.startswith("adults/") and not k.endswith("/all")]
    if not keys:
        return None
    bars = [dict(s[k], name=k.replace("/", "\n")) for k in keys]
    return _stacked_shares(bars, (("green", "#4c9a2a"), ("yellow", "#e6b800"), ("red", "#c0392b")),
                           "share of days (real)", "Fatigue zones of real watch-like days (goal: red ≤ 20 % for healthy adults)",
                           ((0.8, "#c0392b", ":"),))
