"""The monitoring component (deploy/monitoring) holds together offline: its scrape targets
select every service's API and projector pods on a port they have, every alert and dashboard
query is PromQL that parses, asks only for series Jinguo exports, and names a runbook that
exists. tests/e2e/test_up_processes.py scrapes real processes for the same series."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser

from tests.deploy.test_manifests import DEPLOY, SERVICES, Doc, needs_kubectl, render

ROOT = DEPLOY.parent
METRICS_MODULE = ROOT / "shared" / "jinguo_shared" / "metrics.py"
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


def documented_series() -> set[str]:
    """The Prometheus series metrics.py's docstring names for what the processes export (a
    histogram, a `*_duration_seconds`, by its `_bucket`, `_count` and `_sum`)."""
    docstring = ast.get_docstring(ast.parse(METRICS_MODULE.read_text())) or ""
    names = set(re.findall(r"\[([a-z_]+)\]", docstring))
    histograms = {name for name in names if name.endswith("_duration_seconds")}
    return (names - histograms) | {n + end for n in histograms for end in HISTOGRAM_SUFFIXES}


def series_in(expr: str) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        name = getattr(node, "name", None)
        if isinstance(name, str) and type(node).__name__ == "VectorSelector":
            found.add(name)
        for attribute in ("lhs", "rhs", "expr", "param", "vector_selector"):
            child = getattr(node, attribute, None)
            if child is not None and not isinstance(child, str | int | float):
                walk(child)
        for child in getattr(node, "args", None) or []:
            walk(child)

    walk(promql_parser.parse(expr))
    return found


def production() -> list[Doc]:
    return render("overlays/production")


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind]


def alerts(docs: list[Doc]) -> Iterator[Doc]:
    for rule in of_kind(docs, "PrometheusRule"):
        for group in rule["spec"]["groups"]:
            yield from group["rules"]


def dashboard(docs: list[Doc]) -> Doc:
    [config_map] = [
        d for d in of_kind(docs, "ConfigMap") if d["metadata"]["name"] == "jinguo-dashboard"
    ]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    loaded: Doc = json.loads(config_map["data"]["jinguo.json"])
    return loaded


def queries(docs: list[Doc]) -> list[str]:
    return [r["expr"] for r in alerts(docs)] + [
        t["expr"] for panel in dashboard(docs)["panels"] for t in panel["targets"]
    ]


def anchors(markdown: Path) -> set[str]:
    """GitHub's anchors for the headings of a Markdown file."""
    found = set()
    for line in markdown.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


def matches(selector: Doc, labels: Doc) -> bool:
    return all(labels.get(k) == v for k, v in selector["matchLabels"].items())


@needs_kubectl
def test_every_api_service_and_projector_pod_is_scraped_on_a_port_it_has() -> None:
    docs = production()
    [service_monitor] = of_kind(docs, "ServiceMonitor")
    [pod_monitor] = of_kind(docs, "PodMonitor")
    [endpoint] = service_monitor["spec"]["endpoints"]
    [pod_endpoint] = pod_monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["honorLabels"]
    assert pod_endpoint["honorLabels"]
    scraped_services = [
        s
        for s in of_kind(docs, "Service")
        if matches(service_monitor["spec"]["selector"], s["metadata"]["labels"])
    ]
    assert sorted(s["metadata"]["name"] for s in scraped_services) == sorted(
        f"{s}-api" for s in SERVICES
    )
    for service in scraped_services:
        assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    projectors = [
        d
        for d in of_kind(docs, "Deployment")
        if matches(pod_monitor["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])
    ]
    assert sorted(d["metadata"]["name"] for d in projectors) == sorted(
        f"{s}-projector" for s in SERVICES
    )
    for projector in projectors:
        [container] = projector["spec"]["template"]["spec"]["containers"]
        assert pod_endpoint["port"] in {p["name"] for p in container["ports"]}


@needs_kubectl
def test_every_alert_parses_says_how_bad_and_names_a_runbook_that_exists() -> None:
    runbooks = anchors(DEPLOY / "README.md")
    found = list(alerts(production()))
    assert {a["alert"] for a in found} >= {
        "JinguoProjectionLagGrowing",
        "JinguoEventsParked",
        "JinguoHttp5xx",
        "JinguoHttpP99OverBudget",
        "JinguoProjectorLeaseLost",
        "JinguoNatsUnavailable",
    }
    for alert in found:
        promql_parser.parse(alert["expr"])
        assert alert["labels"]["severity"] in {"warning", "critical"}, alert["alert"]
        assert alert["annotations"]["summary"], alert["alert"]
        document, anchor = alert["annotations"]["runbook"].split("#")
        assert document == "deploy/README.md", alert["alert"]
        assert anchor in runbooks, alert["alert"]


@needs_kubectl
def test_the_dashboard_is_grafana_json_on_a_chosen_prometheus() -> None:
    board = dashboard(production())
    panels = board["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    assert [v["name"] for v in board["templating"]["list"]] == ["datasource"]
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}"
        for target in panel["targets"]:
            promql_parser.parse(target["expr"])


@needs_kubectl
def test_alerts_and_dashboard_ask_only_for_series_jinguo_exports() -> None:
    exported = documented_series()
    for query in queries(production()):
        assert series_in(query) <= exported, query


def test_a_query_for_a_series_nobody_exports_is_caught() -> None:
    assert series_in("sum(rate(jinguo_no_such_thing_total[5m])) / sum(jinguo_projection_lag)") == {
        "jinguo_no_such_thing_total",
        "jinguo_projection_lag",
    }
    assert "jinguo_no_such_thing_total" not in documented_series()
