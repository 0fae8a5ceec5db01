"""Load a saved Core ML ML program (``.mlpackage``) into plain Python objects.

Parses ``Data/com.apple.CoreML/model.mlmodel`` (the ``Model`` protobuf, via coremltools' generated
proto classes) and resolves ``const`` values, inline or from ``weights/weight.bin``
(:mod:`edgekit.mil.blob`). Nothing here executes the program; see :mod:`edgekit.mil.evaluator`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.core.errors import EdgekitError
from edgekit.mil.blob import BlobFile, unpack_bits

# MIL DataType enum value → (name, numpy dtype, bits, signed sub-byte, blob dtype code)
_MIL_DTYPES: dict[int, tuple[str, Any, int, bool, int | None]] = {
    1: ("bool", np.bool_, 8, False, None),
    2: ("string", object, 0, False, None),
    10: ("fp16", np.float16, 16, False, 1),
    11: ("fp32", np.float32, 32, False, 2),
    12: ("fp64", np.float64, 64, False, None),
    21: ("int8", np.int8, 8, False, 4),
    22: ("int16", np.int16, 16, False, 6),
    23: ("int32", np.int32, 32, False, 14),
    24: ("int64", np.int64, 64, False, None),
    25: ("int4", np.int8, 4, True, 8),
    31: ("uint8", np.uint8, 8, False, 3),
    32: ("uint16", np.uint16, 16, False, 7),
    33: ("uint32", np.uint32, 32, False, 15),
    34: ("uint64", np.uint64, 64, False, None),
    35: ("uint4", np.uint8, 4, False, 11),
    36: ("uint2", np.uint8, 2, False, 10),
    37: ("uint1", np.uint8, 1, False, 9),
    38: ("uint6", np.uint8, 6, False, 13),
    39: ("uint3", np.uint8, 3, False, 12),
}

MODEL_FILE = Path("Data/com.apple.CoreML/model.mlmodel")
WEIGHTS_DIR = Path("Data/com.apple.CoreML/weights")


def dtype_bits(code: int) -> int:
    """Storage bits of one element of MIL data type ``code`` (4 for int4, 6 for uint6 …)."""
    if code not in _MIL_DTYPES:
        raise EdgekitError(f"unsupported MIL data type code {code}")
    return _MIL_DTYPES[code][2]


def dtype_name(code: int) -> str:
    if code not in _MIL_DTYPES:
        raise EdgekitError(f"unsupported MIL data type code {code}")
    return _MIL_DTYPES[code][0]


def numpy_dtype(code: int) -> np.dtype:
    if code not in _MIL_DTYPES:
        raise EdgekitError(f"unsupported MIL data type code {code}")
    return np.dtype(_MIL_DTYPES[code][1])


@dataclass(frozen=True)
class TensorType:
    """Declared type of a MIL value: dtype code and shape (``None`` entries are unknown dims)."""

    dtype: int
    shape: tuple[int | None, ...] | None  # None: not a tensor (e.g. a dictionary)
    kind: str = "tensor"  # tensor | dictionary | list

    @property
    def np_dtype(self) -> np.dtype:
        return numpy_dtype(self.dtype)

    @property
    def name(self) -> str:
        return dtype_name(self.dtype) if self.kind == "tensor" else self.kind


@dataclass
class Operation:
    """One MIL operation: its type, bound inputs, declared outputs and attributes."""

    type: str
    name: str
    inputs: dict[str, list[tuple[str, Any]]]  # param → [("var", name) | ("value", ndarray)]
    outputs: list[tuple[str, TensorType]]
    attributes: dict[str, Any] = field(default_factory=dict)
    blocks: list["Block"] = field(default_factory=list)
    attribute_types: dict[str, TensorType] = field(default_factory=dict)


@dataclass
class Block:
    """A nested block (body of ``while_loop``, branch of ``cond``): inputs, operations, outputs."""

    inputs: list[tuple[str, TensorType]]
    operations: list[Operation]
    outputs: list[str]


@dataclass
class Program:
    """A loaded ML program: the ``main`` function's inputs, operations, outputs, and model description."""

    path: Path
    opset: str
    inputs: dict[str, TensorType]
    operations: list[Operation]
    outputs: list[str]
    spec: Any  # the Model protobuf (description, metadata)
    weight_bytes: int

    @property
    def is_classifier(self) -> bool:
        return bool(self.spec.description.predictedFeatureName)


def _tensor_type(value_type: Any) -> TensorType:
    which = value_type.WhichOneof("type")
    if which == "tensorType":
        tt = value_type.tensorType
        dims: list[int | None] = []
        for d in tt.dimensions:
            dims.append(d.constant.size if d.WhichOneof("dimension") == "constant" else None)
        return TensorType(tt.dataType, tuple(dims))
    if which == "dictionaryType":
        return TensorType(0, None, "dictionary")
    if which == "listType":
        return TensorType(0, None, "list")
    raise EdgekitError(f"unsupported MIL value type {which!r}")


def _immediate(tensor_value: Any, ttype: TensorType) -> np.ndarray:
    which = tensor_value.WhichOneof("value")
    shape = tuple(ttype.shape or ())
    count = int(np.prod(shape)) if shape else 1
    code = ttype.dtype
    _, np_t, nbits, signed, _ = _MIL_DTYPES.get(code, (None, None, 0, False, None))
    if np_t is None:
        raise EdgekitError(f"unsupported MIL data type code {code} in an inline value")
    if which == "bytes":
        raw = tensor_value.bytes.values
        if nbits < 8:
            arr = unpack_bits(raw, nbits, count, signed)
        else:
            arr = np.frombuffer(raw, dtype=np.dtype(np_t).newbyteorder("<")).astype(np_t)
    elif which == "strings":
        arr = np.array(list(tensor_value.strings.values), dtype=object)
    elif which is None:
        arr = np.zeros(0, dtype=np_t)
    else:
        arr = np.array(list(getattr(tensor_value, which).values)).astype(np_t)
    if arr.size != count:
        raise EdgekitError(f"inline value holds {arr.size} elements, its type declares {count}")
    return arr.reshape(shape)


def _value(value: Any, blobs: "_Blobs") -> np.ndarray | dict:
    ttype = _tensor_type(value.type)
    which = value.WhichOneof("value")
    if ttype.kind == "dictionary":
        out = {}
        for kv in value.immediateValue.dictionary.values:
            out[_value(kv.key, blobs).item()] = _value(kv.value, blobs)
        return out
    if ttype.kind == "list" and which == "immediateValue" and value.immediateValue.WhichOneof("value") == "list":
        items = [_value(v, blobs) for v in value.immediateValue.list.values]
        return np.array([i.item() if isinstance(i, np.ndarray) and i.size == 1 else i for i in items], dtype=object)
    if ttype.kind != "tensor":
        raise EdgekitError(f"unsupported constant of kind {ttype.kind}")
    if which == "immediateValue":
        iv = value.immediateValue
        if iv.WhichOneof("value") != "tensor":
            raise EdgekitError(f"unsupported inline value {iv.WhichOneof('value')!r}")
        return _immediate(iv.tensor, ttype)
    if which == "blobFileValue":
        shape = tuple(ttype.shape or ())
        if any(d is None for d in shape):
            raise EdgekitError("blob constant with unknown shape")
        count = int(np.prod(shape)) if shape else 1
        code = _MIL_DTYPES.get(ttype.dtype, (None,) * 5)[4]
        if code is None:
            raise EdgekitError(f"unsupported blob data type {ttype.name}")
        bf = blobs.get(value.blobFileValue.fileName)
        return bf.read(int(value.blobFileValue.offset), count, code).reshape(shape).astype(ttype.np_dtype)
    raise EdgekitError(f"constant without a value ({which!r})")


class _Blobs:
    def __init__(self, weights_dir: Path) -> None:
        self.weights_dir = weights_dir
        self.files: dict[str, BlobFile] = {}

    def get(self, file_name: str) -> BlobFile:
        prefix = "@model_path/weights/"
        if not file_name.startswith(prefix):
            raise EdgekitError(f"weight file reference {file_name!r} outside the package")
        rel = file_name[len(prefix) :]
        if rel not in self.files:
            self.files[rel] = BlobFile(self.weights_dir / rel)
        return self.files[rel]


def model_path(package: str | Path) -> tuple[Path, Path]:
    """(model.mlmodel, weights dir) of an ``.mlpackage``, honouring its ``Manifest.json``."""
    package = Path(package)
    if not package.is_dir():
        raise EdgekitError(f"{package}: not an .mlpackage directory")
    manifest = package / "Manifest.json"
    model = package / MODEL_FILE
    if manifest.is_file():
        try:
            info = json.loads(manifest.read_text(encoding="utf-8"))
            root = info["itemInfoEntries"][info["rootModelIdentifier"]]
            model = package / "Data" / root["path"]
        except (ValueError, KeyError, TypeError):
            raise EdgekitError(f"{manifest}: malformed package manifest") from None
    if not model.is_file():
        raise EdgekitError(f"{package}: model specification {model.name} missing")
    return model, model.parent / "weights"


def load_spec(package: str | Path) -> Any:
    """The ``Model`` protobuf of a saved ``.mlpackage``."""
    from coremltools.proto import Model_pb2

    model_file, _ = model_path(package)
    spec = Model_pb2.Model()
    try:
        spec.ParseFromString(model_file.read_bytes())
    except Exception as exc:  # protobuf DecodeError
        raise EdgekitError(f"{model_file}: not a Core ML model specification ({exc})") from None
    return spec


def load_program(package: str | Path, function: str = "main") -> Program:
    """Parse a saved ML program package: its ``main`` function with every constant resolved."""
    package = Path(package)
    spec = load_spec(package)
    _, weights_dir = model_path(package)
    if spec.WhichOneof("Type") != "mlProgram":
        raise EdgekitError(f"{package}: not an ML program (model type {spec.WhichOneof('Type')!r})")
    prog = spec.mlProgram
    if function not in prog.functions:
        raise EdgekitError(f"{package}: no function {function!r} in the program")
    fn = prog.functions[function]
    if fn.opset not in fn.block_specializations:
        raise EdgekitError(f"{package}: function {function!r} has no block for opset {fn.opset}")
    block = fn.block_specializations[fn.opset]
    blobs = _Blobs(weights_dir)
    inputs = {i.name: _tensor_type(i.type) for i in fn.inputs}
    ops = _operations(block.operations, blobs)
    weight_bytes = sum(f.stat().st_size for f in weights_dir.rglob("*") if f.is_file()) if weights_dir.is_dir() else 0
    return Program(package, fn.opset, inputs, ops, list(block.outputs), spec, weight_bytes)


def _operations(op_specs: Any, blobs: _Blobs) -> list[Operation]:
    ops: list[Operation] = []
    for op_spec in op_specs:
        bound: dict[str, list[tuple[str, Any]]] = {}
        for param, arg in op_spec.inputs.items():
            items: list[tuple[str, Any]] = []
            for b in arg.arguments:
                if b.WhichOneof("binding") == "name":
                    items.append(("var", b.name))
                else:
                    items.append(("value", _value(b.value, blobs)))
            bound[param] = items
        attrs = {key: _value(val, blobs) for key, val in op_spec.attributes.items()}
        name_attr = attrs.get("name")
        name = str(name_attr.item()) if isinstance(name_attr, np.ndarray) else op_spec.type
        outs = [(o.name, _tensor_type(o.type)) for o in op_spec.outputs]
        blocks = [
            Block(
                [(i.name, _tensor_type(i.type)) for i in b.inputs],
                _operations(b.operations, blobs),
                list(b.outputs),
            )
            for b in op_spec.blocks
        ]
        attr_types = {key: _tensor_type(val.type) for key, val in op_spec.attributes.items()}
        ops.append(Operation(op_spec.type, name, bound, outs, attrs, blocks, attr_types))
    return ops
