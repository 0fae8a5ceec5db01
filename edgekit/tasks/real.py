"""The record a task spec returns for one real set (the ``evaluate`` stage writes it, the report reads it).

Figures in it are **real**: measured on recordings no one here wrote (``realdata/``), never on the
simulator. Each :class:`Goal` is a target a model must meet on real people (calibration, error,
ranking against a simple baseline); a missed goal is said in one line in the report and the build
summary. ``split`` says whether a figure comes from the ``holdout`` persons (never tuned on), the
``tune`` persons, or ``all``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from edgekit.core.errors import EdgekitError

SCHEMA = 1
REAL_JSON = Path("evaluate") / "real.json"  # under build/<model>/


def _clean(v: Any) -> Any:
    """JSON-safe: NaN/inf become None, NumPy scalars plain numbers, tuples lists."""
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


@dataclass
class Goal:
    """One real-data target: ``value`` against ``target`` (text such as ``<= 0.10``)."""

    name: str  # what is measured, in words: "healthy adults at rest: share of readings burnout_risk"
    value: float | None
    target: str
    met: bool
    split: str = "all"  # "all", "tune" or "holdout"


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]]
    note: str = ""


@dataclass
class RealEvaluation:
    """A model on one real set: goals, tables (per profile, per recording, baselines), warnings,
    and ``series`` (named arrays the report may plot, e.g. predicted vs recorded HR per run)."""

    set: str
    title: str
    n_recordings: int
    n_persons: int
    holdout_persons: list[str]
    goals: list[Goal] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    series: dict[str, Any] = field(default_factory=dict)

    @property
    def missed(self) -> list[Goal]:
        return [g for g in self.goals if not g.met]

    def to_json(self) -> dict[str, Any]:
        return _clean({"schema": SCHEMA, "kind": "real", **asdict(self)})

    @classmethod
    def from_json(cls, doc: Mapping[str, Any], where: str) -> "RealEvaluation":
        if not isinstance(doc, Mapping) or doc.get("schema") != SCHEMA or doc.get("kind") != "real":
            raise EdgekitError(f"{where}: not an edgekit real-set evaluation (schema {SCHEMA})")
        try:
            return cls(set=doc["set"], title=doc["title"], n_recordings=int(doc["n_recordings"]),
                       n_persons=int(doc["n_persons"]), holdout_persons=list(doc["holdout_persons"]),
                       goals=[Goal(**g) for g in doc.get("goals", [])],
                       tables=[Table(**t) for t in doc.get("tables", [])],
                       warnings=[str(w) for w in doc.get("warnings", [])], series=dict(doc.get("series", {})))
        except (KeyError, TypeError, ValueError) as exc:
            raise EdgekitError(f"{where}: malformed real-set evaluation ({exc})") from None


def load_real(model_dir: Path) -> list[RealEvaluation]:
    """The real-set evaluations of a built model (``evaluate/real.json``; empty when absent)."""
    path = Path(model_dir) / REAL_JSON
    if not path.is_file():
        return []
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EdgekitError(f"{path}: cannot read ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("sets"), list):
        raise EdgekitError(f"{path}: expected an object with a 'sets' list")
    return [RealEvaluation.from_json(s, str(path)) for s in doc["sets"]]
