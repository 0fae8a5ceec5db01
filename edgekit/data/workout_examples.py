"""Training examples of the heart-rate-from-activity model, from workouts.

Each workout is resampled to the model's grid (``step_s``, :func:`edgekit.data.signal.workout_grid.to_grid`),
cut into windows of ``window_steps`` steps (stride ``data.window_stride_steps``;
:func:`edgekit.data.signal.workout_grid.windows` and its mask convention: steps without a speed and
padding hold speed 0 and grade 0, and their HR is absent) — or, with ``data.train_steps = N``,
taken whole from its first step as one window of N steps (a longer workout cut to its first N):
the model then learns runs from their start, as ``edgekit predict`` reads them — and each window is
written twice: without calibration context and with the first ``data.context_minutes`` of observed
HR in the context channel. Arrays of ``windows.npz``:

- ``X`` (n, T, 3) float32: speed m/s, grade (rise/run), context HR bpm (0 = absent);
- ``y`` (n, T) float32: recorded HR bpm, NaN where absent (padding, gaps too long to interpolate)
  and in the context steps of a window with context (the model saw them: never trained on or scored);
- ``subject`` (n,) int64 runner index; ``year`` (n,) int64 UTC year of the workout start;
  ``workout`` (n,) int64 workout index; ``context_steps`` (n,) int64 steps of context given;
  ``hr_dense`` (n,) int64 1 when the workout's HR was sampled densely (median interval ≤ 15 s, as a
  2025 Apple Watch), 0 when sparsely (≈ 1/min, as in 2019–21): the two recording profiles.

The encoding is normative for a Swift port (docs/data.md, "Workouts").
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from edgekit.data.pipeline import Examples
from edgekit.core.errors import EdgekitError
from edgekit.data.readers.workouts import iter_fitrec, read_apple_health, read_workout_file
from edgekit.data.signal.workout_filters import filter_workouts
from edgekit.data.signal.workout_grid import to_grid, windows


def is_dense(workout) -> bool:
    """Whether a workout's HR was sampled densely: median interval ≤ 15 s."""
    t = np.asarray(workout.hr_t_s, np.float64)
    return bool(len(t) > 2 and float(np.median(np.diff(t))) <= 15.0)


def with_context(hr: np.ndarray, context_steps: int) -> np.ndarray:
    """The context channel: recorded HR in the first ``context_steps`` steps where observed, else 0."""
    ctx = np.zeros(len(hr), np.float32)
    k = min(context_steps, len(hr))
    head = hr[:k]
    ctx[:k] = np.where(np.isfinite(head), head, 0.0)
    return ctx


class ActivityWindows(Examples):
    """Workout windows for the activity model (see the module docstring for the arrays)."""

    target = "hr_bpm"
    purpose = "heart-rate-from-activity model"

    def __init__(self, cfg, window_steps: int, step_s: float, whole_workouts: bool = False) -> None:
        super().__init__(cfg)
        self.window_steps = int(window_steps)
        self.whole_workouts = bool(whole_workouts)
        self.step_s = float(step_s)
        self.context_steps = int(round(cfg.data.context_minutes * 60.0 / self.step_s))
        self.rows: dict[str, list] = {k: [] for k in ("X", "y", "subject", "year", "workout", "context_steps",
                                                      "hr_dense")}
        self.profile_counts: dict[str, dict[str, int]] = {}
        self.runners: dict[str, int] = {}
        self.n_workouts = 0
        self.n_short = 0
        self.n_without_hr = 0  # windows without one observed HR step (not written)

    def add_workouts(self, workouts) -> None:
        for w in workouts:
            grid = to_grid(w, step_s=self.step_s)
            if len(grid) < 2:
                continue
            runner = self.runners.setdefault(w.runner, len(self.runners))
            year = datetime.fromtimestamp(w.start_s, timezone.utc).year
            dense = int(is_dense(w))
            counts = self.profile_counts.setdefault("dense" if dense else "sparse", {"windows": 0, "with_hr": 0})
            self.n_short += int(len(grid) < self.window_steps)
            win = windows(grid, self.window_steps, self.window_steps if self.whole_workouts
                          else self.cfg.data.window_stride_steps)
            for i in range(1 if self.whole_workouts else len(win)):
                hr = np.where(win.valid[i], win.hr_bpm[i], np.nan).astype(np.float32)
                counts["windows"] += 1
                counts["with_hr"] += int(np.isfinite(hr).any())
                if not np.isfinite(hr).any():
                    self.n_without_hr += 1
                    continue
                for ctx_steps in sorted({0, self.context_steps}):
                    x = np.stack([win.speed_mps[i], win.grade[i], with_context(hr, ctx_steps)], axis=1)
                    target = hr.copy()
                    target[:ctx_steps] = np.nan  # the model saw those steps: neither trained on nor scored
                    self.rows["X"].append(x.astype(np.float32))
                    self.rows["y"].append(target)
                    self.rows["subject"].append(runner)
                    self.rows["year"].append(year)
                    self.rows["workout"].append(self.n_workouts)
                    self.rows["context_steps"].append(ctx_steps)
                    self.rows["hr_dense"].append(dense)
            self.n_workouts += 1

    def _file_workouts(self, path: Path):
        """Workouts of one input: FitRec JSON lines (streamed; the runner is each line's userId), an
        Apple Health export (the runner is its folder's name) or a GPX/TCX/FIT file (the runner is the
        name of the folder holding it: one folder per person)."""
        name = path.name.lower()
        if name.endswith((".json", ".jsonl", ".txt", ".json.gz")) and name not in ("export.xml",):
            return iter_fitrec(path, counts=self.read_counts.setdefault(str(path), {}), workers=2)
        if path.is_dir() or name in ("export.zip", "export.xml"):
            ws = read_apple_health(path, runner=path.name if path.is_dir() else path.resolve().parent.name)
            self.read_counts[str(path)] = dict(ws.counts)
            return ws.workouts
        return read_workout_file(path, runner=path.resolve().parent.name)

    def make(self):
        d = self.cfg.data
        self.read_counts: dict = {}
        filter_counts: dict = {}
        if d.source == "synthetic":
            # deferred: the workout simulator imports scipy.signal (about 1 s); a build from files never needs it
            from edgekit.data.synth.workouts import iter_population

            for chunk in iter_population(d.subjects, d.workouts_per_runner, d.seed, hr_sampling=d.hr_sampling):
                self.add_workouts(chunk)
            head = {"source": d.source, "synthetic": True, "model_type": self.cfg.model.type,
                    "note": "SYNTHETIC workout population (simulated runners); see docs/synthetic_workouts.md",
                    "subjects": d.subjects, "workouts_per_runner": d.workouts_per_runner, "seed": d.seed,
                    "hr_sampling": d.hr_sampling}
        elif d.source == "files":
            for raw in d.inputs:  # workouts stream through the quality filter; only their windows are kept
                self.add_workouts(filter_workouts(self._file_workouts(Path(raw)), filter_counts, strict=False))
            head = {"source": d.source, "synthetic": False, "model_type": self.cfg.model.type,
                    "inputs": [Path(p).name for p in d.inputs], "read": self.read_counts,
                    "quality_filter": filter_counts}
        else:
            raise EdgekitError(f"{self.cfg.path}: the {self.purpose} reads data.source = 'synthetic' or 'files' "
                               f"(FitRec JSON lines, GPX, TCX, FIT, an Apple Health export), got {d.source!r}")
        T = self.window_steps
        r = self.rows
        arrays = {
            "X": np.stack(r["X"]) if r["X"] else np.zeros((0, T, 3), np.float32),
            "y": np.stack(r["y"]) if r["y"] else np.zeros((0, T), np.float32),
            "subject": np.asarray(r["subject"], np.int64),
            "year": np.asarray(r["year"], np.int64),
            "workout": np.asarray(r["workout"], np.int64),
            "context_steps": np.asarray(r["context_steps"], np.int64),
            "hr_dense": np.asarray(r["hr_dense"], np.int64),
        }
        y = arrays["y"]
        counts = {"n_windows": int(len(y)), "n_workouts": self.n_workouts, "n_workouts_shorter_than_window": self.n_short,
                  "n_windows_without_hr": self.n_without_hr,
                  "window_steps": T, "step_s": self.step_s, "context_steps": self.context_steps,
                  "n_subjects": int(len(self.runners)),
                  "hr_observed_fraction": float(np.isfinite(y).mean()) if y.size else 0.0,
                  "coverage_by_profile": {k: {**v, "coverage": v["with_hr"] / v["windows"] if v["windows"] else None}
                                          for k, v in sorted(self.profile_counts.items())}}
        return head, arrays, counts


def workout_input(grid, context_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """The model input of a whole workout grid, ``(T, 3)`` float32 — speed m/s, grade, context HR
    bpm (the recorded HR of the first ``context_steps`` steps where observed, else 0) — and ``valid``
    (T,): steps with a speed. As :func:`edgekit.data.signal.workout_grid.windows` makes them: an unknown
    grade reads 0; a step that is not valid holds speed 0 and grade 0."""
    speed = np.asarray(grid.speed_mps, np.float32)
    grade = np.asarray(grid.grade, np.float32)
    valid = np.isfinite(speed)
    hr = np.where(valid, np.asarray(grid.hr_bpm, np.float32), np.nan)
    x = np.stack([np.where(valid, speed, 0.0), np.where(valid & np.isfinite(grade), grade, 0.0),
                  with_context(hr, context_steps)], axis=1)
    return x.astype(np.float32), valid
