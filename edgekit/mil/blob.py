"""Reader of the MIL blob storage file (``weights/weight.bin``) of a Core ML ML program.

Layout (little endian, every record 64-byte aligned):

* storage header, 64 bytes: ``uint32 count``, ``uint32 version`` (= 2), 56 reserved bytes;
* per blob, at the offset a ``const`` op names: a 64-byte metadata record ``uint32 sentinel``
  (``0xDEADBEEF``), ``uint32 dtype``, ``uint64 size_in_bytes``, ``uint64 data_offset``, reserved;
  the raw data lives at ``data_offset``.

Sub-byte types (uint1/2/3/4/6, int4) are packed LSB first, one byte after another.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from edgekit.core.errors import EdgekitError

SENTINEL = 0xDEADBEEF
HEADER_BYTES = 64

# blob dtype code → (numpy dtype of the stored element, bits per element, signed sub-byte)
BLOB_DTYPES: dict[int, tuple[np.dtype, int, bool]] = {
    1: (np.dtype(np.float16), 16, False),
    2: (np.dtype(np.float32), 32, False),
    3: (np.dtype(np.uint8), 8, False),
    4: (np.dtype(np.int8), 8, False),
    6: (np.dtype(np.int16), 16, False),
    7: (np.dtype(np.uint16), 16, False),
    8: (np.dtype(np.int8), 4, True),  # int4
    9: (np.dtype(np.uint8), 1, False),
    10: (np.dtype(np.uint8), 2, False),
    11: (np.dtype(np.uint8), 4, False),
    12: (np.dtype(np.uint8), 3, False),
    13: (np.dtype(np.uint8), 6, False),
    14: (np.dtype(np.int32), 32, False),
    15: (np.dtype(np.uint32), 32, False),
}


def unpack_bits(packed: bytes | np.ndarray, nbits: int, count: int, signed: bool = False) -> np.ndarray:
    """Unpack ``count`` integers of ``nbits`` bits each, packed LSB first, into int16/uint8."""
    raw = np.frombuffer(bytes(packed), dtype=np.uint8)
    needed = -(-nbits * count // 8)
    if raw.size < needed:
        raise EdgekitError(f"packed data holds {raw.size} bytes, {needed} needed for {count}×{nbits} bits")
    bits = np.unpackbits(raw[:needed], bitorder="little")[: nbits * count].reshape(count, nbits)
    weights = (1 << np.arange(nbits, dtype=np.int32))
    values = (bits.astype(np.int32) * weights).sum(axis=1)
    if signed:
        values = np.where(values >= (1 << (nbits - 1)), values - (1 << nbits), values)
        return values.astype(np.int8)
    return values.astype(np.uint8)


class BlobFile:
    """One ``weight.bin``: read typed arrays by the metadata offset a ``const`` op refers to."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.data = self.path.read_bytes()
        except OSError as exc:
            raise EdgekitError(f"{self.path}: cannot read weight blob: {exc.strerror}") from None
        if len(self.data) < HEADER_BYTES:
            raise EdgekitError(f"{self.path}: weight blob truncated ({len(self.data)} bytes)")
        self.count, self.version = struct.unpack_from("<II", self.data, 0)
        if self.version != 2:
            raise EdgekitError(f"{self.path}: unsupported blob storage version {self.version}")

    def read(self, offset: int, count: int, expect_dtype: int | None = None) -> np.ndarray:
        """Return ``count`` elements of the blob whose metadata sits at byte ``offset``."""
        if offset + 64 > len(self.data):
            raise EdgekitError(f"{self.path}: blob offset {offset} beyond end of file")
        sentinel, dtype, size, data_offset = struct.unpack_from("<IIQQ", self.data, offset)
        if sentinel != SENTINEL:
            raise EdgekitError(f"{self.path}: no blob metadata at offset {offset} (bad sentinel)")
        if dtype not in BLOB_DTYPES:
            raise EdgekitError(f"{self.path}: blob at offset {offset} has unknown dtype code {dtype}")
        if expect_dtype is not None and dtype != expect_dtype:
            raise EdgekitError(
                f"{self.path}: blob at offset {offset} has dtype code {dtype}, program expects {expect_dtype}"
            )
        if data_offset + size > len(self.data):
            raise EdgekitError(f"{self.path}: blob at offset {offset} truncated")
        raw = self.data[data_offset : data_offset + size]
        np_dtype, nbits, signed = BLOB_DTYPES[dtype]
        if nbits < 8:
            return unpack_bits(raw, nbits, count, signed)
        arr = np.frombuffer(raw, dtype=np_dtype.newbyteorder("<"))
        if arr.size < count:
            raise EdgekitError(f"{self.path}: blob at offset {offset} holds {arr.size} values, {count} needed")
        return arr[:count].astype(np_dtype)
