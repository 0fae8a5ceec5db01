"""Real-set manifests: licences, listed files and hashes, person splits (edgekit.data.real.manifest)."""

from pathlib import Path

import pytest

from edgekit.data.real.manifest import find_sets, load_set, sha256_file
from edgekit.core.errors import InputError

REPO = Path(__file__).resolve().parent.parent


def _write(root: Path, manifest: str, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "manifest.toml").write_text(manifest)
    return root


def _manifest(root: Path, licence="CC-BY-4.0", split_b="tune", sha=None, extra="") -> str:
    sha_a = sha or sha256_file(root / "a.txt")
    sha_b = sha256_file(root / "b.txt")
    return f"""
[set]
name = "t"
profiles = {{ rest = "seated rest" }}

[[source]]
id = "src"
title = "A source"
url = "https://example.org"
licence = "{licence}"
attribution = "Someone (2020)"

[[recording]]
id = "a"
file = "a.txt"
source = "src"
person = "p1"
format = "rr-text"
profile = "rest"
split = "tune"
sha256 = "{sha_a}"
known = {{ state = "rest", age = 30 }}
{extra}
[[recording]]
id = "b"
file = "b.txt"
source = "src"
person = "p2"
format = "rr-text"
read = {{ unit = "s" }}
profile = "rest"
split = "{split_b}"
sha256 = "{sha_b}"
"""


@pytest.fixture()
def setdir(tmp_path):
    root = tmp_path / "set"
    _write(root, "", {"a.txt": "800\n810\n", "b.txt": "0.8\n0.81\n"})
    return root


def test_a_valid_set_loads(setdir):
    (setdir / "manifest.toml").write_text(_manifest(setdir, split_b="holdout"))
    s = load_set(setdir)
    assert [r.id for r in s.recordings] == ["a", "b"]
    assert [r.id for r in s.split("holdout")] == ["b"] and s.persons("tune") == ["p1"]
    assert s.recordings[1].read == {"unit": "s"} and s.recordings[0].known["age"] == 30
    assert s.recordings[0].path == setdir.resolve() / "a.txt"


@pytest.mark.parametrize("change, message", [
    (dict(licence="GPL-3.0"), "not one edgekit may redistribute"),
    (dict(sha="0" * 64), "does not match its sha256"),
    (dict(extra='bogus = 1\n'), "unknown key 'bogus'"),
])
def test_bad_manifests_are_refused_in_one_line(setdir, change, message):
    (setdir / "manifest.toml").write_text(_manifest(setdir, **change))
    with pytest.raises(InputError, match=message) as e:
        load_set(setdir)
    assert "\n" not in str(e.value) and "manifest.toml" in str(e.value)


def test_an_unlisted_file_is_refused(setdir):
    (setdir / "manifest.toml").write_text(_manifest(setdir))
    (setdir / "c.txt").write_text("1\n")
    with pytest.raises(InputError, match="'c.txt' is in the set folder but not listed"):
        load_set(setdir)


def test_a_person_in_both_splits_is_refused(setdir):
    text = _manifest(setdir).replace('person = "p2"', 'person = "p1"').replace(
        'split = "tune"\nsha256 = "' + sha256_file(setdir / "b.txt"),
        'split = "holdout"\nsha256 = "' + sha256_file(setdir / "b.txt"))
    (setdir / "manifest.toml").write_text(text)
    with pytest.raises(InputError, match="in both splits"):
        load_set(setdir)


def test_missing_manifest_and_bad_toml(tmp_path):
    with pytest.raises(InputError, match="no manifest"):
        load_set(tmp_path)
    (tmp_path / "manifest.toml").write_text("[set\n")
    with pytest.raises(InputError, match="not a valid TOML manifest"):
        load_set(tmp_path)


@pytest.mark.parametrize("root", find_sets(REPO / "realdata"), ids=lambda p: p.name)
def test_every_committed_set_is_valid_and_keeps_a_holdout(root):
    s = load_set(root)
    assert s.persons("holdout"), f"{root.name}: no holdout persons"
    assert s.persons("tune"), f"{root.name}: no tune persons"
