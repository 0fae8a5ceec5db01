"""Task roles: what a model does for the wearer (classify strain, forecast fatigue, predict heart rate),
as one object each. A :class:`~edgekit.tasks.base.TaskSpec` names its role; the stages ask the role
(its outputs, held-out figure, Swift ``ModelRole`` case, tolerance, how its prediction records read)
instead of testing a role's name. Torch-free.

Adding a role: one :class:`Role` here, its entry in :data:`ROLES`, and its Swift ``ModelRole`` case.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from edgekit.core.errors import EdgekitError

#: Swift ``InputEncoding`` of each task's declared input (``TaskSpec.swift_input``): the case and the
#: argument label of the value it carries (``TaskSpec.swift_input_param``), if any.
SWIFT_ENCODINGS = {"beat_window": ("beatWindow", None), "reading": ("reading", "minBeats"),
                   "hourly_run": ("hourlyRun", None), "hourly_slots": ("hourlySlots", "minPresentHours"),
                   "activity": ("activity", None)}


def swift_encoding(encoding: str, value: int | None) -> str:
    """The Swift ``InputEncoding`` expression of a declared encoding and its value
    (``swift_encoding("reading", 45) == ".reading(minBeats: 45)"``)."""
    try:
        case, label = SWIFT_ENCODINGS[encoding]
    except KeyError:
        raise EdgekitError(f"unknown input encoding {encoding!r}; known: {sorted(SWIFT_ENCODINGS)}") from None
    if label is None:
        return f".{case}"
    if value is None:
        raise EdgekitError(f"input encoding {encoding!r} needs a value ({label})")
    return f".{case}({label}: {int(value)})"


@dataclass(frozen=True)
class Role:
    """One role. ``name`` is what records carry (``report.json`` "role", the Swift fixtures); the rest
    is what the stages ask."""

    name: str  # "classifier", "forecaster", "regressor"
    title: str  # what the role does, for the package README: "strain classifier"
    swift_case: str  # the Swift ``ModelRole`` case: "strainClassifier"
    # Outputs of the model: ("probabilities", "label") for a Core ML classifier (class probabilities and
    # the top label), ("score",) for one multi-array of values.
    outputs: tuple[str, ...]
    metric: str  # the held-out figure of a variant (report, package README): "accuracy" or "mae"
    unit: str = ""  # the unit of a score output, in the package README: "score points", "bpm"
    baseline_text: str = "baseline MAE {value:.2f}"  # the metrics' baseline_mae in the package README
    # The score output's name in the Core ML program when the role fixes it ("fatigue_score"); None:
    # the task spec's ``onnx_output``.
    score_output: str | None = None
    # Floors of the device-vs-torch tolerance per variant family (fp32, fp16, anything else) and the
    # headroom added to twice a measured difference (:meth:`tolerance`).
    tolerance_floors: tuple[float, float, float] = (0.05, 0.5, 2.0)
    tolerance_headroom: float = 0.05
    # The model type whose defaults (input length, declared encoding) HRVKit's Swift core falls back to
    # when no model of this role is bundled (the role's window model); None: the role has no fallback.
    swift_fallback_type: str | None = None
    # Where the package's prediction fixtures take model inputs: "beats" (cleaned RR of the core
    # recordings), "hours" (their latest hourly RMSSD run) or "workouts" (workout grids).
    fixture_inputs: str = "beats"
    # The level of a deterministic fallback fixture input (ms) when nothing else gives one.
    fixture_level: float = 850.0
    forecasts: bool = False  # gives a fatigue score per wearer (edgekit forecast writes them back)
    one_input_per_subject: bool = False  # predict answers once per subject (its latest series)
    workout_grid: bool = False  # the input is a workout grid (step seconds, calibration context)

    @property
    def has_labels(self) -> bool:
        """The model gives class probabilities and a top label (a Core ML classifier)."""
        return "label" in self.outputs

    @property
    def higher_is_better(self) -> bool:
        """Whether a larger :attr:`metric` is better (accuracy) or worse (MAE)."""
        return self.metric == "accuracy"

    def tolerance(self, variant: str, measured: float | None) -> float:
        """Tolerance of device predictions vs torch for a bundled ``variant``: twice the verified
        program's ``measured`` difference plus headroom for the real Core ML runtime, never below the
        variant family's floor."""
        fp32, fp16, other = self.tolerance_floors
        floor = {"fp32": fp32, "fp16": fp16}.get(variant, other)
        if measured is None:
            return floor
        return max(floor, 2.0 * measured + self.tolerance_headroom)

    def prediction_text(self, record: Mapping[str, Any]) -> str:
        """One prediction record (``TaskSpec.prediction``) as the end of a line of ``edgekit predict``."""
        if self.has_labels:
            probs = "  ".join(f"{k} {v:.3f}" for k, v in record["probabilities"].items())
            return f"{record['label']:12s}  {probs}"
        return f"score {record['fatigue_score']:5.1f}  {record['zone']}"


CLASSIFIER = Role("classifier", "strain classifier", "strainClassifier", ("probabilities", "label"), "accuracy",
                  tolerance_floors=(1e-3, 2e-2, 5e-2), tolerance_headroom=1e-3,
                  swift_fallback_type="strain_transformer", fixture_inputs="beats", fixture_level=850.0)
FORECASTER = Role("forecaster", "fatigue forecaster", "fatigueForecaster", ("score",), "mae", unit="score points",
                  baseline_text="persistence baseline MAE {value:.2f}", score_output="fatigue_score",
                  swift_fallback_type="fatigue_lstm", fixture_inputs="hours", fixture_level=45.0,
                  forecasts=True, one_input_per_subject=True)
REGRESSOR = Role("regressor", "heart rate from activity", "heartRatePredictor", ("score",), "mae", unit="bpm",
                 baseline_text="baseline MAE {value:.2f} bpm",
                 fixture_inputs="workouts", workout_grid=True)

#: Every role by name, in the order the Swift package lists them.
ROLES: dict[str, Role] = {r.name: r for r in (CLASSIFIER, FORECASTER, REGRESSOR)}


def role_named(name: str) -> Role:
    """The role a record names (``report.json`` "role"); one-line error for an unknown one."""
    try:
        return ROLES[name]
    except KeyError:
        raise EdgekitError(f"unknown role {name!r}; expected one of {', '.join(ROLES)}") from None
