"""The libraries the export stage drives, called quietly: coremltools' import, torch's thread count.

Used by every export module and by the verify stage.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator

import torch

@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence coremltools' progress bars, version warnings and logging during a call."""
    loggers = [logging.getLogger(n) for n in ("coremltools", "torch", "onnxscript", "torch.onnx")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    sink = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(sink), contextlib.redirect_stdout(sink):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, lvl in zip(loggers, levels):
            lg.setLevel(lvl)


@contextlib.contextmanager
def torch_threads(n: int = 1) -> Iterator[None]:
    """Run torch with ``n`` intra-op threads, restoring the previous count afterwards.

    Conversion and verification run batch-1 graphs where extra threads only spin: on a loaded
    2-core box two OpenMP threads made the convert stage up to 10× slower than one.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def import_coremltools():
    """Import coremltools quietly (it warns about untested torch versions on import)."""
    with quiet():  # imported here, not at module level: it warns about untested torch versions on import
        import coremltools as ct  # noqa: PLC0415

    return ct

