"""The look and the making of the report's figures: matplotlib's Agg backend, no pyplot global state,
fixed rc settings and PNG metadata, so identical inputs give identical bytes.

matplotlib is imported when the first figure is made, not when :mod:`edgekit.report` is imported
(heavy: about a third of a second; the command line and the build import the report layer without
plotting): deferred on purpose, here and in the plot modules' few ``matplotlib`` imports.
"""

from __future__ import annotations

import io

_RC = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "path.simplify": False,
    "svg.hashsalt": "edgekit",
}
PASS, FAIL, PACKAGED, REF = "#2b7bba", "#c0392b", "#e69f00", "#555555"


def _matplotlib():
    """matplotlib with the Agg backend selected (imported on first use, see the module docstring)."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg", force=False)
    return matplotlib


def _figure(w: float = 6.4, h: float = 4.0):
    _matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    fig = Figure(figsize=(w, h), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    # no timestamps or version strings: identical inputs give identical bytes
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _rc():
    return _matplotlib().rc_context(_RC)
