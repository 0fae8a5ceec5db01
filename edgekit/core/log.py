"""edgekit's console output: one ``logging`` logger per module under ``edgekit``, one handler.

Library code logs (``log = get_logger(__name__)``; ``log.info(...)`` for progress lines); the CLI
calls :func:`configure` once. Default: edgekit's own progress lines on stdout, third-party noise
(coremltools' import-time version and runtime warnings, which say nothing to a Linux user:
edgekit pins the versions it tested and evaluates programs without the Core ML runtime) filtered.
``--verbose`` shows everything, ``--quiet`` only warnings and errors (and no progress bars).
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

ROOT = "edgekit"
# Third-party loggers whose warnings are noise for edgekit's users (shown with --verbose).
NOISY_LOGGERS = ("coremltools", "torch.onnx", "onnxscript", "torch._dynamo", "torch.export", "numexpr")
NOISY_WARNINGS = (
    r".*has not been tested with coremltools.*",
    r".*scikit-learn version .* is not supported.*",
    r".*Failed to load _ML.*",
    r".*TypedStorage is deprecated.*",
)

QUIET, NORMAL, VERBOSE = -1, 0, 1


def get_logger(name: str) -> logging.Logger:
    """The logger of an edgekit module (``__name__``)."""
    return logging.getLogger(name if name.startswith(ROOT) else f"{ROOT}.{name}")


class _StdoutHandler(logging.StreamHandler):
    """Writes to the *current* sys.stdout/sys.stderr (so pytest's capture and redirects work)."""

    def __init__(self) -> None:
        super().__init__()

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr if record.levelno >= logging.WARNING else sys.stdout
        super().emit(record)


def progress_disabled() -> bool:
    """True under ``--quiet`` (progress bars off), or when TQDM_DISABLE is set."""
    return logging.getLogger(ROOT).getEffectiveLevel() > logging.INFO or bool(os.environ.get("TQDM_DISABLE"))


def echo(text: str) -> None:
    """A verb's answer on stdout (its table, its JSON), one line or several: shown under ``--quiet`` too
    (it is the output, not progress). The command-line modules write through this, never ``print``."""
    sys.stdout.write(f"{text}\n")


def echo_err(text: str) -> None:
    """A line on stderr that is not a log record (``edgekit: error: …``, a verb's closing status)."""
    sys.stderr.write(f"{text}\n")


def status(message: str) -> None:
    """A verb's closing status line ("wrote 4,366,000 RR intervals to …"): on stderr, so stdout stays
    the verb's data (``--out -``, ``--json``); not shown under ``--quiet``."""
    if logging.getLogger(ROOT).getEffectiveLevel() <= logging.INFO:
        echo_err(message)


def current_verbosity() -> int | None:
    """The verbosity :func:`configure` installed in this process (``None`` if it was not called):
    what a worker process needs to print as its parent does."""
    root = logging.getLogger(ROOT)
    if not any(isinstance(h, _StdoutHandler) for h in root.handlers):
        return None
    level = root.getEffectiveLevel()
    return QUIET if level >= logging.WARNING else VERBOSE if level <= logging.DEBUG else NORMAL


def configure(verbosity: int = NORMAL) -> None:
    """Install edgekit's handler and the third-party filters. Idempotent."""
    root = logging.getLogger(ROOT)
    for h in list(root.handlers):
        if isinstance(h, _StdoutHandler):
            root.removeHandler(h)
    handler = _StdoutHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
    root.propagate = False
    root.setLevel(logging.WARNING if verbosity <= QUIET else (logging.DEBUG if verbosity >= VERBOSE else logging.INFO))
    if verbosity >= VERBOSE:
        for name in NOISY_LOGGERS:
            logging.getLogger(name).setLevel(logging.NOTSET)
        warnings.resetwarnings()
        return
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    for pattern in NOISY_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)


def warning(message: str) -> None:
    """A warning a user needs (weak input, unverified variant, SYNTHETIC training data): one line
    ``edgekit: warning: …`` on stderr, shown under ``--quiet`` too (verbs also put it in ``--json``)."""
    echo_err(f"edgekit: warning: {message}")


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 window``, ``2 windows``, ``1 series`` (``many``: the plural when not ``word + "s"``)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"
