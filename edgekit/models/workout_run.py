"""A trained activity model over a whole workout, as one run (torch-free: the model comes as a
``run`` callable). Used by ``edgekit predict``, the real-set evaluation of the activity model and the
Swift package's workout fixtures; it sits in ``models`` (below ``tasks``, which the real-set
evaluation is part of, and below ``package``) rather than in ``run`` (above both), and was moved
here from the task spec, which says what the model type is, not how a file is predicted."""

from __future__ import annotations

import numpy as np

from edgekit.data.signal.workout_grid import to_grid
from edgekit.data.workout_examples import workout_input


def predict_grid(run, grid, context_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """HR per step (T,) of a workout grid as one run, NaN where a step has no speed, and the
    ``valid`` mask: ``run`` (a runner's ``run``) takes the whole run's input ``(1, T, 3)``
    (:func:`edgekit.data.workout_examples.workout_input`) and carries the model's recurrent state through it."""
    x, valid = workout_input(grid, context_steps)
    pred = np.asarray(run(x[None]), np.float64).reshape(-1)[:len(grid)]
    return np.where(valid, pred, np.nan), valid


def predict_workout(runner, workout, window_steps: int, step_s: float, context_minutes: float) -> dict:
    """Predicted HR per step over a whole workout, as one run: the model reads the workout's grid
    from its first step to its last, its recurrent state carried from window to window (a model that
    takes windows of ``window_steps`` steps: see :mod:`edgekit.run.predict`), with the first
    ``context_minutes`` of recorded HR as calibration context (however long). With recorded HR,
    ``mae_bpm`` over the scored steps: predicted, recorded, after the context (the model saw those).
    ``n_steps`` grid steps, ``n_predicted_steps`` with a speed and a grade, ``n_scored_steps``."""
    grid = to_grid(workout, step_s=step_s)
    T = len(grid)
    ctx_steps = int(round(context_minutes * 60.0 / step_s))
    hr_pred, valid = predict_grid(runner.run, grid, ctx_steps)
    recorded = np.asarray(grid.hr_bpm, np.float64)
    scored = np.isfinite(recorded) & np.isfinite(hr_pred) & (np.arange(T) >= ctx_steps)
    return {
        "workout_id": workout.workout_id, "sport": workout.sport, "start_time_s": float(grid.start_s),
        "end_time_s": float(grid.start_s + (T - 1) * step_s), "step_s": step_s, "context_minutes": context_minutes,
        "context_steps": min(ctx_steps, T),
        "hr_bpm": [None if not np.isfinite(v) else round(float(v), 2) for v in hr_pred],
        "recorded_hr_bpm": [None if not np.isfinite(v) else round(float(v), 2) for v in recorded],
        "mae_bpm": float(np.mean(np.abs(hr_pred[scored] - recorded[scored]))) if scored.any() else None,
        "n_steps": T, "n_predicted_steps": int(valid.sum()), "n_scored_steps": int(scored.sum()),
    }
