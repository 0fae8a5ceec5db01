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
    kwargs = {}
    for name, value in params.items():
        default = fields[name].default
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ValueError(f"{cls.__name__}.{name} must be true/false, got {value!r}")
        elif isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{cls.__name__}.{name} must be an integer, got {value!r}")
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{cls.__name__}.{name} must be a number, got {value!r}")
            value = float(value)
        elif isinstance(default, str) and not isinstance(value, str):
            raise ValueError(f"{cls.__name__}.{name} must be a string, got {value!r}")
        kwargs[name] = value
    cfg = cls(**kwargs)
    validate = getattr(cfg, "validate", None)
    if validate is not None:
        validate()
    return cfg


def require(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(message)
