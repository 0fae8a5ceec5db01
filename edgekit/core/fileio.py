"""Atomic, owner-aware file output.

Every artifact is written to a temporary path beside its target and renamed into place, so no reader
sees a half-written file and a failure leaves nothing partial behind. Output never destroys what
edgekit did not make:

- :func:`atomic_path` replaces an existing *file* target only when allowed (``replace=True``, e.g.
  ``--force`` or a file inside an edgekit build directory) and an existing *directory* target only
  when edgekit made it (it carries :data:`OWNER_MARK`, or lies inside a marked build directory).
- :func:`check_output_file` and :func:`claim_build_dir` vet a user-named ``--out`` before any work
  starts: an empty string, ``.``, ``/``, the home directory, an existing directory, a FIFO, a device
  or a path under a file are refused with one line.
- Every OS error on output (read-only file system, full disk, permission, a path under a file)
  becomes one :class:`OutputError` line naming the path.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from edgekit.core.errors import EdgekitError

T = TypeVar("T")

OWNER_MARK = ".edgekit-owned"  # file in every directory edgekit creates and may later replace
BUILD_MARK = ".edgekit-build"  # file at the root of an edgekit build directory (--out of build verbs)


class OutputError(EdgekitError):
    """An output path that edgekit refuses to write, or an OS error while writing it."""


def describe_os_error(exc: OSError) -> str:
    """The OS reason of ``exc`` in words (``read-only file system``, ``no space left on device`` …)."""
    if exc.errno is not None:
        return os.strerror(exc.errno).lower()
    return str(exc) or type(exc).__name__


def _os_error(path: Path | str, exc: OSError, what: str = "cannot write") -> OutputError:
    return OutputError(f"{path}: {what}: {describe_os_error(exc)}")


def _kind(path: Path) -> str | None:
    """'file', 'dir', 'symlink', 'fifo', 'device', 'socket', 'other', or None when absent."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "other"


_KIND_WORDS = {"fifo": "a FIFO (named pipe)", "device": "a device file", "socket": "a socket",
               "other": "a special file", "dir": "an existing directory"}


def _refuse_special(raw: str, what: str) -> Path:
    """Refuse the paths no output may ever be: '', whitespace, '.', '/', the home directory."""
    if raw is None or not str(raw).strip():
        raise OutputError(f"{what}: empty path (is a shell variable unset?)")
    path = Path(raw)
    try:
        resolved = path.expanduser().resolve()
    except (OSError, RuntimeError) as exc:
        raise OutputError(f"{raw}: cannot resolve path: {exc}") from None
    if resolved == Path.cwd().resolve():
        raise OutputError(f"{raw}: refusing to write to the working directory itself; name a new path")
    if resolved == Path(resolved.anchor):
        raise OutputError(f"{raw}: refusing to write to the file-system root")
    with contextlib.suppress(RuntimeError, KeyError):
        if resolved == Path.home().resolve():
            raise OutputError(f"{raw}: refusing to write to the home directory itself; name a new path")
    return path


def _check_parent(path: Path, raw: str) -> None:
    """The deepest existing ancestor must be a directory (not a file: 'path under a file')."""
    parent = path.parent if str(path.parent) else Path(".")
    probe = parent
    while True:
        kind = _kind(probe)
        if kind == "symlink":
            kind = "dir" if probe.is_dir() else ("file" if probe.exists() else None)
        if kind == "dir":
            return
        if kind is not None:
            raise OutputError(f"{raw}: cannot write: {probe} is not a directory")
        if probe == probe.parent:
            return
        probe = probe.parent


def check_output_file(raw: str | Path, *, force: bool = False, what: str = "--out") -> Path:
    """Vet a user-named output *file* before any work: returns it as a Path or raises one line.

    Refused: '', '.', '/', home, an existing directory, a FIFO/device/socket, a path under a file, a
    symlink (edgekit would replace the link, not its target), and an existing regular file unless
    ``force``.
    """
    path = _refuse_special(str(raw), what)
    kind = _kind(path)
    if kind == "symlink":
        raise OutputError(f"{raw}: is a symbolic link; refusing to replace it (name the real path)")
    if kind in _KIND_WORDS:
        raise OutputError(f"{raw}: is {_KIND_WORDS[kind]}; {what} must name a file to create")
    if kind == "file" and not force:
        raise OutputError(f"{raw}: already exists; pass --force to replace it")
    _check_parent(path, str(raw))
    return path


def is_edgekit_dir(path: Path) -> bool:
    """True for a directory edgekit created (owner mark) or a build directory root (build mark)."""
    return (path / OWNER_MARK).is_file() or (path / BUILD_MARK).is_file()


def _inside_build_dir(path: Path) -> bool:
    try:
        resolved = path.resolve()
    except OSError:
        return False
    return any((p / BUILD_MARK).is_file() for p in resolved.parents)


def check_build_dir(raw: str | Path, what: str = "--out") -> Path:
    """Vet a build directory (``--out`` of build verbs) without touching it; returns it as a Path.

    Accepted: a path that does not exist yet, an empty directory, or a directory edgekit made
    (:data:`BUILD_MARK`, or stage stamps of an older edgekit). Refused with one line: '', '.', '/',
    home, files, FIFOs, dangling symlinks, a path under a file, and any non-empty directory edgekit
    did not make.
    """
    path = _refuse_special(str(raw), what)
    kind = _kind(path)
    if kind == "symlink":
        kind = "dir" if path.is_dir() else "dangling symlink"
    if kind not in (None, "dir"):
        word = _KIND_WORDS.get(kind, kind if kind != "file" else "an existing file")
        raise OutputError(f"{raw}: is {word}; {what} must name a build directory")
    if kind == "dir" and not (path / BUILD_MARK).is_file() and not _legacy_build_dir(path):
        try:
            entries = [e for e in os.listdir(path) if e != ".DS_Store"]
        except OSError as exc:
            raise _os_error(raw, exc, "cannot read") from None
        if entries:
            raise OutputError(f"{raw}: is a non-empty directory edgekit did not make (no {BUILD_MARK}); "
                              f"name a new or empty directory")
    _check_parent(path, str(raw))
    return path


def claim_build_dir(raw: str | Path, what: str = "--out") -> Path:
    """:func:`check_build_dir`, then create the directory and mark it as edgekit's build directory."""
    path = check_build_dir(raw, what)
    try:
        path.mkdir(parents=True, exist_ok=True)
        mark = path / BUILD_MARK
        if not mark.is_file():
            mark.write_text("edgekit build directory: edgekit may replace what is inside it\n",
                            encoding="utf-8")
    except OSError as exc:
        raise _os_error(raw, exc) from None
    return path


def _legacy_build_dir(path: Path) -> bool:
    """A build directory in edgekit's layout without the mark (written before marks existed, or
    prepared by hand): stage stamps, a package stamp, or a model's ``data/windows.npz``."""
    try:
        return (path / "ios" / ".package-stamp.json").is_file() or any(
            (child / ".stamps").is_dir() or (child / "data" / "windows.npz").is_file()
            for child in path.iterdir() if child.is_dir())
    except OSError:
        return False


def mark_owned(directory: Path) -> None:
    """Mark a directory as made by edgekit (so a later run may replace it)."""
    (Path(directory) / OWNER_MARK).write_text("made by edgekit\n", encoding="utf-8")


@contextlib.contextmanager
def atomic_path(target: str | Path, suffix: str = "", *, replace: bool = True) -> Iterator[Path]:
    """Yield a temporary path (file or directory) that replaces ``target`` on success.

    An existing regular-file target is replaced only when ``replace`` is true. An existing directory
    target is replaced only when edgekit made it (:func:`is_edgekit_dir`) or it lies inside an
    edgekit build directory.
    Symlinks, FIFOs and devices are never replaced. On an exception the temporary path is removed and
    ``target`` is left as it was; OS errors become one :class:`OutputError` line naming ``target``.
    """
    target = Path(target)
    kind = _kind(target)
    if kind in ("symlink", "fifo", "device", "socket", "other"):
        raise OutputError(f"{target}: is {_KIND_WORDS.get(kind, 'a symbolic link')}; refusing to replace it")
    if kind == "file" and not replace:
        raise OutputError(f"{target}: already exists; pass --force to replace it")
    if kind == "dir" and not (is_edgekit_dir(target) or _inside_build_dir(target)):
        raise OutputError(f"{target}: is an existing directory edgekit did not make; refusing to replace it")
    _check_parent(target, str(target))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or ".tmp", dir=target.parent)
        os.close(fd)
        os.unlink(tmp_name)
    except OSError as exc:
        raise _os_error(target, exc) from None
    tmp = Path(tmp_name)
    try:
        try:
            yield tmp
        except OSError as exc:
            if _is_write_error(exc, tmp):
                raise _os_error(target, exc) from None
            raise
        try:
            if _kind(target) == "dir":
                shutil.rmtree(target)
            os.replace(tmp, target)
        except OSError as exc:
            raise _os_error(target, exc) from None
    finally:
        with contextlib.suppress(OSError):
            if tmp.is_dir() and not tmp.is_symlink():
                shutil.rmtree(tmp, ignore_errors=True)
            elif tmp.exists() or tmp.is_symlink():
                tmp.unlink()


_WRITE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.EFBIG,
                 errno.ENOTDIR, errno.EISDIR, errno.EIO}


def _is_write_error(exc: OSError, tmp: Path) -> bool:
    """An OSError raised while writing into ``tmp`` (not, say, while reading an input)."""
    name = getattr(exc, "filename", None)
    if name is None:
        return exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)
    try:
        p = Path(os.fsdecode(name))
        return p == tmp or tmp in p.parents
    except (TypeError, ValueError):
        return False


def write_text(target: str | Path, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(target: str | Path, obj: Any) -> None:
    write_text(target, dumps_strict(obj, indent=2) + "\n")


def read_json_object(path: str | Path, what: str) -> dict[str, Any]:
    """A JSON object written by a stage (``what`` names it in errors), or a one-line :class:`EdgekitError`
    naming the file: missing, unreadable, not valid JSON, or not an object."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EdgekitError(f"{path}: {what} not found; run the earlier stages first (edgekit build)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EdgekitError(f"{path}: unreadable {what}: {(str(exc).strip().splitlines() or [type(exc).__name__])[0]}"
                           ) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EdgekitError(f"{path}: {what} is not valid JSON: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict):
        raise EdgekitError(f"{path}: {what} is not a JSON object")
    return doc


def read_record(path: str | Path, what: str, kind: str, stage: str, parse: Callable[[dict[str, Any]], T]) -> T:
    """A stage record: the JSON object at ``path`` (:func:`read_json_object`) through ``parse`` (the
    record's ``from_json``). A document without the record's fields is a one-line
    :class:`EdgekitError` naming the file, the ``kind`` of record and the ``stage`` to re-run."""
    doc = read_json_object(path, what)
    try:
        return parse(doc)
    except (KeyError, TypeError, AttributeError) as exc:
        raise EdgekitError(f"{path}: not an edgekit {kind} (bad or missing {exc}); re-run {stage}") from None


def dumps_strict(obj: Any, indent: int | None = 2) -> str:
    """Strict JSON (RFC 8259): NaN and ±inf become ``null``; NumPy scalars/arrays and paths are
    converted. ``json.dumps`` alone writes ``NaN``, which ``JSON.parse`` rejects."""
    return json.dumps(_finite(obj), indent=indent, sort_keys=True, default=_json_default, allow_nan=False)


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    mod = type(obj).__module__
    if mod == "numpy":
        if isinstance(obj, np.ndarray):
            return _finite(obj.tolist())
        if isinstance(obj, np.generic):
            return _finite(obj.item())
    return obj


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_tree(path: str | Path) -> str:
    """SHA-256 over a file, or over every file of a directory (relative names + contents)."""
    path = Path(path)
    if path.is_file():
        return sha256_file(path)
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(path)).encode())
        h.update(sha256_file(f).encode())
    return h.hexdigest()
