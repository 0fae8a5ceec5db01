"""InfluxDB client: InfluxQL over the 1.x HTTP API (``/write`` line protocol, ``/query``).

Why this and not a client library: the 1.x HTTP API is the one protocol InfluxDB 1.x serves
natively and 2.x (v1 compatibility endpoints with a DBRP mapping) and 3.x (v1 API) serve too, so
one small implementation reaches all three. The ``influxdb`` 5.3.2 client speaks it but its
repository is archived (no maintainers since 2022); ``influxdb-client`` (2.x) and
``influxdb3-python`` need newer servers (InfluxDB 1.6 answers 404 on ``/api/v2``). So edgekit uses
``requests`` (well kept, already installed with edgekit's dependencies) for HTTP and does the two
small things a client library would add itself: escaping (line protocol, InfluxQL) and exact
time conversion (:mod:`.protocol`). docs/influxdb.md has the schema of what edgekit writes.

Credentials come only from the environment, never from configs, command lines, logs or errors:

- ``EDGEKIT_INFLUX_TOKEN``: sent as ``Authorization: Token <token>`` (2.x v1 API, 3.x);
- ``EDGEKIT_INFLUX_USER`` with ``EDGEKIT_INFLUX_PASSWORD``, or the password read from the file named
  by ``EDGEKIT_INFLUX_PASSWORD_FILE`` (trailing newline dropped): HTTP basic auth (1.x, 2.x v1).

A URL holding credentials (``http://user:pass@host``) is refused. Every error is one
:class:`~edgekit.core.errors.EdgekitError` line naming the server as ``scheme://host:port`` only.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

import requests

from edgekit.core.errors import EdgekitError
from edgekit.data.influx.protocol import _check_text, ql_ident

BATCH_POINTS = 5000  # points per /write request
RETRIES = 4  # attempts after the first, on connection errors and 5xx answers
BACKOFF_S = 0.25  # first retry delay; doubles each attempt (0.25, 0.5, 1, 2 s)
TIMEOUT_S = 30.0

ENV_USER = "EDGEKIT_INFLUX_USER"
ENV_PASSWORD = "EDGEKIT_INFLUX_PASSWORD"
ENV_PASSWORD_FILE = "EDGEKIT_INFLUX_PASSWORD_FILE"
ENV_TOKEN = "EDGEKIT_INFLUX_TOKEN"


class InfluxError(EdgekitError):
    """The server refused, failed or could not be reached (one line, no credentials)."""


# ---------------------------------------------------------------------------------------------
# client


def display_url(url: str) -> str:
    """``scheme://host:port[/path]`` of a URL: what errors and reports show."""
    p = urlsplit(url)
    host = p.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{p.port}" if p.port else ""
    return f"{p.scheme}://{host}{port}{p.path.rstrip('/')}"


def check_url(url: str, where: str = "--influx") -> str:
    """Validate an InfluxDB base URL; returns it without a trailing slash."""
    if not isinstance(url, str) or not url.strip():
        raise EdgekitError(f"{where}: an InfluxDB URL is required, e.g. http://localhost:8086")
    try:
        p = urlsplit(url.strip())
        _ = p.port
    except ValueError:
        raise EdgekitError(f"{where}: not a valid URL (bad port?)") from None
    if p.scheme not in ("http", "https") or not p.hostname:
        raise EdgekitError(f"{where}: expected http(s)://HOST[:PORT], e.g. http://localhost:8086")
    if p.username is not None or p.password is not None:
        raise EdgekitError(f"{where}: the URL must not hold credentials; set {ENV_USER} and "
                           f"{ENV_PASSWORD} (or {ENV_PASSWORD_FILE}, or {ENV_TOKEN}) instead")
    if p.query or p.fragment:
        raise EdgekitError(f"{where}: the URL must not have a query or fragment")
    return url.strip().rstrip("/")


def credentials_from_env() -> tuple[dict, tuple | None, list[str]]:
    """(headers, basic auth tuple or None, secrets to keep out of messages)."""
    token = os.environ.get(ENV_TOKEN)
    user = os.environ.get(ENV_USER)
    password = os.environ.get(ENV_PASSWORD)
    pfile = os.environ.get(ENV_PASSWORD_FILE)
    if password is None and pfile:
        try:
            with open(pfile, encoding="utf-8") as fh:
                password = fh.read().rstrip("\r\n")
        except (OSError, UnicodeDecodeError):
            raise EdgekitError(f"{ENV_PASSWORD_FILE}: cannot read the password file it names") from None
    if token:
        return {"Authorization": f"Token {token}"}, None, [token]
    if user or password:
        if not (user and password):
            raise EdgekitError(f"set both {ENV_USER} and {ENV_PASSWORD} (or {ENV_PASSWORD_FILE})")
        return {}, (user, password), [password]
    return {}, None, []


class InfluxClient:
    """A database on an InfluxDB server, reached through the 1.x HTTP API.

    ``write`` sends line-protocol lines with nanosecond timestamps; ``query`` runs InfluxQL and
    returns the series of each statement. Connection errors and 5xx answers are retried
    ``retries`` times with exponential backoff; everything else fails at once with one line.
    """

    def __init__(self, url: str, database: str, *, retries: int | None = None, backoff_s: float | None = None,
                 timeout_s: float | None = None) -> None:
        self.url = check_url(url)
        self.where = display_url(self.url)
        self.database = _check_text("database", database)
        self.retries = RETRIES if retries is None else retries
        self.backoff_s = BACKOFF_S if backoff_s is None else backoff_s
        self.timeout_s = TIMEOUT_S if timeout_s is None else timeout_s
        headers, auth, self._secrets = credentials_from_env()
        self._session = requests.Session()
        self._session.headers.update(headers)
        self._session.auth = auth
        self._session.trust_env = False  # no proxy / netrc credentials picked up behind the user's back
        self.points_written = 0

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> InfluxClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- errors -------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        for s in self._secrets:
            if s:
                text = text.replace(s, "***")
        return " ".join(text.split())[:300]

    def _fail(self, message: str) -> InfluxError:
        return InfluxError(self._scrub(f"InfluxDB at {self.where}: {message}"))

    def _server_error(self, resp) -> str:
        try:
            err = resp.json().get("error")
        except ValueError:
            err = None
        return str(err) if err else (resp.text.strip() or resp.reason or "")

    def _check(self, resp, what: str) -> None:
        code = resp.status_code
        if code in (401, 403):
            raise self._fail(f"{what}: authentication failed (HTTP {code}); check {ENV_USER}/"
                             f"{ENV_PASSWORD} or {ENV_TOKEN}")
        msg = self._server_error(resp)
        if code == 404 and "database not found" in msg:
            raise self._fail(f"database {self.database!r} not found (create it, or check --database)")
        if code == 404:
            raise self._fail(f"{what}: HTTP 404 (not an InfluxDB 1.x API endpoint? for 2.x use the v1 "
                             f"compatibility API with a DBRP mapping)")
        raise self._fail(f"{what}: HTTP {code}: {msg}")

    # -- HTTP with retries --------------------------------------------------------------------

    def _request(self, method: str, path: str, what: str, **kw):
        delay = self.backoff_s
        last = ""
        for attempt in range(self.retries + 1):
            try:
                resp = self._session.request(method, self.url + path, timeout=self.timeout_s, **kw)
            except requests.RequestException as exc:
                last = f"cannot connect ({type(exc).__name__})"
                resp = None
            if resp is not None:
                if resp.status_code < 500:
                    return resp
                last = f"HTTP {resp.status_code}: {self._server_error(resp)}"
            if attempt < self.retries:
                time.sleep(delay)
                delay *= 2
        raise _Unavailable(last, self.retries + 1)

    def ping(self) -> None:
        """Check the server answers ``/ping`` (one line on failure)."""
        try:
            resp = self._request("GET", "/ping", "ping")
        except _Unavailable as exc:
            raise self._fail(f"{exc.reason} after {exc.attempts} attempts") from None
        if resp.status_code not in (200, 204):
            self._check(resp, "ping")

    def write(self, lines: list[str]) -> None:
        """POST one batch of line-protocol lines (ns precision). Counts ``points_written``."""
        if not lines:
            return
        body = ("\n".join(lines) + "\n").encode("utf-8")
        try:
            resp = self._request("POST", "/write", "write", params={"db": self.database, "precision": "ns"},
                                 data=body, headers={"Content-Type": "text/plain; charset=utf-8"})
        except _Unavailable as exc:
            raise self._fail(f"{exc.reason} after {exc.attempts} attempts; {self.points_written} points "
                             f"were written before the failure, the rest were not (run the push again: "
                             f"points are keyed by time and tags, so nothing is duplicated)") from None
        if resp.status_code != 204:
            if resp.status_code == 200:
                raise self._fail(f"write: unexpected HTTP 200 answer (not an InfluxDB server?); "
                                 f"{self.points_written} points were written before")
            try:
                self._check(resp, "write")
            except InfluxError as exc:
                raise InfluxError(f"{exc}; {self.points_written} points were written before") from None
        self.points_written += len(lines)

    def write_batched(self, lines: Iterable[str], batch: int | None = None, progress=None) -> int:
        """Write lines from an iterator in batches of ``batch`` (default ``BATCH_POINTS``); returns
        the number written."""
        batch = batch or BATCH_POINTS
        buf: list[str] = []
        n0 = self.points_written
        for line in lines:
            buf.append(line)
            if len(buf) >= batch:
                self.write(buf)
                if progress is not None:
                    progress(len(buf))
                buf = []
        if buf:
            self.write(buf)
            if progress is not None:
                progress(len(buf))
        return self.points_written - n0

    def query(self, q: str, *, post: bool = False) -> list[dict]:
        """Run InfluxQL; returns the series of the (last) statement: dicts with ``name``,
        ``tags`` (dict), ``columns`` and ``values`` (times as integer ns). Chunked answers are
        merged. ``post`` for statements that change the database (CREATE, DROP)."""
        params = {"db": self.database, "q": q, "epoch": "ns", "chunked": "true", "chunk_size": "10000"}
        try:
            resp = self._request("POST" if post else "GET", "/query", "query",
                                 **({"data": params} if post else {"params": params}), stream=True)
        except _Unavailable as exc:
            raise self._fail(f"query: {exc.reason} after {exc.attempts} attempts") from None
        try:
            if resp.status_code != 200:
                self._check(resp, "query")
            return self._parse(resp)
        finally:
            resp.close()

    def _parse(self, resp) -> list[dict]:
        merged: dict[tuple, dict] = {}
        n = 0
        try:
            for raw in resp.iter_lines():
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw)
                except ValueError:
                    raise self._fail("query: the answer is not InfluxDB JSON (is this an InfluxDB server?)") \
                        from None
                if not isinstance(obj, dict) or not isinstance(obj.get("results", None), list):
                    if isinstance(obj, dict) and obj.get("error"):
                        raise self._fail(f"query: {obj['error']}")
                    raise self._fail("query: the answer is not InfluxDB JSON (no 'results')")
                n += 1
                for res in obj["results"]:
                    if not isinstance(res, dict):
                        raise self._fail("query: malformed 'results' in the answer")
                    if res.get("error"):
                        err = str(res["error"])
                        if "database not found" in err:
                            raise self._fail(f"database {self.database!r} not found (create it, or check "
                                             f"--database)")
                        raise self._fail(f"query: {err}")
                    for s in res.get("series", []) or []:
                        key = (s.get("name"), tuple(sorted((s.get("tags") or {}).items())))
                        if key in merged:
                            merged[key]["values"].extend(s.get("values") or [])
                        else:
                            merged[key] = {"name": s.get("name"), "tags": dict(s.get("tags") or {}),
                                           "columns": list(s.get("columns") or []),
                                           "values": list(s.get("values") or [])}
        except requests.RequestException as exc:
            raise self._fail(f"query: the answer broke off ({type(exc).__name__})") from None
        if n == 0:
            raise self._fail("query: empty answer (is this an InfluxDB server?)")
        return list(merged.values())

    def check_database(self) -> None:
        """One line if the database does not exist (before a write starts)."""
        names = [v[0] for s in self.query("SHOW DATABASES") for v in s["values"]]
        if self.database not in names:
            raise self._fail(f"database {self.database!r} not found (create it, or check --database)")

    def create_database(self) -> None:
        self.query(f"CREATE DATABASE {ql_ident(self.database)}", post=True)


class _Unavailable(Exception):
    def __init__(self, reason: str, attempts: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts


def series_columns(series: dict, *names: str) -> Iterator[list]:
    """The named columns of a query series, as lists (``time`` included when asked)."""
    cols = series["columns"]
    idx = [cols.index(n) for n in names]
    vals = series["values"]
    for i in idx:
        yield [row[i] for row in vals]
