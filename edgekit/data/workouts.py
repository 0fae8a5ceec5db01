"""Typed records of running workouts (the heart-rate-from-activity model's data layer).

Readers (Apple Health export, GPX, TCX, FIT, FitRec JSON lines) and the synthetic workout population
hand :class:`Workout` records on; resampling turns one into a :class:`WorkoutGrid` on a fixed time
step. Times are UTC epoch seconds (float); absent values are NaN, never a sentinel number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Workout:
    """One workout as recorded, each stream on its own clock.

    ``route_*`` arrays share one length P (route points in time order); ``hr_*`` arrays share one
    length H (heart-rate samples in time order). ``speed_mps`` is the device's speed where it gave
    one (NaN otherwise: resampling derives speed from the positions); ``altitude_m`` NaN where absent;
    ``lat_deg``/``lon_deg`` NaN at a point without a position fix (a TCX trackpoint with only speed).
    ``route_extra`` holds further per-point (P,) float64 arrays a reader found, NaN where absent:
    ``course_deg``, ``h_acc_m``, ``v_acc_m`` (Apple GPX and inline locations), ``distance_m`` (TCX
    and FIT cumulative distance).
    """

    workout_id: str  # unique within its source (file name + index, Apple's UUID, FitRec id)
    runner: str  # the person (subject); one runner may have many workouts
    sport: str  # lower-case activity type as the source names it ("run", "running", "bike", …)
    start_s: float  # UTC epoch seconds
    end_s: float  # UTC epoch seconds
    route_t_s: np.ndarray  # (P,) float64 UTC epoch seconds
    lat_deg: np.ndarray  # (P,) float64
    lon_deg: np.ndarray  # (P,) float64
    altitude_m: np.ndarray  # (P,) float64, NaN = absent
    speed_mps: np.ndarray  # (P,) float64, NaN = not given by the device
    hr_t_s: np.ndarray  # (H,) float64 UTC epoch seconds
    hr_bpm: np.ndarray  # (H,) float64 beats per minute
    source: str = ""  # where it was read (file, and place in it) — for messages
    meta: dict = field(default_factory=dict)  # e.g. {"synthetic": True, "fitness": …, "sensor": "optical"}
    route_extra: dict = field(default_factory=dict)  # name -> (P,) float64, units in the name

    @property
    def duration_s(self) -> float:
        return float(self.end_s - self.start_s)


@dataclass
class WorkoutGrid:
    """A workout resampled to a fixed step: the model's time axis.

    ``speed_mps``, ``grade`` (rise/run, dimensionless) and ``hr_bpm`` have one length T; ``hr_bpm``
    is NaN where no recorded HR lies close enough to interpolate (absent, never invented).
    """

    workout_id: str
    runner: str
    start_s: float  # UTC epoch seconds of step 0
    step_s: float  # seconds between steps
    speed_mps: np.ndarray  # (T,) float32
    grade: np.ndarray  # (T,) float32
    hr_bpm: np.ndarray  # (T,) float32, NaN = absent
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(len(self.speed_mps))
