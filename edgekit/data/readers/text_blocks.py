"""A UTF-8 text file read as blocks of whole lines: memory bounded by the block size, not the file.

The streamed readers (rr-text, Polar, CSV) parse these blocks one at a time. The checks are those
of :func:`edgekit.data.rr.read_text_file` (missing, unreadable, empty, binary, not UTF-8; a BOM is
dropped), each a one-line ``InputError`` naming the file, and the lines are the same: a block ends
after a ``\\n`` (or, with ``split_at_cr``, after a lone ``\\r``), so ``block.splitlines()`` over all
blocks gives the lines of ``text.splitlines()`` and ``\\r\\n`` is never cut. A UTF-8 error is
reported at its byte offset in the text after the BOM, as there; it is found when its block is
reached, so an error in an earlier line of the file is reported first.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path

from edgekit.core.errors import InputError

BLOCK_BYTES = 1 << 20  # 1 MiB of text per block (about 200,000 RR lines)
_WHITESPACE = b" \t\n\r\x0b\x0c"  # what bytes.strip() removes


def text_blocks(path: Path, block_bytes: int | None = None, *, split_at_cr: bool = True) -> Iterator[str]:
    """Yield the decoded text of ``path`` in blocks of whole lines (about ``block_bytes`` each,
    default :data:`BLOCK_BYTES`; a single line longer than that is one block). ``split_at_cr=False``
    cuts only after ``\\n`` (for the csv module, which reads ``\\r`` inside a line itself)."""
    block_bytes = block_bytes or BLOCK_BYTES
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed in the finally below
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        yield from _blocks(fh, path, block_bytes, split_at_cr)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    finally:
        fh.close()


def _blocks(fh, path: Path, block_bytes: int, split_at_cr: bool) -> Iterator[str]:
    _refuse_blank(fh, path, block_bytes)
    head = fh.read(4096)
    if b"\x00" in head:
        raise InputError(f"{path}: binary data, not a text file")
    offset = 0  # bytes of text (after the BOM) before the pending buffer
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8):]
    pending = bytearray(head)  # amortized appends while one long line is read
    while True:
        chunk = fh.read(block_bytes)
        pending += chunk
        if not pending:
            return
        cut = _cut(pending, split_at_cr) if chunk else len(pending)
        if cut == 0:
            continue  # no line end yet: one line longer than a block
        block = bytes(pending[:cut])
        del pending[:cut]
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 text (byte {offset + exc.start})") from None
        offset += cut
        yield text


def _cut(buf: bytes, split_at_cr: bool) -> int:
    """Bytes of ``buf`` up to and including its last line end (0 when it holds none)."""
    nl = buf.rfind(b"\n")
    if nl >= 0:
        return nl + 1
    if split_at_cr:
        cr = buf.rfind(b"\r", 0, len(buf) - 1)  # not the last byte: a "\n" may follow it
        if cr >= 0:
            return cr + 1
    return 0


def _refuse_blank(fh, path: Path, block_bytes: int) -> None:
    """An empty or whitespace-only file is refused as ``empty file`` before anything else (as the
    whole-file reader does); reads only up to the first other byte, then rewinds."""
    while True:
        chunk = fh.read(block_bytes)
        if not chunk:
            raise InputError(f"{path}: empty file")
        if chunk.strip(_WHITESPACE):
            fh.seek(0)
            return
