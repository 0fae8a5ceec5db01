"""The ``influxd`` fixture for tests: a throwaway server (edgekit/data/influx/server.py), skipped without it.

``make setup`` / ``.ci/run`` install Debian's ``influxdb`` (1.6.7) where they can; without the
``influxd`` binary the tests that need it skip with a message saying so.
"""

from __future__ import annotations

import pytest

from edgekit.data.influx.server import INFLUXD, InfluxServer  # noqa: F401 - re-exported for tests

SKIP_REASON = ("influxd not installed (apt-get install influxdb; 'make setup' does it when run as root "
               "with apt): InfluxDB tests skipped")


def require_influxd() -> None:
    if INFLUXD is None:
        pytest.skip(SKIP_REASON)


@pytest.fixture(scope="session")
def influx_server(tmp_path_factory):
    """A running ``influxd`` shared by the session's tests (each test uses its own database)."""
    require_influxd()
    srv = InfluxServer(tmp_path_factory.mktemp("influxd")).start()
    try:
        yield srv
    finally:
        srv.stop()
