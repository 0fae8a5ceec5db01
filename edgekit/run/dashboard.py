"""``edgekit dashboard``: a provisioning-ready Grafana dashboard of hourly RMSSD and fatigue zones.

Built with grafana-foundation-sdk (Apache-2.0, Grafana Labs' typed builders; its output validates
against Grafana's published dashboard JSON schema, which grafanalib's does not). The SDK has no
InfluxDB query builder in the pinned release, so the InfluxQL targets are a tiny
:class:`~grafana_foundation_sdk.cog.variants.Dataquery` here (the schema leaves targets to the
datasource plugin).

``DIR`` gets::
    dashboards/edgekit-fatigue.json          the dashboard (schema v1, Grafana 10-11 provisioning)
    dashboards/edgekit.yaml                  dashboard provider (points Grafana at dashboards/)
    datasources/edgekit-influxdb.yaml        the InfluxDB datasource (InfluxQL); URL, database and
                                             credentials as $ENV references, never values
    .edgekit-dashboard                       marks the directory as edgekit's (safe to replace)

Zones (DESIGN.md): red below 40, yellow 40-69, green 70-100.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
import hashlib

from grafana_foundation_sdk.builders import common as cb, dashboard as db, stat, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder, variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as cm, dashboard as dm

from edgekit.core.errors import EdgekitError
from edgekit.core.zones import GREEN_MIN, YELLOW_MIN

MARKER = ".edgekit-dashboard"
DASHBOARD_UID = "edgekit-fatigue"


def datasource_uid(name: str) -> str:
    """A Grafana uid (<= 40 chars of [A-Za-z0-9_-]) derived from the datasource name."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:28] or "influxdb"

    return f"{slug}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def _influxql_target(ref_id: str, query: str, ds):
    class InfluxQLQuery(cogvariants.Dataquery):
        def to_json(self) -> dict[str, object]:
            return {"refId": ref_id, "datasource": ds.to_json(), "query": query, "rawQuery": True,
                    "resultFormat": "time_series", "alias": "$tag_subject"}

        @classmethod
        def from_json(cls, data):  # pragma: no cover - not read back
            raise NotImplementedError

    class Target(cogbuilder.Builder[cogvariants.Dataquery]):
        def build(self):
            return InfluxQLQuery()

    return Target()


def build_dashboard(datasource: str) -> dict:
    """The dashboard as a JSON-ready dict."""
    ds = dm.DataSourceRef(type_val="influxdb", uid=datasource_uid(datasource))

    def zones():
        return (db.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps([
            dm.Threshold(value=None, color="red"),
            dm.Threshold(value=YELLOW_MIN, color="yellow"),
            dm.Threshold(value=GREEN_MIN, color="green"),
        ]))

    by_thresholds = db.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS)
    subj = '"subject" =~ /^$subject$/'
    rmssd_q = f'SELECT mean("rmssd") FROM "hrv" WHERE {subj} AND $timeFilter GROUP BY time(1h), "subject" fill(null)'
    score_q = (f'SELECT last("score") FROM "fatigue_forecast" WHERE {subj} AND $timeFilter '
               f'GROUP BY time(1h), "subject" fill(none)')
    latest_q = f'SELECT last("score") FROM "fatigue_forecast" WHERE {subj} GROUP BY "subject"'
    d = (
        db.Dashboard("edgekit: HRV and fatigue zones")
        .uid(DASHBOARD_UID)
        .description("Hourly RMSSD (ms) pushed by 'edgekit data push' and the fatigue score (0-100, next 24 h) "
                     "written by 'edgekit forecast'; zones red < 40, yellow 40-69, green >= 70.")
        .tags(["edgekit", "hrv"])
        .time("now-7d", "now")
        .refresh("5m")
        .timezone("browser")
        .with_variable(
            db.QueryVariable("subject").label("Subject").datasource(ds)
            .query('SHOW TAG VALUES FROM "hrv" WITH KEY = "subject"')
            .multi(True).include_all(True).refresh(dm.VariableRefresh.ON_DASHBOARD_LOAD))
        .with_panel(
            stat.Panel().title("Latest fatigue score").datasource(ds).height(6).span(24)
            .with_target(_influxql_target("A", latest_q, ds))
            .min(0).max(100).decimals(0).thresholds(zones()).color_scheme(by_thresholds)
            .color_mode(cm.BigValueColorMode.BACKGROUND)
            .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"])))
        .with_panel(
            timeseries.Panel().title("Fatigue forecast (0-100, next 24 h)").datasource(ds).height(9).span(24)
            .with_target(_influxql_target("A", score_q, ds))
            .min(0).max(100).unit("none").thresholds(zones()).color_scheme(by_thresholds)
            .thresholds_style(cb.GraphThresholdsStyleConfig().mode(cm.GraphThresholdsStyleMode.AREA))
            .show_points(cm.VisibilityMode.ALWAYS))
        .with_panel(
            timeseries.Panel().title("Hourly RMSSD").datasource(ds).height(9).span(24)
            .with_target(_influxql_target("A", rmssd_q, ds))
            .unit("ms").min(0).span_nulls(False))
    )
    return json.loads(json.dumps(d.build(), cls=JSONEncoder))


def datasource_yaml(name: str, url: str | None, database: str | None) -> str:
    """Grafana datasource provisioning (InfluxQL). Values not given are $ENV references that
    Grafana expands at start-up; credentials are always references."""
    def q(s: str) -> str:
        return json.dumps(s, ensure_ascii=False)  # a JSON string is a valid YAML scalar

    return "\n".join([
        "# Grafana datasource provisioning written by 'edgekit dashboard' (docs/influxdb.md).",
        "# Credentials are environment references expanded by Grafana; never put values here.",
        "# InfluxDB 2.x/3.x (v1 API): drop user/password and set jsonData.httpHeaderName1: Authorization,",
        "# secureJsonData.httpHeaderValue1: \"Token $EDGEKIT_INFLUX_TOKEN\".",
        "apiVersion: 1",
        "datasources:",
        f"  - name: {q(name)}",
        f"    uid: {q(datasource_uid(name))}",
        "    type: influxdb",
        "    access: proxy",
        f"    url: {q(url or '$EDGEKIT_INFLUX_URL')}",
        "    user: $EDGEKIT_INFLUX_USER",
        "    jsonData:",
        f"      dbName: {q(database or '$EDGEKIT_INFLUX_DATABASE')}",
        "      httpMode: GET",
        "    secureJsonData:",
        "      password: $EDGEKIT_INFLUX_PASSWORD",
        "    editable: false",
        "",
    ])


PROVIDER_YAML = """\
# Grafana dashboard provider written by 'edgekit dashboard': set `path` to where this directory's
# dashboards/ folder is mounted in the Grafana container or host.
apiVersion: 1
providers:
  - name: edgekit
    type: file
    disableDeletion: false
    allowUiUpdates: false
    options:
      path: {path}
      foldersFromFilesStructure: false
"""


def _check_out(out: Path) -> None:
    if str(out).strip() in ("", ".", "/") or out.resolve() in (Path.home().resolve(), Path("/").resolve(),
                                                              Path.cwd().resolve()):
        raise EdgekitError(f"--out {str(out)!r}: give a new directory for the dashboard files")
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise EdgekitError(f"{out}: exists and is not a directory; give a new directory")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise EdgekitError(f"{out}: directory is not empty and was not made by 'edgekit dashboard'; refusing to "
                           f"write into it (give a new or empty directory)")


def write(out: Path, datasource: str, url: str | None = None, database: str | None = None,
          dashboards_path: str = "/var/lib/grafana/dashboards/edgekit") -> list[Path]:
    """Write the provisioning files into ``out`` (new, empty or edgekit's own); all or nothing."""
    if not datasource.strip() or any(ord(c) < 32 for c in datasource):
        raise EdgekitError("--influx-datasource must be a non-empty name without control characters")
    out = Path(out)
    _check_out(out)
    dash = build_dashboard(datasource)
    parent = out.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    except OSError as exc:
        raise EdgekitError(f"{out}: cannot create ({exc.strerror})") from None
    try:
        (tmp / "dashboards").mkdir()
        (tmp / "datasources").mkdir()
        (tmp / "dashboards" / "edgekit-fatigue.json").write_text(json.dumps(dash, indent=2, sort_keys=True) + "\n",
                                                                 encoding="utf-8")
        (tmp / "dashboards" / "edgekit.yaml").write_text(PROVIDER_YAML.format(path=json.dumps(dashboards_path)),
                                                         encoding="utf-8")
        (tmp / "datasources" / "edgekit-influxdb.yaml").write_text(datasource_yaml(datasource, url, database),
                                                                  encoding="utf-8")
        (tmp / MARKER).write_text("written by edgekit dashboard; edgekit may replace this directory\n")
        os.chmod(tmp, 0o755)
        if out.is_dir():
            _check_out(out)  # still empty or ours
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=parent))
            os.rmdir(old)
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except OSError as exc:
        raise EdgekitError(f"{out}: cannot write ({exc.strerror})") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return sorted(p for p in out.rglob("*") if p.is_file())
