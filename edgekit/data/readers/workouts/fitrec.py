"""FitRec / Endomondo JSON lines (``endomondoHR``): one workout per line, streamed, optionally parsed
in worker processes (:func:`iter_fitrec`, :func:`read_fitrec`).
"""

from __future__ import annotations

import ast
import json
import math
import re
from pathlib import Path
from typing import Iterable, Iterator
from collections import deque
from concurrent.futures import ProcessPoolExecutor
import multiprocessing

import numpy as np

from edgekit.data.readers.workouts.common import WorkoutSet, _open, _workout
from edgekit.data.workouts import Workout
from edgekit.core.errors import InputError

MAX_LINE_BYTES = 64 << 20  # a FitRec line longer than this is refused (bounded memory)
KMH = 1.0 / 3.6  # FitRec speed km/h -> m/s


FITREC_SERIES = ("timestamp", "heart_rate", "altitude", "latitude", "longitude", "speed")


class _Malformed(Exception):
    pass


_NUM = r"[-+]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
_NUM_LIST = re.compile(r"\[([-+0-9.eE, \t]*)\]")  # a flat list of numbers (a candidate)
_NUM_LIST_OK = re.compile(rf"[ \t]*(?:{_NUM}[ \t]*(?:,[ \t]*{_NUM}[ \t]*)*(?:,[ \t]*)?)?")


def _number_list(inner: str) -> np.ndarray | None:
    """The values of ``[inner]`` when it is a flat list of plain decimal numbers (a subset of
    Python's literals on which ``float`` and ``int`` give literal_eval's values), else None."""
    if not _NUM_LIST_OK.fullmatch(inner):
        return None
    toks = [x for x in inner.split(",") if x.strip()]
    return np.array([float(x) if ("." in x or "e" in x or "E" in x) else float(int(x)) for x in toks],
                    np.float64)


def _literal(text: str, fast: bool = True):
    """``ast.literal_eval(text)`` — never ``eval``. Fast path for FitRec's shape: each flat list of
    plain numbers is cut out and read by ``float``/``int`` (about 10x faster than the AST), the rest
    (keys, strings, ids) by ``ast.literal_eval``; when anything is unusual (no dict, a list inside
    a string, a number form outside the plain subset) the whole line goes to ``ast.literal_eval``,
    whose answer (or error) then stands. Both give the same values (tested)."""
    if fast:
        lists: list[str] = []

        def cut(m):
            lists.append(m.group(1))
            return f"({len(lists) - 1},)"

        reduced = _NUM_LIST.sub(cut, text)
        try:
            obj = ast.literal_eval(reduced) if lists else None
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            obj = None
        if isinstance(obj, dict):
            seen = set()
            for k, v in obj.items():
                if type(v) is tuple and len(v) == 1 and type(v[0]) is int and 0 <= v[0] < len(lists):
                    arr = None if v[0] in seen else _number_list(lists[v[0]])
                    if arr is None:
                        break
                    seen.add(v[0])
                    obj[k] = arr
            else:
                if len(seen) == len(lists):
                    return obj
    return ast.literal_eval(text)


def _series(obj: dict, key: str, n: int | None) -> np.ndarray | None:
    v = obj.get(key)
    if v is None:
        return None
    if isinstance(v, np.ndarray):  # read by _literal's fast path: plain numbers already
        if n is not None and len(v) != n:
            raise _Malformed(f"'{key}' has {len(v)} values, 'timestamp' has {n}")
        return v
    if not isinstance(v, list):
        raise _Malformed(f"'{key}' is {type(v).__name__}, not a list")
    if n is not None and len(v) != n:
        raise _Malformed(f"'{key}' has {len(v)} values, 'timestamp' has {n}")
    for i, x in enumerate(v):
        if type(x) not in (int, float) and x is not None:
            raise _Malformed(f"'{key}'[{i}] is {type(x).__name__} {str(x)[:20]!r}, not a number")
    return np.array([math.nan if x is None else x for x in v], np.float64)


def _fitrec_workout(text: str, fast: bool = True) -> Workout:
    """One FitRec line (a Python-literal dict, read by :func:`_literal`, never ``eval``) ->
    Workout; _Malformed with what is wrong."""
    try:
        obj = _literal(text, fast)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        # strict JSON lines (null/true/false; edgekit.data.synth.workouts.write_jsonl writes them) as well
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError):
            raise _Malformed(f"not a Python-literal or JSON dict ({type(exc).__name__})") from None
    if not isinstance(obj, dict):
        raise _Malformed(f"a {type(obj).__name__}, not a dict")
    for key in ("id", "userId", "sport", "timestamp"):
        if key not in obj:
            raise _Malformed(f"no '{key}' field")
    t = _series(obj, "timestamp", None)
    n = len(t)
    if n == 0:
        raise _Malformed("'timestamp' is empty")
    if not np.all(np.isfinite(t)):
        raise _Malformed("'timestamp' has a missing or non-finite value")
    back = np.flatnonzero(np.diff(t) < 0)
    if len(back):
        raise _Malformed(f"'timestamp'[{int(back[0]) + 1}] goes backwards")
    cols = {k: _series(obj, k, n) for k in FITREC_SERIES[1:]}
    def col(key: str, scale: float = 1.0) -> np.ndarray:
        return cols[key] * scale if cols[key] is not None else np.full(n, math.nan)

    route = {"t": t, "lat": col("latitude"), "lon": col("longitude"), "alt": col("altitude"),
             "speed": col("speed", KMH)}
    route.update({k: np.full(n, math.nan) for k in ("course", "hacc", "vacc", "dist")})
    hr = cols["heart_rate"]
    meta = {"format": "fitrec", "gender": obj.get("gender"), "url": obj.get("url")}
    return _workout(workout_id=str(obj["id"]), runner=str(obj["userId"]), sport=str(obj["sport"]).lower(),
                    route=route, hr_t=t.copy() if hr is not None else np.zeros(0),
                    hr=hr if hr is not None else np.zeros(0), source="", meta=meta,
                    start_s=float(t[0]), end_s=float(t[-1]))


def _fitrec_batch(name: str, batch: list[tuple[int, str]]) -> list:
    """Parse a batch of (line number, text): a Workout, or (line number, message) when malformed."""
    out = []
    for lineno, text in batch:
        try:
            w = _fitrec_workout(text)
            w.source = f"{name}: line {lineno}"
            out.append(w)
        except _Malformed as exc:
            out.append((lineno, str(exc)))
    return out


def _fitrec_lines(path: Path, name: str, skip_malformed: bool, counts: dict,
                  max_line_bytes: int) -> Iterator[tuple[int, str]]:
    """(line number, text) of the non-blank lines, one at a time; an over-long or non-UTF-8 line is
    malformed (refused, or skipped without holding more than ``max_line_bytes`` of it)."""
    with _open(path) as fh:
        lineno = 0
        while True:
            raw = fh.readline(max_line_bytes + 1)
            if not raw:
                break
            lineno += 1
            if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
                msg = f"line longer than {max_line_bytes} bytes"
                while raw and not raw.endswith(b"\n"):  # drop the rest of the line, chunk by chunk
                    raw = fh.readline(max_line_bytes + 1)
                if not skip_malformed:
                    raise InputError(f"{name}: line {lineno}: {msg}")
                counts["lines"] += 1
                counts["skipped_malformed"] += 1
                continue
            try:
                text = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                if not skip_malformed:
                    raise InputError(f"{name}: line {lineno}: not UTF-8 text (byte {exc.start})") from None
                counts["lines"] += 1
                counts["skipped_malformed"] += 1
                continue
            if not text.strip():
                continue
            counts["lines"] += 1
            yield lineno, text


def iter_fitrec(path: str | Path, *, skip_malformed: bool = False, counts: dict | None = None,
                workers: int = 1, batch_lines: int = 64, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[Workout]:
    """Stream the workouts of a FitRec / Endomondo ``endomondoHR`` file, one per line, in file order.

    Each line is a Python-literal dict (single quotes) read with ``ast.literal_eval`` (never
    ``eval``; its flat lists of plain numbers by ``float``/``int``, same values, see
    :func:`_literal`): ``id``, ``userId`` (the runner), ``gender``, ``sport``, ``url``, and the per-sample
    lists ``timestamp`` (UTC epoch s; required, must not go backwards), ``heart_rate`` (bpm),
    ``altitude`` (m), ``latitude``/``longitude`` (deg), ``speed`` (km/h, converted to m/s; often
    missing: NaN). Every list has the length of ``timestamp``; a missing list is all NaN.

    Memory stays bounded: one line at a time (``workers=1``), or with ``workers>1`` batches of
    ``batch_lines`` lines parsed in that many processes with at most ``2*workers`` batches in
    flight; the order and the results are the same. A malformed line (not a dict, a missing field,
    lists of unequal length, a non-number, over ``max_line_bytes``) raises one InputError naming
    the file and line, or with ``skip_malformed`` is skipped and counted. ``counts`` (a dict, filled
    in as the stream goes): ``lines`` (non-blank), ``read``, ``skipped_malformed``.
    """
    path = Path(path)
    name = str(path)
    c = counts if counts is not None else {}
    for k in ("lines", "read", "skipped_malformed"):
        c.setdefault(k, 0)
    lines = _fitrec_lines(path, name, skip_malformed, c, max_line_bytes)

    def emit(results):
        for r in results:
            if isinstance(r, tuple):
                if not skip_malformed:
                    raise InputError(f"{name}: line {r[0]}: {r[1]}")
                c["skipped_malformed"] += 1
            else:
                c["read"] += 1
                yield r

    if workers <= 1:
        for lineno, text in lines:
            yield from emit(_fitrec_batch(name, [(lineno, text)]))
        return
    yield from _fitrec_parallel(name, lines, emit, workers, batch_lines)


def _batches(lines: Iterable[tuple[int, str]], n: int) -> Iterator[list[tuple[int, str]]]:
    batch = []
    for item in lines:
        batch.append(item)
        if len(batch) >= n:
            yield batch
            batch = []
    if batch:
        yield batch


def _fitrec_parallel(name, lines, emit, workers: int, batch_lines: int) -> Iterator[Workout]:
    # spawn: the caller may hold threads (torch, a DataLoader) that fork would copy mid-state
    ctx = multiprocessing.get_context("spawn")
    pending: deque = deque()
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        try:
            for batch in _batches(lines, batch_lines):
                pending.append(pool.submit(_fitrec_batch, name, batch))
                while len(pending) >= 2 * workers:
                    yield from emit(pending.popleft().result())
            while pending:
                yield from emit(pending.popleft().result())
        finally:
            for f in pending:
                f.cancel()


def read_fitrec(path: str | Path, *, skip_malformed: bool = False, workers: int = 1) -> WorkoutSet:
    """All workouts of a (small) FitRec file in memory, with the counts of :func:`iter_fitrec`.
    For the multi-GB research file, stream with :func:`iter_fitrec` (and filter as you go)."""
    counts: dict = {}
    ws = list(iter_fitrec(path, skip_malformed=skip_malformed, counts=counts, workers=workers))
    return WorkoutSet(ws, counts)
