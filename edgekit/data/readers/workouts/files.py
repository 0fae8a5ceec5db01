"""Workouts of one file of any kind (an Apple Health export or a GPX, TCX or FIT file), and whether
the activity model may predict a workout by its recorded sport. Used by ``edgekit predict`` and the
real-set evaluation of the activity model (moved here from the task spec: reading files is the data
layer's work)."""

from __future__ import annotations

from pathlib import Path

from edgekit.data.readers.workouts import read_apple_health, read_workout_file


def read_workouts(path, fmt: str | None = None) -> list:
    """Workouts of one file: an Apple Health export (folder, ``export.zip`` or ``export.xml``;
    ``fmt='apple-health'`` or by name; its running workouts) or a GPX, TCX or FIT file (by
    extension; every workout, whatever its sport: see :func:`sport_problem`)."""
    path = Path(path)
    if fmt == "apple-health" or path.is_dir() or path.name.lower() in ("export.zip", "export.xml"):
        return list(read_apple_health(path).workouts)
    return read_workout_file(path)


# Sports as GPX ``type``, TCX ``Sport``, FIT ``sport`` and FitRec name them (lower case). Strava's GPX
# export writes its activity type number: 9 = run, 1 = ride.
RUNNING_SPORTS = frozenset({"run", "running", "trail_running", "trail running", "treadmill_running",
                            "street_running", "track_running", "indoor_running", "virtual_run", "9"})
WALKING_SPORTS = frozenset({"walk", "walking", "hike", "hiking", "speed_walking", "mountaineering"})
UNSTATED_SPORTS = frozenset({"", "unknown", "other", "generic", "all"})


def sport_problem(workout) -> tuple[str, str] | None:
    """Whether the activity model may predict ``workout`` by its recorded sport: None for a run (or no
    sport given: most GPX files), ``("warn", why)`` for walking or hiking (predicted as a run/walk),
    ``("refuse", why)`` for any other sport (cycling, swimming, …: the model knows running HR only)."""
    sport = str(workout.sport or "").strip().lower()
    if sport in RUNNING_SPORTS or sport in UNSTATED_SPORTS:
        return None
    if sport in WALKING_SPORTS:
        return ("warn", f"workout {workout.workout_id}: sport {sport!r}: predicted as a run/walk (the model learned "
                        "running HR, walking breaks included)")
    return ("refuse", f"workout {workout.workout_id}: sport {sport!r} is not running: the activity model predicts "
                      "a runner's HR from pace and grade")
