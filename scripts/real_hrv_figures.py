"""REAL figures of the bundled HRV models of any build on realdata/hrv: goals and tables, as the evaluate
stage computes them (edgekit.tasks.hrv_real), printed. For comparing builds (e.g. a build of an older
commit, whose models predate the real set):

    PYTHONPATH=. python scripts/real_hrv_figures.py --build build [--realism] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> int:
    from edgekit.config.load import load_config
    from edgekit.data.real.manifest import load_set
    from edgekit.run.predict import load_runner
    from edgekit.tasks.hrv_real import forecaster_evaluation, strain_evaluation

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", type=Path, required=True, help="build directory holding hrv_reading/ and hrv_slots/")
    ap.add_argument("--set", type=Path, default=Path("realdata/hrv"), help="the real set (default realdata/hrv)")
    ap.add_argument("--realism", action="store_true", help="also the simulator's realism (this checkout's simulator)")
    ap.add_argument("--json", type=Path, help="write the evaluations here")
    a = ap.parse_args()
    rs = load_set(a.set)
    out = {}
    for name in ("hrv_reading", "hrv_slots"):
        cfg = load_config(Path("configs") / f"{name}.toml")
        run = load_runner(cfg, a.build).run
        ev = strain_evaluation(cfg, run, rs, realism=a.realism) if name == "hrv_reading" else forecaster_evaluation(cfg, run, rs)
        print(f"== {name} (real)")
        for g in ev.goals:
            print(f"  [{'met' if g.met else 'MISSED'}] {g.split}: {g.name}: {g.value:.3f} (goal {g.target})")
        for t in ev.tables:
            print(f"  -- {t.title}\n     {t.columns}")
            for row in t.rows:
                print(f"     {row}")
        out[name] = ev.to_json()
    if a.json:
        a.json.write_text(json.dumps(out, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
