"""Imports sit at module level in core/, data/, cli/ and run/ (issue 25): a function-local import there
is a heavy optional dependency deferred on purpose, and a ``# deferred: why`` comment says so."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FOLDERS = ("core", "data", "cli", "run")


def _counter():
    spec = importlib.util.spec_from_file_location("local_imports", REPO / "scripts" / "local_imports.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _says_why(lines: list[str], lineno: int) -> bool:
    """The import on ``lineno`` (1-based), or the run of imports it belongs to, has a ``# deferred:``
    comment block right above it."""
    i = lineno - 2
    while i >= 0 and (not lines[i].strip() or lines[i].lstrip().startswith(("import ", "from "))):
        i -= 1
    block = []
    while i >= 0 and lines[i].lstrip().startswith("#"):
        block.append(lines[i])
        i -= 1
    return any("# deferred:" in line for line in block)


def test_the_counter_counts_what_is_below_module_level(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("import os\n\n\ndef f():\n    import json\n    from edgekit.core import log\n\n\n"
                   "class C:\n    def g(self):\n        from . import x\n")
    found = _counter().local_imports(src)
    assert [(line, mod, own) for line, mod, _, own in found] == [(5, "json", False), (6, "edgekit.core", True),
                                                                 (11, "", True)]


def test_every_local_import_in_the_lower_layers_says_why_it_is_deferred():
    counter = _counter()
    missing = []
    for folder in FOLDERS:
        for path in sorted((REPO / "edgekit" / folder).rglob("*.py")):
            lines = path.read_text(encoding="utf-8").splitlines()
            missing += [f"{path.relative_to(REPO)}:{line}: {mod}" for line, mod, _, _ in counter.local_imports(path)
                        if not _says_why(lines, line)]
    assert not missing, "function-local imports without a '# deferred: why' comment (move them to module level):\n" \
        + "\n".join(missing)
