"""Count the import statements that are not at module level (inside a function, method or class body).

    python scripts/local_imports.py [--list] [FOLDER ...]

Counts every ``import`` / ``from ... import`` under ``edgekit/`` (or the given folders) whose statement sits
inside a def, lambda or class, and how many of them import edgekit itself; ``--list`` prints each one
(``file:line: module: names``). Issue 25 keeps such imports only for heavy optional dependencies.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def local_imports(path: Path) -> list[tuple[int, str, str, bool]]:
    """(line, module, names, is edgekit's own) of each import of ``path`` below module level."""
    out = []

    def walk(node: ast.AST, inside: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if inside and isinstance(child, (ast.Import, ast.ImportFrom)):
                if isinstance(child, ast.Import):
                    mod, own = child.names[0].name, child.names[0].name.startswith("edgekit")
                else:
                    mod, own = child.module or "", (child.module or "").startswith("edgekit") or child.level > 0
                out.append((child.lineno, mod, ", ".join(a.name for a in child.names), own))
            walk(child, inside or isinstance(child, SCOPES))

    walk(ast.parse(path.read_text(encoding="utf-8")), False)
    return out


def main(argv: list[str]) -> int:
    show = "--list" in argv
    folders = [Path(a) for a in argv if a != "--list"] or [Path("edgekit")]
    total = own = 0
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            for line, mod, names, is_own in local_imports(path):
                total += 1
                own += is_own
                if show:
                    print(f"{path}:{line}: {mod}: {names}")
    print(f"function-local imports: {total} ({own} of edgekit itself)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
