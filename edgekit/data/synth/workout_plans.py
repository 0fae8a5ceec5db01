"""What a SYNTHETIC runner plans for one workout, second by second (:func:`plan`), and the gait's
energy cost (:func:`walking_cost_ratio`). Part of the workout simulator
(:mod:`edgekit.data.synth.workouts`; docs/synthetic_workouts.md, "Workouts").

A plan is target speed, fixed grade (NaN: follow the terrain), heading mode (0 free, 1 up the hill,
2 back down), where short stops may happen, the gait (walking or running) and pauses. Kinds:

- ``easy``, ``long``, ``tempo``, ``intervals``, ``hills``: running at fractions of the day's
  threshold speed v_T (the runner's habitual easy intensity sets the easy parts);
- ``run_walk``: a walk, then runs of 2-10 min at the easy pace alternating with walks of 0.5-3 min;
- ``trail``: easy running on steep rolling terrain, hiking the climbs steeper than the runner's
  hiking grade (:data:`TRAIL_HILLINESS`).

Walks are planned (run/walk breaks, warm-up walks, hikes); a run planned slower than
:data:`JOG_MIN_MPS` is walked as well. Run/walk's running parts are at least 5 % faster than the
runner's walk-run transition speed (Hreljac 1993: the preferred transition speed is about 2.0 m/s). Pauses (standing still for 0.5-15 min, at random after
the first 10 min) come in two forms: the watch keeps recording (a stop in the data) or is paused
(no route or HR samples during it).

Energy cost: running on gradient i costs Minetti et al. (2002)'s ``C(i)`` J/kg/m; walking costs
:func:`walking_cost_ratio` of level running per metre, from the ACSM metabolic equations (ACSM's
Guidelines for Exercise Testing and Prescription, 10th ed. 2018: net VO2 walking ``0.1 v + 1.8 v i``,
running ``0.2 v + 0.9 v i`` ml/kg/min, v in m/min): walking on the level costs half of running,
uphill 1.8/0.1 = 18 times the grade more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edgekit.data.signal.hr_kinetics import MINETTI, minetti_cost

KINDS = ("easy", "long", "tempo", "intervals", "hills", "run_walk", "trail")
KIND_P = (0.30, 0.12, 0.12, 0.12, 0.10, 0.12, 0.12)  # the population's mix (design choice)
RUN_WALKER_KIND_P = (0.25, 0.08, 0.05, 0.04, 0.03, 0.45, 0.10)  # runners who often run/walk
TRAIL_HILLINESS = 3.0  # trail terrain: the runner's hilliness times this (grades up to 0.25)
JOG_MIN_MPS = 1.5  # a run planned slower than this is walked (design choice)
WALK_START_P = 0.35  # share of workouts that start with a 1-4 min walk (design choice)
PAUSE_P = 0.4  # share of workouts with pauses (design choice)
PAUSE_MEDIAN_S = 120.0  # pause length: lognormal, median 2 min, s.d. 0.9 in ln, clipped 30-900 s
RECORDED_PAUSE_P = 0.5  # share of pauses the watch keeps recording (else: auto-pause, no samples)


def walking_cost_ratio(grade) -> np.ndarray:
    """Walking's energy cost per metre relative to level running (ACSM equations): 0.5 + 9 i,
    at least 0.25 (downhill walking still costs energy; ACSM's equation is for uphill walking)."""
    i = np.asarray(grade, dtype=np.float64)
    return np.maximum(0.5 + 9.0 * i, 0.25)


@dataclass
class Plan:
    """Per second: target speed (m/s), fixed grade (NaN = terrain), heading mode, short stops
    allowed, walking (bool), pause (int: 0 none, 1 recorded stop, 2 watch paused)."""

    speed: np.ndarray
    grade: np.ndarray
    mode: np.ndarray
    stops_ok: np.ndarray
    walking: np.ndarray
    pause: np.ndarray

    def __len__(self) -> int:
        return int(len(self.speed))


def plan(kind: str, v_t: float, rng: np.random.Generator, *, easy: float = 0.74, walk_mps: float = 1.4,
         walk_run_mps: float = 2.0) -> Plan:
    """The plan of one workout of ``kind`` for a runner with threshold speed ``v_t`` (m/s) that day,
    habitual easy intensity ``easy`` (fraction of v_T), walking speed ``walk_mps`` and walk-run
    transition speed ``walk_run_mps``. Pauses are inserted by :func:`add_pauses`."""
    segs = []  # (seconds, target speed, fixed grade or NaN, heading mode, stops allowed, walking)

    def add(sec, speed, grade=math.nan, mode=0, stops=False, walk=None):
        speed = float(speed)
        walking = (0.0 < speed < JOG_MIN_MPS) if walk is None else walk
        segs.append((max(int(round(sec)), 1), speed, float(grade), mode, stops, bool(walking)))

    def around(f, spread=0.06):  # a fraction of v_T near the runner's easy intensity
        return (f + rng.uniform(-spread, spread)) * v_t

    if kind == "easy":
        add(rng.uniform(25, 65) * 60, around(easy), stops=True)
    elif kind == "long":
        total = rng.uniform(75, 150) * 60
        f = around(easy - 0.04)
        if rng.random() < 0.3:  # progression: the last 15 min faster
            add(total - 900, f, stops=True)
            add(900, rng.uniform(0.84, 0.92) * v_t)
        else:
            add(total, f, stops=True)
    elif kind == "tempo":
        add(rng.uniform(10, 15) * 60, around(easy - 0.04, 0.04), stops=True)
        add(rng.uniform(15, 35) * 60, rng.uniform(0.92, 1.00) * v_t)
        add(rng.uniform(8, 12) * 60, around(easy - 0.06, 0.04))
    elif kind == "intervals":
        add(rng.uniform(12, 18) * 60, around(easy - 0.04, 0.04))
        reps = int(rng.integers(5, 11))
        rep_s = float(rng.choice([60, 120, 180, 240, 300]))
        f = rng.uniform(1.05, 1.20) + 0.04 * (120.0 - rep_s) / 120.0  # shorter reps faster
        standing = rng.random() < 0.2
        rec_s = rep_s * rng.uniform(0.5, 1.0)
        for r in range(reps):
            add(rep_s, f * v_t)
            if r < reps - 1:
                add(rec_s, 0.0 if standing else rng.uniform(0.45, 0.6) * v_t)
        add(rng.uniform(8, 12) * 60, around(easy - 0.08, 0.04))
    elif kind == "hills":
        add(rng.uniform(12, 18) * 60, around(easy - 0.04, 0.04))
        reps = int(rng.integers(6, 11))
        g = rng.uniform(0.05, 0.10)
        up_s = rng.uniform(45, 100)
        f = rng.uniform(1.05, 1.15)
        v_up = f * v_t * MINETTI[-1] / float(minetti_cost(g))  # effort-matched uphill speed
        v_down = rng.uniform(0.55, 0.70) * v_t
        for _ in range(reps):
            add(up_s, v_up, g, 1, walk=False)
            add(v_up * up_s / v_down, v_down, -g, 2, walk=False)
        add(rng.uniform(8, 12) * 60, around(easy - 0.08, 0.04))
    elif kind == "run_walk":
        add(rng.uniform(3, 8) * 60, walk_mps * rng.uniform(0.9, 1.1), walk=True)
        total = rng.uniform(25, 70) * 60
        run_s, walk_s = rng.uniform(2, 10) * 60, rng.uniform(0.5, 3) * 60
        pace = max(around(easy), walk_run_mps * 1.05)
        done = 0.0
        while done < total:
            add(run_s * rng.uniform(0.8, 1.2), pace, stops=True, walk=False)
            add(walk_s * rng.uniform(0.8, 1.2), walk_mps * rng.uniform(0.85, 1.1), walk=True)
            done += run_s + walk_s
        add(rng.uniform(2, 6) * 60, walk_mps * rng.uniform(0.9, 1.1), walk=True)
    elif kind == "trail":
        add(rng.uniform(30, 120) * 60, around(easy - 0.06), stops=True)
    else:
        raise ValueError(f"unknown workout kind {kind!r}; known: {', '.join(KINDS)}")
    if kind != "run_walk" and rng.random() < WALK_START_P:  # out of the door: a walk before running
        segs.insert(0, (max(int(round(rng.uniform(1, 4) * 60)), 1), float(walk_mps * rng.uniform(0.85, 1.1)),
                        math.nan, 0, False, True))
    lens = [s[0] for s in segs]

    def col(j, dtype=None):
        return np.repeat(np.asarray([s[j] for s in segs], dtype=dtype), lens)

    n = int(sum(lens))
    return Plan(speed=col(1, np.float64), grade=col(2, np.float64), mode=col(3, np.int64), stops_ok=col(4, bool),
                walking=col(5, bool), pause=np.zeros(n, np.int64))


def add_pauses(p: Plan, rng: np.random.Generator) -> Plan:
    """Insert pauses (standing still, speed 0) into ``p``: with probability :data:`PAUSE_P`, 1-3 of
    them after the first 10 min, each recorded (1) or with the watch paused (2)."""
    n = len(p)
    if rng.random() >= PAUSE_P or n < 900:
        return p
    k = int(rng.integers(1, 4))
    at = np.sort(rng.integers(600, n, k))
    lens = np.clip(np.round(np.exp(rng.normal(math.log(PAUSE_MEDIAN_S), 0.9, k))), 30, 900).astype(np.int64)
    kinds = np.where(rng.random(k) < RECORDED_PAUSE_P, 1, 2)
    parts = {f: [] for f in ("speed", "grade", "mode", "stops_ok", "walking", "pause")}
    prev = 0
    for a, ln, kd in zip(at, lens, kinds):
        for f in parts:
            parts[f].append(getattr(p, f)[prev:a])
        parts["speed"].append(np.zeros(ln))
        parts["grade"].append(np.full(ln, np.nan))
        parts["mode"].append(np.zeros(ln, np.int64))
        parts["stops_ok"].append(np.zeros(ln, bool))
        parts["walking"].append(np.zeros(ln, bool))
        parts["pause"].append(np.full(ln, kd, np.int64))
        prev = a
    for f in parts:
        parts[f].append(getattr(p, f)[prev:])
    return Plan(**{f: np.concatenate(v) for f, v in parts.items()})
