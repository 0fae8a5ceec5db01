"""PyTorch module → Core ML ML program, saved as a byte-deterministic ``.mlpackage``.

* :func:`to_coreml` — torch module → ``ct.models.MLModel`` (ML program, fixed-shape float32 input
  ``rr_sequence``). Capture by ``torch.export`` + ``run_decompositions({})`` where that converts
  (the plain-op Transformer), ``torch.jit.trace`` otherwise (the LSTM).
* :func:`save_mlpackage` — write an ``.mlpackage`` atomically and byte-deterministically.
* :func:`package_stats` — bytes, parameters and stored bits per parameter of a saved package.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgekit import INPUT_NAME
from edgekit.core.errors import EdgekitError
from edgekit.core.fileio import atomic_path, sha256_tree
from edgekit.export.runtime import import_coremltools, quiet
from edgekit.mil.evaluator import ReferenceEvaluator
from edgekit.mil.program import dtype_bits

CLASS_LABEL_OUTPUT = "classLabel"
CLASS_PROBS_OUTPUT = "classLabel_probs"
SCORE_OUTPUT = "fatigue_score"

# coremltools user-defined metadata that is not a function of the checkpoint (wall clock)
_VOLATILE_METADATA = ("com.github.apple.coremltools.conversion_date",)
_MANIFEST_NAMESPACE = uuid.UUID("6f1d5e2a-5d0c-4a53-9a6e-1f0e8c2b7a41")


# --------------------------------------------------------------------------------------------
# capture


def _unsupported_ops(messages: list[str]) -> list[str]:
    ops: set[str] = set()
    for msg in messages:
        ops.update(re.findall(r"(?:convert function for op|Unsupported op|op) '([\w.:]+)'", msg))
        ops.update(re.findall(r"aten::\w+|aten\.\w+", msg))
    return sorted(ops)


def _fp16_selector(keep_fp32: tuple[str, ...]):
    """``op_selector`` for ct's FP16ComputePrecision: which ops compute in fp16.

    Ops that only transform the raw-millisecond input (``rr_sequence`` → normalization: sub, mul,
    log, clip, slice, concat, reshape …) stay fp32 up to the first op with weights (linear, conv,
    matmul, recurrent): fp16 has 0.5–1 ms resolution between 512 and 2048 ms, so the successive
    differences of RR intervals (ΔRR, a few ms) would lose most of their digits. Op types in
    ``keep_fp32`` stay fp32 everywhere.
    """
    weighted = {"linear", "conv", "matmul", "einsum", "lstm", "gru", "rnn", "conv_transpose"}
    raw: set[str] = set()

    def selector(op: Any) -> bool:
        if op.op_type in keep_fp32:
            return False
        live = []
        for value in op.inputs.values():
            for var in value if isinstance(value, (list, tuple)) else [value]:
                if getattr(var, "val", None) is None or var.op is None:
                    live.append(var)
        names = [v.name for v in live]
        from_input = bool(names) and all(v.op is None or v.name in raw for v in live)
        if from_input and op.op_type not in weighted:
            raw.update(o.name for o in op.outputs)
            return False
        return True

    return selector


def _convert(ct: Any, program: Any, example_shape: tuple, precision: str, *, classifier_labels, target,
             output_name, keep_fp32: tuple[str, ...], input_name: str = INPUT_NAME,
             state: tuple[str, str, tuple] | None = None) -> Any:
    if precision == "fp32":
        compute = ct.precision.FLOAT32
    elif precision == "fp16":
        compute = ct.transform.FP16ComputePrecision(op_selector=_fp16_selector(keep_fp32))
    elif precision == "fp16-full":
        compute = ct.precision.FLOAT16
    else:
        raise EdgekitError(f"unknown precision {precision!r}; expected fp32, fp16 or fp16-full")
    inputs = [ct.TensorType(name=input_name, shape=example_shape, dtype=np.float32)]
    if state is not None:  # the recurrent state: optional, zeros (the start of a run) when not given
        inputs.append(ct.TensorType(name=state[0], shape=state[2], dtype=np.float32,
                                    default_value=np.zeros(state[2], np.float32)))
    kwargs: dict[str, Any] = {
        "inputs": inputs,
        "minimum_deployment_target": target,
        "convert_to": "mlprogram",
        "compute_precision": compute,
        "skip_model_load": True,
    }
    if classifier_labels:
        kwargs["classifier_config"] = ct.ClassifierConfig(
            list(classifier_labels), predicted_feature_name=CLASS_LABEL_OUTPUT
        )
    else:
        kwargs["outputs"] = [ct.TensorType(name=output_name)] + ([ct.TensorType(name=state[1])] if state else [])
    return ct.convert(program, **kwargs)


def _deployment_target(ct: Any, name: str) -> Any:
    target = getattr(ct.target, name, None)
    if target is None:
        known = [n for n in dir(ct.target) if n.startswith(("iOS", "macOS", "watchOS"))]
        raise EdgekitError(f"unknown minimum_deployment_target {name!r}; known: {', '.join(known)}")
    return target


class Capture:
    """The captures of one module on one example input, shared by its conversions (fp32, fp16, …).

    ``torch.export`` + ``run_decompositions`` does not depend on the precision and takes seconds
    (2-3 s CPU for the default models); ``ct.convert`` reads the ExportedProgram without changing it,
    so every conversion of the module can start from the one program (the packages are
    byte-identical to fresh exports). A capture whose program the converter refused is not tried
    again: whether the Core ML frontend supports the captured ops (the LSTM's exported ``lstm`` node:
    "Unsupported fx node") does not depend on the precision either. The TorchScript trace is cheap
    and made anew for each conversion.
    """

    def __init__(self, module: Any, example: Any) -> None:
        self.module = module.eval()
        parts = tuple(example) if isinstance(example, (tuple, list)) else (example,)
        self.examples = tuple(torch.as_tensor(e, dtype=torch.float32) for e in parts)
        self.example = self.examples[0]  # the model input (a second one is the recurrent state)
        self.failed: dict[str, str] = {}  # capture -> its first error
        self._exported: Any = None

    def program(self, capture: str) -> Any:
        if capture == "export":
            if self._exported is None:
                self._exported = torch.export.export(self.module, self.examples).run_decompositions({})
            return self._exported
        return torch.jit.trace(self.module, self.examples if len(self.examples) > 1 else self.example,
                               check_trace=False)


def to_coreml(module: Any, example: Any, precision: str = "fp32", *, classifier_labels: list[str] | None = None,
              metadata: Mapping[str, Any] | None = None, minimum_deployment_target: str = "iOS17",
              output_name: str = SCORE_OUTPUT, keep_fp32: tuple[str, ...] = (), input_name: str = INPUT_NAME,
              state_names: tuple[str, str] | None = None, capture: Capture | None = None) -> Any:
    """Convert ``module`` (eval mode) to a Core ML ML program.

    ``example``: float32 tensor of the fixed input shape, e.g. (1, 128, 1) RR ms. ``precision``:
    ``fp32``; ``fp16`` (fp16 compute except the raw-ms input normalization, see
    :func:`_fp16_selector`); ``fp16-full`` (everything fp16, for measurement). A classifier
    (``classifier_labels``) gets Core ML classifier outputs ``classLabel`` (top label) and
    ``classLabel_probs`` (label → probability); otherwise the single output is ``output_name``.
    ``metadata``: see :func:`apply_metadata`. ``capture``: a :class:`Capture` of ``module`` and
    ``example`` shared with the module's other conversions (default: captured for this call only).
    ``state_names`` = (input, output): a model with recurrent state (``example`` = (input, state),
    ``module(input, state)`` → (output, state after)) gets the state as a second, optional input
    (zeros when not given) and the state after the window as a second output.
    Raises :class:`EdgekitError` naming the unsupported ops when neither capture converts.
    """
    ct = import_coremltools()
    target = _deployment_target(ct, minimum_deployment_target)
    cap = capture if capture is not None else Capture(module, example)
    shape = tuple(cap.example.shape)
    state = None
    if state_names is not None:
        if len(cap.examples) != 2:
            raise EdgekitError("a model with state converts from an example (input, state)")
        state = (state_names[0], state_names[1], tuple(cap.examples[1].shape))
    errors: list[str] = []
    mlmodel = None
    for how in ("export", "trace"):
        if how in cap.failed:
            errors.append(cap.failed[how])
            continue
        try:
            with quiet(), torch.no_grad():
                program = cap.program(how)
                mlmodel = _convert(ct, program, shape, precision, classifier_labels=classifier_labels,
                                   input_name=input_name, state=state,
                                   target=target, output_name=output_name, keep_fp32=keep_fp32)
            break
        except EdgekitError:
            raise
        except Exception as exc:  # capture/conversion failures come in many types
            cap.failed[how] = f"{how}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            errors.append(cap.failed[how])
    if mlmodel is None:
        ops = _unsupported_ops(errors)
        detail = f"unsupported op(s) {', '.join(ops)}" if ops else "; ".join(errors)
        raise EdgekitError(f"cannot convert {type(module).__name__} to Core ML ({detail})")
    mlmodel.user_defined_metadata["edgekit.capture"] = how
    apply_metadata(mlmodel._spec, metadata or {})
    return mlmodel


# --------------------------------------------------------------------------------------------
# metadata and deterministic packages


def apply_metadata(spec: Any, metadata: Mapping[str, Any]) -> None:
    """Write metadata into a Model spec.

    Keys ``author``, ``license``, ``version``, ``short_description`` fill the standard fields;
    ``input_description`` describes the (first) input, ``input_description.<name>`` a named one;
    ``output_description.<name>`` an output;
    every other key becomes a user-defined string. Wall-clock keys coremltools adds are removed.
    """
    desc = spec.description
    std = desc.metadata
    for key in _VOLATILE_METADATA:
        if key in std.userDefined:
            del std.userDefined[key]
    for key, value in metadata.items():
        if key == "author":
            std.author = str(value)
        elif key == "license":
            std.license = str(value)
        elif key == "version":
            std.versionString = str(value)
        elif key == "short_description":
            std.shortDescription = str(value)
        elif key == "input_description":
            for feature in desc.input[:1]:  # the model input (a second one is the recurrent state)
                feature.shortDescription = str(value)
        elif key.startswith("input_description."):
            name = key.split(".", 1)[1]
            for feature in desc.input:
                if feature.name == name:
                    feature.shortDescription = str(value)
        elif key.startswith("output_description."):
            name = key.split(".", 1)[1]
            for feature in desc.output:
                if feature.name == name:
                    feature.shortDescription = str(value)
        else:
            std.userDefined[key] = value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def save_mlpackage(mlmodel: Any, target: str | Path, metadata: Mapping[str, Any] | None = None) -> Path:
    """Save ``mlmodel`` to ``target`` (``.mlpackage``) atomically with deterministic bytes.

    coremltools writes random item identifiers into ``Manifest.json``, a conversion date into the
    metadata and a debug-handle map; edgekit derives identifiers from the item paths, drops the
    volatile metadata and the debug map, and serializes the spec deterministically.
    """
    import_coremltools()  # coremltools is imported quietly, on first use (see import_coremltools)
    from coremltools.proto import Model_pb2  # noqa: PLC0415

    target = Path(target)
    with atomic_path(target, suffix=".mlpackage") as tmp:
        with quiet():
            mlmodel.save(str(tmp))
        for extra in tmp.glob("*.json"):
            if extra.name != "Manifest.json":
                extra.unlink()
        manifest_path = tmp / "Manifest.json"
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        ids = {}
        entries = {}
        for old_id, entry in manifest["itemInfoEntries"].items():
            new_id = str(uuid.uuid5(_MANIFEST_NAMESPACE, entry["path"])).upper()
            ids[old_id] = new_id
            entries[new_id] = entry
        manifest["itemInfoEntries"] = dict(sorted(entries.items()))
        manifest["rootModelIdentifier"] = ids[manifest["rootModelIdentifier"]]
        manifest_path.write_text(json.dumps(manifest, indent=4, sort_keys=True) + "\n", encoding="utf-8")
        root = manifest["itemInfoEntries"][manifest["rootModelIdentifier"]]
        model_file = tmp / "Data" / root["path"]
        spec = Model_pb2.Model()
        spec.ParseFromString(model_file.read_bytes())
        apply_metadata(spec, metadata or {})
        model_file.write_bytes(spec.SerializeToString(deterministic=True))
    return target



def package_stats(path: Path) -> dict[str, Any]:
    """Bytes of a package and of its weight blob; parameters and storage bits per parameter.

    Parameters: every float tensor of ≥ 2 elements the program holds (dense consts and outputs of
    decompression ops); scalars (normalization constants, op arguments) and all-zero tensors
    (recurrent initial states) are not counted. Stored
    bits count each stored element at its type's width (int8 8, uint4 4 …, packed LUT indices as
    bytes), excluding blob headers and alignment.
    """
    ev = ReferenceEvaluator(path)
    prog = ev.program
    # all-zero tensors (recurrent initial states) are not parameters
    zero = {name for name, v in ev._static.items() if isinstance(v, np.ndarray) and v.dtype.kind == "f"
            and v.size > 1 and not np.any(v)}
    weights = path / "Data" / "com.apple.CoreML" / "weights" / "weight.bin"
    by_name = {name: op for op in prog.operations for name, _ in op.outputs}
    consumed: set[str] = set()
    params = compressed = stored_bits = 0

    def bits(ttype: Any) -> int:
        return int(np.prod(ttype.shape or ())) * dtype_bits(ttype.dtype)

    for op in prog.operations:  # decompression ops: their outputs are compressed parameters
        if not op.type.startswith("constexpr_") or op.outputs[0][0] in zero:
            continue
        n = int(np.prod(op.outputs[0][1].shape))
        params += n
        compressed += n
        stored_bits += sum(bits(t) for k, t in op.attribute_types.items() if k != "name" and t.kind == "tensor")
        for bindings in op.inputs.values():
            for kind, ref in bindings:
                if kind == "var" and ref in by_name and by_name[ref].type == "const":
                    consumed.add(ref)
                    stored_bits += bits(by_name[ref].outputs[0][1])
    for op in prog.operations:
        if op.type != "const" or op.outputs[0][0] in consumed or op.outputs[0][0] in zero:
            continue
        ttype = op.outputs[0][1]
        if ttype.kind != "tensor" or ttype.np_dtype.kind != "f" or int(np.prod(ttype.shape or ())) < 2:
            continue
        params += int(np.prod(ttype.shape))
        stored_bits += bits(ttype)
    return {
        "bytes_total": sum(f.stat().st_size for f in path.rglob("*") if f.is_file()),
        "weight_bytes": weights.stat().st_size if weights.is_file() else 0,
        "params": params,
        "params_compressed": compressed,
        "bits_per_param": round(stored_bits / params, 3) if params else 0.0,
        "sha256": sha256_tree(path),
    }

