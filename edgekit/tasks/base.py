"""The task spec: everything the stages need to know about one model type.

One subclass per model type (``strain.py``, ``fatigue.py``), registered in ``edgekit/tasks/__init__.py``.
Stages ask the spec — the input's name and shape (from the params), how training examples are
made, the loss and metrics, the Core ML metadata and outputs, the parity fixtures and scale, the
Swift role — and never test a model-type string. Per-model variation is an override, as in
huggingface/exporters' ``CoreMLConfig``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Mapping

import numpy as np

from edgekit import INPUT_NAME
from edgekit.tasks.roles import Role


class TaskSpec:
    """One model type. Class attributes are data; methods are the per-model steps of each stage."""

    type: ClassVar[str]  # model.type in configs, "model_type" in checkpoints and metadata
    role: ClassVar[Role]  # what the model does (edgekit.tasks.roles): its outputs, Swift role, tolerance
    title: ClassVar[str]  # plain words for messages: "strain classifier"
    length_param: ClassVar[str]  # the params field that sets the input length T
    length_unit: ClassVar[str]  # what one step of the input is: "beats", "hours"
    input_name: ClassVar[str] = INPUT_NAME
    input_channels: ClassVar[int] = 1  # C of the input (1, T, C): 1 for the RR / RMSSD series
    primary_metric: ClassVar[str]  # early stopping, fine-tune acceptance: "macro_f1" or "mae"
    higher_is_better: ClassVar[bool]
    report_metrics: ClassVar[tuple[str, ...]]  # held-out figures the report carries
    required_test_metrics: ClassVar[tuple[str, ...]]  # metrics.json "test" keys the report needs
    compute_units: ClassVar[str]  # HRVKit's default MLComputeUnits
    parity_scale: ClassVar[float] = 1.0  # output range the ONNX tolerance is relative to
    input_is_rr: ClassVar[bool] = False  # the input is raw RR (calibrate on the RR bounds)
    onnx_output: ClassVar[str]  # the ONNX export's output name
    person_evaluation: ClassVar[bool] = False  # edgekit evaluate --person runs edgekit.train.person (one person over years)
    parity_test_windows: ClassVar[int | None] = None  # verify: held-out windows per variant (None = all)
    reads_workouts: ClassVar[bool] = False  # predict reads workout files (GPX/TCX/FIT, Apple export), not RR
    clock_hours: ClassVar[bool] = False  # the input is made of the wearer's local clock hours (predict --utc-offset)
    crops_readings: ClassVar[bool] = False  # train.crop_fraction applies (inputs are reading windows)
    # A model whose recurrent state carries from one input window to the next (a run longer than the
    # window is one run): the exported program takes the state as a second, optional input (zeros when
    # not given: the start) and gives the state after the window as a second output. None: stateless.
    state_input: ClassVar[str | None] = None
    state_output: ClassVar[str | None] = None
    calibrates: ClassVar[bool] = False  # train.calibrate_on applies (:meth:`calibrate`)
    # What a present step of the input is when steps may be absent (0): "beats", "hours"; None when
    # every step of every input is present (window models). Predict warns on inputs with fewer
    # present steps than most training inputs had (:meth:`presence`).
    presence_unit: ClassVar[str | None] = None
    input_noun: ClassVar[str] = "window"  # what one model input is, in messages: "window", "reading", "series"
    output_unit: ClassVar[str] = ""  # the unit of a regression output, in messages: "score points", "bpm"
    baseline_name: ClassVar[str] = "baseline"  # metrics' baseline_mae, in messages: "persistence baseline"
    # How HRVKit makes this model's input on device (the Swift ``InputEncoding`` case of its catalog
    # entry): "beat_window" (N consecutive clean beats), "reading" (one reading's RR, then 0),
    # "hourly_run" (N consecutive hourly RMSSD values), "hourly_slots" (RMSSD of the last N local
    # clock hours, 0 = absent) or "activity" (a workout grid).
    swift_input: ClassVar[str]
    # The params field the encoding carries into Swift (its minimum), or None.
    swift_input_param: ClassVar[str | None] = None
    # The metrics.json "coverage" key (edgekit.data.synth.coverage.summarize) that says how often this
    # model's input can be made, per recording profile; None when the build does not measure it.
    coverage_key: ClassVar[str | None] = None
    # The metrics.json "coverage" key counting what the coverage is a fraction of ("readings", "wakeups").
    coverage_count_key: ClassVar[str | None] = None
    # The same among wake-ups with >= 3 readings in the previous 24 h (forecasters), or None.
    coverage_key_given_3_readings: ClassVar[str | None] = None

    def presence(self, X: np.ndarray) -> np.ndarray:
        """Present (non-zero) steps of each input ``X`` (K, T): beats of a reading, hours with an RMSSD."""
        return (np.asarray(X) > 0).sum(axis=1)

    def swift_input_value(self, raw: Mapping[str, Any]) -> int | None:
        """The value of :attr:`swift_input_param` in the params (defaults applied), or None."""
        if self.swift_input_param is None:
            return None
        return int(getattr(self.params(raw), self.swift_input_param))

    # --- params and model --------------------------------------------------------------------

    @staticmethod
    def params_class() -> type:
        raise NotImplementedError

    def params(self, raw: Mapping[str, Any]) -> Any:
        """The validated params dataclass (``ValueError`` with one line on a bad value)."""
        return self.params_class().from_dict(dict(raw))

    def input_length(self, raw: Mapping[str, Any]) -> int:
        """T of the input ``(1, T, 1)``, from the params (defaults applied)."""
        return int(getattr(self.params(raw), self.length_param))

    def train_length(self, cfg: Any) -> int:
        """Steps of one training example (default: the model's input length)."""
        return self.input_length(cfg.model.params)

    def input_shape(self, raw: Mapping[str, Any]) -> tuple[int, int, int]:
        return (1, self.input_length(raw), self.input_channels)

    def build_model(self, raw: Mapping[str, Any]) -> Any:
        """An untrained torch module of this type."""
        raise NotImplementedError

    def labels(self, meta: Mapping[str, Any]) -> list[str]:
        """Class names of a checkpoint (empty for a forecaster)."""
        return []

    # --- data ---------------------------------------------------------------------------------

    def examples(self, cfg: Any) -> Any:
        """The data layer's :class:`~edgekit.data.pipeline.Examples` maker for ``cfg``."""
        raise NotImplementedError

    # --- training -----------------------------------------------------------------------------

    def normalization(self, X: np.ndarray, y: np.ndarray | None = None) -> dict[str, float]:
        """Train-set statistics stored in the model as buffers. X: (n, T) or (n, T, C) float32; y the
        training targets (for tasks whose normalization needs them)."""
        raise NotImplementedError

    def loss(self, y: np.ndarray, labels: list[str], class_weighting: bool) -> tuple[Any, Any]:
        """(loss module, target tensor) for the training split's targets ``y``."""
        raise NotImplementedError

    def batch_loss(self, loss_fn: Any, out: Any, target: Any) -> Any:
        raise NotImplementedError

    def augmenter(self, cfg: Any) -> Any:
        """``f(X, epoch) -> X'``: the training inputs of one epoch (a new array, seeded by the config,
        the same for every rank), or None when the task trains on its examples as they are."""
        return None

    def metrics(self, y: np.ndarray, out: np.ndarray, y_today: np.ndarray | None, labels: list[str]) -> dict:
        """Held-out figures of model outputs ``out`` (n, C) against targets ``y``."""
        raise NotImplementedError

    def score(self, metrics: Mapping[str, Any]) -> float:
        """Early-stopping score, higher is better."""
        v = float(metrics[self.primary_metric])
        return v if self.higher_is_better else -v

    def better(self, a: float, b: float) -> bool:
        """``a`` beats ``b`` on the primary metric (by more than rounding)."""
        return a > b + 1e-9 if self.higher_is_better else a < b - 1e-9

    def history_row(self, val_metrics: Mapping[str, Any]) -> dict[str, Any]:
        return {f"val_{self.primary_metric}": val_metrics[self.primary_metric]}

    def progress(self, val_metrics: Mapping[str, Any]) -> dict[str, str]:
        return {f"val_{self.primary_metric}": f"{val_metrics[self.primary_metric]:.3f}"}

    def personal_baseline(self, train: Any, test: Any, labels: list[str], after: Mapping[str, Any]
                          ) -> tuple[str, float | None]:
        """(name, value) of the simple baseline a personal model must beat on held-out windows."""
        raise NotImplementedError

    def heldout_report(self, predict: Any, arrays: Mapping[str, np.ndarray], test_ids: np.ndarray,
                       labels: list[str]) -> dict[str, Any]:
        """Extra held-out figures for metrics.json (coverage and accuracy per recording profile);
        ``predict(X)`` gives model outputs, ``arrays`` are windows.npz's. None by default."""
        return {}

    # --- export -------------------------------------------------------------------------------

    def metadata(self, params: Mapping[str, Any], meta: Mapping[str, Any]) -> dict[str, str]:
        """Per-model Core ML metadata: window keys, labels, input and output descriptions."""
        raise NotImplementedError

    def example_input(self, module: Any) -> Any:
        """A realistic torch input of the model's fixed shape (for tracing/export)."""
        raise NotImplementedError

    def coreml_outputs(self, meta: Mapping[str, Any]) -> dict[str, Any]:
        """Keyword arguments of ``convert.to_coreml`` that declare the outputs."""
        raise NotImplementedError

    def state_size(self, params: Mapping[str, Any]) -> int:
        """Floats of the state carried across windows (0: a stateless model)."""
        return 0

    def export_module(self, module: Any) -> Any:
        """The module the convert stage captures: ``module`` itself, or (a model with state) one that
        takes ``(input, state)`` and returns ``(output, state after the window)``."""
        return module

    def example_inputs(self, module: Any) -> tuple:
        """The example inputs of :meth:`export_module`: the input, and zeros for the state."""
        x = self.example_input(module)
        n = self.state_size(module.config.to_dict())
        return (x,) if not n else (x, x.new_zeros(1, n))

    # --- verify and run -----------------------------------------------------------------------

    fixture_description: ClassVar[str] = ""

    def fixture_cases(self, length: int) -> list[dict]:
        raise NotImplementedError

    def torch_outputs(self, out: np.ndarray) -> np.ndarray:
        """Model outputs (K, C) as the task's values: (K, C) probabilities or (K,) scores."""
        return out if self.role.has_labels else out.reshape(-1)

    def program_outputs(self, out: Mapping[str, Any]) -> np.ndarray:
        """One input's values from a Core ML program's named outputs."""
        raise NotImplementedError

    def prediction(self, values: np.ndarray, labels: list[str]) -> dict[str, Any]:
        """The user-facing record of one input's values (label + probabilities, or score + zone)."""
        raise NotImplementedError

    def calibrate(self, cfg: Any, model: Any, predict: Any, val: Any, labels: list[str]) -> dict[str, Any] | None:
        """After training, fit a documented calibration of ``model`` (in place) on the ``tune`` persons of
        the real sets of ``train.calibrate_on`` (never their holdout); ``predict(X)`` runs the model,
        ``val`` is the synthetic validation split. Returns a record for metrics.json, None when the task
        has no calibration or none is configured."""
        return None

    def evaluate_real(self, cfg: Any, predict: Any, real_set: Any) -> Any:
        """This model on one real set (:class:`edgekit.data.real.manifest.RealSet`): a
        :class:`edgekit.tasks.real.RealEvaluation` (goals, tables per profile and recording, baselines),
        or None when the set is not one this model type can be judged on. ``predict(X)`` runs the
        trained model on inputs ``X`` (K, T[, C]) made as :meth:`model_inputs` makes them."""
        return None

    def model_inputs(self, cfg: Any, cleaned: Any, where: str) -> tuple[np.ndarray, list[dict]]:
        """(X (K, T) float32, one dict per input) of a cleaned RR table, made as training made them.
        A ``clock_hours`` task also takes ``utc_offset_s``: the wearer's UTC offset in seconds."""
        raise NotImplementedError


def params_dict(params: Any) -> dict[str, Any]:
    return dataclasses.asdict(params)


def model_batch(X: np.ndarray) -> np.ndarray:
    """Examples as the model takes them: (n, T) single-channel series → (n, T, 1); (n, T, C) as is."""
    X = np.asarray(X, np.float32)
    return X[:, :, None] if X.ndim == 2 else X


def model_input(x: np.ndarray) -> np.ndarray:
    """One example as the fixed-shape input (1, T, C): (T,) → (1, T, 1); (T, C) → (1, T, C)."""
    x = np.asarray(x, np.float32)
    return x.reshape(1, -1, 1) if x.ndim == 1 else x.reshape((1,) + x.shape)


def chain_windows(run_window: Any, x: np.ndarray, length: int) -> np.ndarray:
    """A whole run ``x`` (T, C) through a program of fixed window ``length``, state carried.

    The run is cut into ``ceil(T / length)`` windows (the last padded with zeros: the model is
    causal, so padding never changes the steps before it). ``run_window(window (1, length, C), state)``
    returns ``(output values (length,) or (length, K), state after the window)``; the first window
    gets ``state = None`` (the program's default: zeros, the start of a run). Returns the outputs of
    the run's T steps, concatenated."""
    x = np.asarray(x, np.float32)
    T = len(x)
    n = max(1, -(-T // length))
    padded = np.zeros((n * length,) + x.shape[1:], np.float32)
    padded[:T] = x
    outs, state = [], None
    for i in range(n):
        y, state = run_window(padded[None, i * length:(i + 1) * length], state)
        outs.append(np.asarray(y, np.float64).reshape(length, -1))
    y = np.concatenate(outs)[:T]
    return y[:, 0] if y.shape[1] == 1 else y


def program_run(ev: Any, task: TaskSpec, x: np.ndarray, length: int) -> np.ndarray:
    """One input ``x`` (T[, C]) through a saved program (:class:`edgekit.verify.ReferenceEvaluator`):
    as is when T is the program's window; a longer one (a whole workout) window after window, the
    recurrent state carried (:func:`edgekit.tasks.base.chain_windows`; a stateless program starts
    each window anew)."""
    if len(x) == length:
        return task.program_outputs(ev.run({task.input_name: model_input(x)}))
    stateful = task.state_input is not None and task.state_input in ev.input_names

    def window(w, state):
        feeds = {task.input_name: w}
        if stateful and state is not None:
            feeds[task.state_input] = state
        out = ev.run(feeds)
        return task.program_outputs(out), (np.asarray(out[task.state_output], np.float32) if stateful else None)

    return chain_windows(window, x, length)
