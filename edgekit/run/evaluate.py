"""The ``evaluate`` stage: the trained model on the real recordings of ``evaluate.real_sets``.

For each set (``realdata/<set>/manifest.toml``, :mod:`edgekit.data.real.manifest`) the model's task spec
makes the inputs, runs the torch checkpoint and returns a :class:`~edgekit.tasks.real.RealEvaluation`
(goals, per-profile and per-recording tables, baselines). Written to ``build/<model>/evaluate/real.json``;
the report shows it next to the synthetic held-out figures, each labelled as such.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edgekit.config.load import ModelConfig
from edgekit.data.real.manifest import load_set
from edgekit.core.errors import EdgekitError
from edgekit.core.fileio import atomic_path
from edgekit.core.log import get_logger
from edgekit.run.predict import load_runner
from edgekit.tasks import task_for
from edgekit.tasks.real import RealEvaluation

log = get_logger(__name__)

def run(cfg: ModelConfig, build_dir: Path) -> dict[str, Any]:
    """Evaluate ``cfg``'s checkpoint on every real set; write ``evaluate/real.json`` atomically."""
    task = task_for(cfg.model.type)
    results: list[RealEvaluation] = []
    if cfg.evaluate.real_sets:
        runner = load_runner(cfg, build_dir)
        for path in cfg.real_set_paths():
            real_set = load_set(path)
            res = task.evaluate_real(cfg, runner.run, real_set)
            if res is None:
                raise EdgekitError(f"{cfg.path}: evaluate.real_sets: a {task.title} cannot be evaluated on the "
                                   f"real set {real_set.name!r} ({path.name})")
            for g in res.missed:
                log.warning(f"[{cfg.name}] real ({res.set}): goal missed: {g.name}: {_fmt(g.value)} (goal {g.target})")
            results.append(res)
    out = Path(build_dir) / cfg.name / "evaluate"
    with atomic_path(out) as tmp:
        tmp.mkdir(parents=True)
        doc = {"model": cfg.name, "sets": [r.to_json() for r in results]}
        (tmp / "real.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return {"sets": [r.set for r in results], "missed": sum(len(r.missed) for r in results)}


def _fmt(v: Any) -> str:
    return "—" if v is None else f"{v:.3g}" if isinstance(v, float) else str(v)
