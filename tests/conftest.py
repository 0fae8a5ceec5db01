"""Shared fixtures of the unit tests (plain helper functions are in ``helpers.py``).

- ``influx_server``: a throwaway ``influxd`` for the session (skips without it; tests marked integration);
- ``bundled_build``: the package build ``make test`` makes first (``EDGEKIT_TEST_BUILD``; skips without it);
- ``synth_cohort``: a synthetic RR cohort (``edgekit data synth``), made once per session per arguments.

Markers (declared in pyproject.toml): ``slow`` (over ~10 s), ``swift`` (needs the Swift toolchain),
``integration`` (needs ``influxd``). ``make test`` runs them all; a quick loop is ``pytest -m "not slow"``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edgekit.data.influx.server import InfluxServer
from helpers import require_influxd, synth


@pytest.fixture(scope="session")
def influx_server(tmp_path_factory):
    """A running ``influxd`` shared by the session's tests (each test uses its own database)."""
    require_influxd()
    srv = InfluxServer(tmp_path_factory.mktemp("influxd")).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def bundled_build() -> Path:
    """The build directory of the bundled models (``EDGEKIT_TEST_BUILD``, set by ``make test``)."""
    path = os.environ.get("EDGEKIT_TEST_BUILD")
    if not path:
        pytest.skip("needs the package build: `make test` builds it first and passes EDGEKIT_TEST_BUILD")
    return Path(path)


@pytest.fixture(scope="session")
def synth_cohort(tmp_path_factory):
    """``synth_cohort(subjects=, days=, seed=, profiles=None, name="cohort.csv") -> Path``: the RR table of
    ``edgekit data synth``, made once per session for each set of arguments, in a folder of its own.
    Tests share it: read it, never change it."""
    made: dict[tuple, Path] = {}

    def make(subjects: int, days: int, seed: int, profiles: str | None = None, name: str = "cohort.csv") -> Path:
        key = (subjects, days, seed, profiles, name)
        if key not in made:
            args = ["--subjects", str(subjects), "--days", str(days), "--seed", str(seed)]
            args += ["--profiles", profiles] if profiles else []
            made[key] = synth(tmp_path_factory.mktemp("cohort") / name, *args)
        return made[key]

    return make
