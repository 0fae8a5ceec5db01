"""Swift fixtures of the activity model's carried state: a run is one run, window after window.

``Tests/HRVKitTests/Fixtures/activity_runs.json`` (written by Python at package time, checked by
``swift test``):

- ``stand_in``: a two-hour synthetic run (with a pause) through :class:`StandInPredictor` — a fixed
  stateful stand-in Swift's test double computes the same way — as Python's ``predict_workout``
  predicts it: the whole run, and the run so far at several points during it (what
  ``WorkoutHeartRateTracker`` returns as samples arrive). Within 1e-9.
- ``model``: the same run through the bundled model's PyTorch checkpoint, window after window: each
  window's input, the state before it (the previous window's ``activity_state_out``), its heart
  rate and the state after it. Swift replays these outputs and checks that the pipeline hands each
  window the state the previous one ended with, within ``tolerance`` (1e-6), and that the comparison
  it builds equals Python's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

TOLERANCE = 1e-6
STAND_IN_TOLERANCE = 1e-9
RUN_SEED = 20261207


class StandInPredictor:
    """A fixed stand-in for the activity model with a state carried across windows (Swift's test
    double computes the same). Per window of ``window_steps`` steps, from the state ``[n, s]``
    (float32; zeros at the start of a run), per step in float64: ``n += 1``, ``s += context``,
    ``hr = 60 + 20 speed + 100 grade + 0.25 context + 0.01 n + 0.001 s``; the state after the window
    is ``[float32(n), float32(s)]``. ``run(X)`` reads each row of ``X`` (B, T, 3) as one run, window
    after window; it records the last run's windows, states and outputs."""

    def __init__(self, window_steps: int) -> None:
        self.window_steps = int(window_steps)
        self.inputs = None
        self.windows: list[dict] = []

    @staticmethod
    def window(x: np.ndarray, state: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        n, s = (0.0, 0.0) if state is None else (float(state[0]), float(state[1]))
        x = np.asarray(x, np.float32).astype(np.float64)
        out = np.empty(len(x))
        for k in range(len(x)):
            n += 1.0
            s += x[k, 2]
            out[k] = 60.0 + 20.0 * x[k, 0] + 100.0 * x[k, 1] + 0.25 * x[k, 2] + 0.01 * n + 0.001 * s
        return out, np.array([n, s], np.float32)

    def run(self, X):
        from edgekit.tasks.base import chain_windows

        X = np.asarray(X, np.float32)
        self.inputs = X
        rows = []
        for x in X:
            self.windows = []

            def one(w, state):
                y, after = self.window(w[0], state)
                self.windows.append({"input": w[0], "state_in": state, "bpm": y, "state_out": after})
                return y, after

            rows.append(chain_windows(one, x, self.window_steps))
        return np.asarray(rows)


def long_run():
    """A synthetic run of about two hours with a pause (route points every 5 s), for the fixtures."""
    import dataclasses

    from edgekit.data.synth.workouts import generate_runner

    for w in generate_runner(5, seed=RUN_SEED, workouts_per_runner=40, route_step_s=5.0):
        if w.duration_s >= 6300 and any(a["kind"].startswith("pause") for a in w.meta["artifacts"]):
            break
    else:  # pragma: no cover - the seeded population has one
        raise RuntimeError("no two-hour run with a pause in the fixture runner")
    end = w.start_s + 7200.0
    keep, hk = w.route_t_s <= end, w.hr_t_s <= end
    return dataclasses.replace(w, end_s=float(min(end, w.end_s)), route_t_s=w.route_t_s[keep],
                               lat_deg=w.lat_deg[keep], lon_deg=w.lon_deg[keep], altitude_m=w.altitude_m[keep],
                               speed_mps=w.speed_mps[keep], hr_t_s=w.hr_t_s[hk], hr_bpm=w.hr_bpm[hk], meta={})


def _floats(a) -> list:
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(a, np.float64).reshape(-1)]


def _samples(w) -> dict:
    return {"start": w.start_s, "end": w.end_s,
            "route": {"t": _floats(w.route_t_s), "lat": _floats(w.lat_deg), "lon": _floats(w.lon_deg),
                      "alt": _floats(w.altitude_m), "speed": _floats(w.speed_mps)},
            "hr": {"t": _floats(w.hr_t_s), "bpm": _floats(w.hr_bpm)}}


def _comparison(runner, w, step_s: float, context_minutes: float) -> dict:
    """Expected HR per step of ``w`` as one run (full precision, NaN where no speed) and the scored
    steps, as ``predict_workout`` and Swift's ``HeartRateComparison`` compute them."""
    from edgekit.data.signal.workout_grid import to_grid
    from edgekit.tasks.activity import predict_grid

    grid = to_grid(w, step_s=step_s)
    ctx = int(round(context_minutes * 60.0 / step_s))
    pred, _ = predict_grid(runner.run, grid, ctx)
    rec = np.asarray(grid.hr_bpm, np.float64)
    scored = np.isfinite(rec) & np.isfinite(pred) & (np.arange(len(grid)) >= ctx)
    return {"expected": _floats(pred), "n_scored": int(scored.sum()), "context_steps": min(ctx, len(grid)),
            "mae": float(np.mean(np.abs(pred[scored] - rec[scored]))) if scored.any() else None}


def activity_run_fixtures(models, cfgs, build_dir: Path, window_steps: int, step_s: float) -> dict:
    """The document of ``activity_runs.json`` (see the module docstring)."""
    import dataclasses

    import torch

    from edgekit.models.checkpoint import load_checkpoint
    from edgekit.tasks import task_for

    w = long_run()
    context = 5.0
    stand_in = StandInPredictor(window_steps)
    whole = _comparison(stand_in, w, step_s, context)
    updates = []
    for frac in (0.3, 0.55, 0.56, 0.8, 1.0):  # the run so far, as a tracker sees it
        end = w.start_s + frac * (w.end_s - w.start_s)
        part = dataclasses.replace(w, end_s=float(end), route_t_s=w.route_t_s[w.route_t_s <= end],
                                   lat_deg=w.lat_deg[w.route_t_s <= end], lon_deg=w.lon_deg[w.route_t_s <= end],
                                   altitude_m=w.altitude_m[w.route_t_s <= end],
                                   speed_mps=w.speed_mps[w.route_t_s <= end], hr_t_s=w.hr_t_s[w.hr_t_s <= end],
                                   hr_bpm=w.hr_bpm[w.hr_t_s <= end])
        updates.append({"end": float(end), **_comparison(stand_in, part, step_s, context)})
    _comparison(stand_in, w, step_s, context)  # the whole run's windows and states, recorded
    doc = {"tolerance": TOLERANCE, "window_steps": window_steps, "step_s": step_s, "context_minutes": context,
           "samples": _samples(w),
           "stand_in": {"tolerance": STAND_IN_TOLERANCE, **whole,
                        "states": [_floats(win["state_out"]) for win in stand_in.windows], "updates": updates}}
    for m, cfg in zip(models, cfgs):
        if m.role != "regressor" or not getattr(m, "state_input", None):
            continue
        module, _meta = load_checkpoint(Path(build_dir) / cfg.name / "train" / "model.pt", task_for)

        class Chained:
            """The checkpoint window after window, the state carried (as HRVKit runs the Core ML model)."""

            windows: list[dict] = []

            def run(self, X):
                from edgekit.tasks.base import chain_windows

                self.windows = []

                def one(win, state):
                    s = torch.zeros(1, m.state_size) if state is None else torch.as_tensor(state)
                    with torch.no_grad():
                        y, after = module(torch.as_tensor(win), s)
                    self.windows.append({"input": win[0], "state_in": s[0].numpy(), "bpm": y[0].double().numpy(),
                                         "state_out": after[0].numpy()})
                    return y[0].double().numpy(), after.numpy()

                return np.asarray([chain_windows(one, x, window_steps) for x in np.asarray(X, np.float32)])

        chained = Chained()
        doc["model"] = {"name": m.name, "state_size": m.state_size, **_comparison(chained, w, step_s, context),
                        "windows": [{"input": _floats(v["input"]), "state_in": _floats(v["state_in"]),
                                     "bpm": _floats(v["bpm"]), "state_out": _floats(v["state_out"])}
                                    for v in chained.windows]}
    return doc
