"""Where a report figure came from: ``"<file relative to build/<model>/>#<JSON pointer>"`` (RFC 6901).

Every figure copied into the report carries its source, so a reader (and ``tests/test_report.py``) can
resolve each one and check the report against the stage file that measured it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from edgekit.core.fileio import read_json_object


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def pointer_escape(key: str) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def source(rel: str | Path, *keys: Any) -> str:
    """The source of the value at ``keys`` in the file ``rel``: ``"verify/parity.json#/variants/fp16/mae"``."""
    return f"{Path(rel).as_posix()}#" + "".join(f"/{pointer_escape(k)}" for k in keys)


def resolve_pointer(doc: Any, pointer: str) -> Any:
    """Value at an RFC 6901 JSON pointer (``/a/0/b``); ``KeyError`` when absent."""
    if pointer in ("", "/"):
        return doc
    cur = doc
    for raw in pointer.lstrip("/").split("/"):
        key = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(cur, list):
            cur = cur[int(key)]
        elif isinstance(cur, dict):
            cur = cur[key]
        else:
            raise KeyError(pointer)
    return cur


def resolve_source(model_dir: Path, src: str, _cache: dict | None = None) -> Any:
    """Value a ``"file#pointer"`` source names (file relative to ``model_dir``)."""
    rel, _, pointer = src.partition("#")
    cache = _cache if _cache is not None else {}
    if rel not in cache:
        cache[rel] = json.loads((model_dir / rel).read_text(encoding="utf-8"))
    return resolve_pointer(cache[rel], pointer)


def read_json(path: Path, what: str) -> dict[str, Any]:
    """A JSON object another stage wrote that has no typed record (data summary, person scenario, stage
    stamps), or a one-line :class:`~edgekit.core.errors.EdgekitError` naming it."""
    return read_json_object(path, what)
