"""Real recordings: the manifest of a committed set (``realdata/<set>/manifest.toml``).

A real set is a folder of small recordings no one here wrote, each with its source, licence,
attribution and what is known of it (population, device, sampling, state: rest, sleep, exercise,
stress task, diagnosis). Models are evaluated on them in every build; a part of every set, by
person, is ``holdout``: never used for tuning anything (simulator, hyper-parameters, thresholds).

Only redistributable licences are accepted (:data:`REDISTRIBUTABLE`): a manifest naming another
licence is refused, as is a file in the folder the manifest does not list, a listed file that is
missing or whose SHA-256 differs, or a person split across ``tune`` and ``holdout``. Every refusal
is one line naming the manifest and the entry (``InputError``).

Schema (``realdata/README.md`` has an example)::

    [set]            name, description, profiles = {name = "what the profile is", ...}
    [[source]]       id, title, url, licence, attribution, citation, via, population, device, sampling
    [[recording]]    id, file, source, person, format, profile, split, sha256,
                     read = {...reader options...}, known = {...free facts...}
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from edgekit.core.errors import InputError

MANIFEST = "manifest.toml"

# SPDX identifiers of licences that allow redistribution (with attribution where they ask for it).
REDISTRIBUTABLE = frozenset({
    "CC-BY-4.0", "CC-BY-3.0", "CC0-1.0", "ODC-By-1.0", "PDDL-1.0", "MIT", "BSD-2-Clause",
    "BSD-3-Clause", "Apache-2.0",
})

SPLITS = ("tune", "holdout")

# Files a set folder may hold besides its recordings.
_SET_FILES = frozenset({MANIFEST, "README.md", "LICENSES.md", "LICENSE"})

_SET_KEYS = {"name", "description", "profiles"}
_SOURCE_KEYS = {"id", "title", "url", "licence", "attribution", "citation", "via", "population", "device",
                "sampling"}
_SOURCE_REQUIRED = ("id", "title", "url", "licence", "attribution")
_RECORDING_KEYS = {"id", "file", "source", "person", "format", "profile", "split", "sha256", "read", "known"}
_RECORDING_REQUIRED = ("id", "file", "source", "person", "format", "profile", "split", "sha256")


@dataclass(frozen=True)
class Source:
    """Where recordings come from and under what terms."""

    id: str
    title: str
    url: str
    licence: str  # SPDX identifier, one of REDISTRIBUTABLE
    attribution: str  # the credit line the licence asks for
    citation: str = ""
    via: str = ""  # how the copy here was obtained (a public repository and path)
    population: str = ""
    device: str = ""
    sampling: str = ""


@dataclass(frozen=True)
class Recording:
    """One committed recording: a file a reader of ``format`` reads with ``read`` options."""

    id: str
    path: Path  # absolute
    source: Source
    person: str  # recordings of one person share it; splits are by person
    format: str  # an edgekit reader format (``rr-text``, ``csv``, ``ppg``, ``tcx``, ``fit``, …)
    profile: str  # the recording profile it is evaluated under (a key of the set's ``profiles``)
    split: str  # "tune" or "holdout"
    sha256: str
    read: Mapping[str, Any] = field(default_factory=dict)
    known: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RealSet:
    name: str
    root: Path
    description: str
    profiles: Mapping[str, str]
    sources: Mapping[str, Source]
    recordings: tuple[Recording, ...]

    def split(self, split: str) -> tuple[Recording, ...]:
        """The recordings of one split (``tune`` or ``holdout``)."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
        return tuple(r for r in self.recordings if r.split == split)

    def persons(self, split: str | None = None) -> list[str]:
        """Distinct persons, in manifest order (of one split, or all)."""
        seen: dict[str, None] = {}
        for r in self.recordings:
            if split is None or r.split == split:
                seen.setdefault(r.person)
        return list(seen)

    def by_profile(self) -> dict[str, tuple[Recording, ...]]:
        out: dict[str, list[Recording]] = {}
        for r in self.recordings:
            out.setdefault(r.profile, []).append(r)
        return {k: tuple(v) for k, v in out.items()}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _str(where: str, table: Mapping[str, Any], key: str, required: bool) -> str:
    if key not in table:
        if required:
            raise InputError(f"{where}: missing key {key!r}")
        return ""
    value = table[key]
    if not isinstance(value, str) or (required and not value.strip()):
        raise InputError(f"{where}: {key!r} must be a non-empty string")
    return value


def _unknown(where: str, table: Mapping[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise InputError(f"{where}: unknown key {extra[0]!r} (known: {', '.join(sorted(allowed))})")


def _table(where: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise InputError(f"{where}: expected a table")
    return value


def load_set(root: str | Path, *, check_hashes: bool = True) -> RealSet:
    """Read and validate ``root/manifest.toml`` (``InputError`` with one line on any problem)."""
    root = Path(root).resolve()
    path = root / MANIFEST
    where0 = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{where0}: no manifest (a real set is a folder with {MANIFEST})") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InputError(f"{where0}: not a valid TOML manifest ({e})") from None
    _unknown(where0, raw, {"set", "source", "recording"})
    head = _table(f"{where0}: [set]", raw.get("set", {}))
    _unknown(f"{where0}: [set]", head, _SET_KEYS)
    name = _str(f"{where0}: [set]", head, "name", True)
    profiles = _table(f"{where0}: [set] profiles", head.get("profiles", {}))
    if not profiles or not all(isinstance(v, str) for v in profiles.values()):
        raise InputError(f"{where0}: [set] profiles must map each profile name to what it is")

    sources: dict[str, Source] = {}
    raw_sources = raw.get("source", [])
    if not isinstance(raw_sources, list) or not raw_sources:
        raise InputError(f"{where0}: no [[source]]")
    for i, s in enumerate(raw_sources):
        w = f"{where0}: source {i + 1}"
        s = _table(w, s)
        _unknown(w, s, _SOURCE_KEYS)
        fields = {k: _str(w, s, k, k in _SOURCE_REQUIRED) for k in _SOURCE_KEYS}
        w = f"{where0}: source {fields['id']!r}"
        if fields["licence"] not in REDISTRIBUTABLE:
            raise InputError(f"{w}: licence {fields['licence']!r} is not one edgekit may redistribute "
                             f"({', '.join(sorted(REDISTRIBUTABLE))})")
        if fields["id"] in sources:
            raise InputError(f"{w}: duplicate source id")
        sources[fields["id"]] = Source(**fields)

    recordings: list[Recording] = []
    raw_recs = raw.get("recording", [])
    if not isinstance(raw_recs, list) or not raw_recs:
        raise InputError(f"{where0}: no [[recording]]")
    ids: set[str] = set()
    files: set[Path] = set()
    person_split: dict[str, str] = {}
    for i, r in enumerate(raw_recs):
        w = f"{where0}: recording {i + 1}"
        r = _table(w, r)
        _unknown(w, r, _RECORDING_KEYS)
        f = {k: _str(w, r, k, True) for k in _RECORDING_REQUIRED}
        w = f"{where0}: recording {f['id']!r}"
        if f["id"] in ids:
            raise InputError(f"{w}: duplicate recording id")
        ids.add(f["id"])
        if f["source"] not in sources:
            raise InputError(f"{w}: unknown source {f['source']!r}")
        if f["split"] not in SPLITS:
            raise InputError(f"{w}: split must be 'tune' or 'holdout', not {f['split']!r}")
        if f["profile"] not in profiles:
            raise InputError(f"{w}: profile {f['profile']!r} is not one of the set's ({', '.join(profiles)})")
        if person_split.setdefault(f["person"], f["split"]) != f["split"]:
            raise InputError(f"{w}: person {f['person']!r} is in both splits (splits are by person)")
        rel = Path(f["file"])
        if rel.is_absolute() or ".." in rel.parts:
            raise InputError(f"{w}: file {f['file']!r} must be a path inside the set folder")
        file = root / rel
        if file in files:
            raise InputError(f"{w}: file {f['file']!r} is listed twice")
        files.add(file)
        if not file.is_file():
            raise InputError(f"{w}: file {f['file']!r} does not exist")
        if check_hashes and sha256_file(file) != f["sha256"].lower():
            raise InputError(f"{w}: {f['file']!r} does not match its sha256 (changed after it was listed?)")
        read = dict(_table(f"{w}: read", r.get("read", {})))
        known = dict(_table(f"{w}: known", r.get("known", {})))
        recordings.append(Recording(id=f["id"], path=file, source=sources[f["source"]], person=f["person"],
                                    format=f["format"], profile=f["profile"], split=f["split"],
                                    sha256=f["sha256"].lower(), read=read, known=known))

    for p in sorted(root.rglob("*")):
        if p.is_file() and p not in files and p.relative_to(root).as_posix() not in _SET_FILES:
            raise InputError(f"{where0}: {p.relative_to(root).as_posix()!r} is in the set folder but not "
                             "listed (every committed recording needs its source and licence)")
    used = {r.source.id for r in recordings}
    unused = [s for s in sources if s not in used]
    if unused:
        raise InputError(f"{where0}: source {unused[0]!r} has no recording")
    return RealSet(name=name, root=root, description=str(head.get("description", "")), profiles=dict(profiles),
                   sources=sources, recordings=tuple(recordings))


def find_sets(root: str | Path) -> list[Path]:
    """The set folders under ``root`` (each holds a manifest), sorted."""
    return sorted(p.parent for p in Path(root).glob(f"*/{MANIFEST}"))
