"""Shared helpers for model config dataclasses: strict construction from dicts."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def from_dict(cls: type[T], params: dict[str, Any]) -> T:
    """Build dataclass ``cls`` from ``params``, refusing unknown keys and wrong types."""
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(params) - set(fields))
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown key(s) {unknown}; known: {sorted(fields)}")
    kwargs = {name: check_type(f"{cls.__name__}.{name}", value, fields[name].default)
              for name, value in params.items()}
    cfg = cls(**kwargs)
    validate = getattr(cfg, "validate", None)
    if validate is not None:
        validate()
    return cfg


def check_type(where: str, value: Any, default: Any) -> Any:
    """``value`` if it has the type of ``default`` (ints accepted for floats, returned as float).

    Raises ``ValueError("<where> must be <kind>, got <value>")``; bools are never numbers.
    """
    if isinstance(default, bool):
        ok, kind = isinstance(value, bool), "true/false"
    elif isinstance(default, int):
        ok, kind = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif isinstance(default, float):
        ok, kind = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
        value = float(value) if ok else value
    elif isinstance(default, str):
        ok, kind = isinstance(value, str), "a string"
    elif isinstance(default, list):
        ok, kind = isinstance(value, list), "a list"
    elif isinstance(default, dict):
        ok, kind = isinstance(value, dict), "a table"
    else:
        ok, kind = True, ""
    if not ok:
        raise ValueError(f"{where} must be {kind}, got {value!r}")
    return value


def require(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(message)
