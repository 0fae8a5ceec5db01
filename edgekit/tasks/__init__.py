"""Task specs, one per model type, registered here (the only place that lists model types).

Adding a model type: a model module under ``edgekit/models/``, a spec module here subclassing
:class:`~edgekit.tasks.base.TaskSpec`, one line in ``TASKS`` (and its Swift piece).
"""

from __future__ import annotations

from edgekit.core.errors import EdgekitError
from edgekit.tasks.activity import ActivityTask
from edgekit.tasks.base import TaskSpec
from edgekit.tasks.fatigue import FatigueTask
from edgekit.tasks.fatigue_slots import FatigueSlotsTask
from edgekit.tasks.strain import FIXTURE_SEED, StrainTask
from edgekit.tasks.strain_reading import StrainReadingTask

TASKS: dict[str, TaskSpec] = {spec.type: spec for spec in (StrainTask(), FatigueTask(), StrainReadingTask(),
                                                           FatigueSlotsTask(), ActivityTask())}


def task_for(model_type: str) -> TaskSpec:
    """The spec of ``model_type`` (one-line error for an unknown type)."""
    try:
        return TASKS[model_type]
    except KeyError:
        raise EdgekitError(f"unknown model type {model_type!r}; expected one of {', '.join(sorted(TASKS))}") from None


__all__ = ["FIXTURE_SEED", "TASKS", "TaskSpec", "task_for"]
