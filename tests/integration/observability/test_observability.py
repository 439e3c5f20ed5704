"""Real Prometheus and Alertmanager over the running blog: every dashboard query
returns data, and the rendered alerts page when blog-service goes away.

One timeline for the module: traffic starts, the baseline is read (only the
429 trickle alerts), then blog-service is stopped while traffic goes on and
the gateway answers 502 for everything the blog serves.
"""

from __future__ import annotations

import json
import math
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.monitoring import NEEDS_A_CLUSTER, fill_grafana_variables, metric_names

pytestmark = pytest.mark.slow
RUNBOOKS = Path(__file__).resolve().parents[3] / "docs/runbooks"

STACK_SERVICES = {"api-gateway", "user-service", "auth-service", "blog-service"}
# Alerts about the blog's own services; the rest need cluster metrics (see
# NEEDS_A_CLUSTER). PostgreSQLDown and RedisDown fire here regardless: their
# `absent(kube_...)` branch treats a missing kube-state-metrics as down.
SERVICE_ALERTS = {"HighErrorRate", "HighLatency", "ServiceDown", "RateLimitHits"}


def active(prometheus, alertname: str) -> dict[str, str]:
    """{service: state} of one alert in Prometheus now (pending or firing)."""
    return {
        alert["labels"]["service"]: alert["state"]
        for alert in prometheus.alerts()
        if alert["labels"]["alertname"] == alertname
    }


def received(observed, alertname: str, service: str, timeout: float = 30) -> dict:
    return observed.webhook.wait_for(
        lambda a: (
            a["status"] == "firing"
            and a["labels"]["alertname"] == alertname
            and a["labels"].get("service") == service
        ),
        timeout,
    )


def assert_runbook_exists(observed, url: str) -> None:
    """The link a pager shows leads to a heading of a page in docs/runbooks."""
    base = observed.monitoring.values["runbook_base_url"]
    assert url.startswith(base + "/"), url
    page, _, anchor = url.removeprefix(base + "/").partition("#")
    text = (RUNBOOKS / page).read_text()
    headings = {line.lstrip("#").strip().lower() for line in text.splitlines() if line[:1] == "#"}
    assert anchor in headings, f"{url}: no such heading in docs/runbooks/{page}"


def assert_routed_as_rendered(observed, alert: dict) -> None:
    """The notification carries the rendered labels and annotations, filled in."""
    name = alert["labels"]["alertname"]
    (rule,) = [r for r in observed.monitoring.rules if r.get("alert") == name]
    assert alert["labels"]["namespace"] == observed.monitoring.values["namespace"]
    assert alert["labels"].items() >= rule["labels"].items()
    assert alert["annotations"]["runbook_url"] == rule["annotations"]["runbook_url"]
    assert_runbook_exists(observed, alert["annotations"]["runbook_url"])
    for key, text in alert["annotations"].items():
        assert "<no value>" not in text, f"{name} {key} names a label the series lacks: {text}"
    assert alert["labels"]["service"] in alert["annotations"]["summary"]
    # Alertmanager holds it too, not only the receiver's copy.
    with urllib.request.urlopen(f"{observed.alertmanager.url}/api/v2/alerts", timeout=5) as answer:  # noqa: S310  http only
        held = json.load(answer)
    assert any(a["labels"] == alert["labels"] and a["status"]["state"] == "active" for a in held)


@pytest.fixture(scope="module")
def baseline(observed) -> list[dict]:
    """Traffic seen for every service and the 429 trickle alerting; Prometheus's
    alerts at that moment."""
    ns = observed.monitoring.values["namespace"]
    deadline = time.monotonic() + 60
    while True:
        assert observed.traffic.error is None, observed.traffic.error
        rates = observed.prometheus.query(
            f'sum by (service) (rate(http_requests_total{{namespace="{ns}"}}[1m])) > 0'
        )
        if {r["metric"]["service"] for r in rates} == STACK_SERVICES:
            break
        assert time.monotonic() < deadline, f"traffic not seen for every service: {rates}"
        time.sleep(0.5)
    received(observed, "RateLimitHits", "api-gateway")
    return observed.prometheus.alerts()


@pytest.fixture(scope="module")
def blog_stopped(baseline, observed) -> None:
    blog = observed.stack.services["blog"].process
    blog.terminate()
    blog.wait(10)
    observed.prometheus.wait_for(
        'rate(http_requests_total{service="api-gateway", status="502"}[1m]) > 0'
    )


def test_rate_limit_trickle_pages_and_nothing_else_does(baseline, observed):
    assert_routed_as_rendered(observed, received(observed, "RateLimitHits", "api-gateway"))
    before = {a["labels"]["alertname"] for a in baseline} & SERVICE_ALERTS
    assert before <= {"RateLimitHits", "HighLatency"}, before
    assert not observed.webhook.received(
        lambda a: a["labels"]["alertname"] in {"HighErrorRate", "ServiceDown"}
    )


def test_stopped_blog_service_pages_high_error_rate_and_service_down(blog_stopped, observed):
    errors = received(observed, "HighErrorRate", "api-gateway")
    assert errors["labels"]["severity"] == "critical"
    assert_routed_as_rendered(observed, errors)
    down = received(observed, "ServiceDown", "blog-service")
    assert down["labels"]["pod"] == "blog-service-e2e" and down["labels"]["job"] == "blog-service"
    assert_routed_as_rendered(observed, down)


def test_healthy_services_stay_silent(blog_stopped, observed):
    received(observed, "ServiceDown", "blog-service")
    received(observed, "HighErrorRate", "api-gateway")
    assert active(observed.prometheus, "ServiceDown") == {"blog-service": "firing"}
    assert set(active(observed.prometheus, "HighErrorRate")) == {"api-gateway"}
    for service in STACK_SERVICES - {"blog-service"}:
        assert not observed.webhook.received(
            lambda a, s=service: (
                a["labels"]["alertname"] == "ServiceDown" and a["labels"].get("service") == s
            )
        )
    for service in STACK_SERVICES - {"api-gateway"}:
        assert not observed.webhook.received(
            lambda a, s=service: (
                a["labels"]["alertname"] == "HighErrorRate" and a["labels"].get("service") == s
            )
        )


def test_every_metric_is_scraped_here_or_needs_a_cluster(blog_stopped, observed):
    scraped = observed.prometheus.metric_names()
    named = {
        name: where
        for where, expr in observed.monitoring.queries
        + [(f"alert {r['alert']}", r["expr"]) for r in observed.monitoring.rules]
        for name in metric_names(fill_grafana_variables(expr))
    }
    unknown = {
        name: where for name, where in named.items() if name not in scraped | NEEDS_A_CLUSTER.keys()
    }
    assert not unknown, f"metrics neither scraped from the services nor cluster-only: {unknown}"
    assert not NEEDS_A_CLUSTER.keys() - named.keys(), "NEEDS_A_CLUSTER lists unused metrics"
    assert not NEEDS_A_CLUSTER.keys() & scraped, "a cluster-only metric is scraped here after all"


def test_every_dashboard_query_returns_data(blog_stopped, observed):
    # After the error scenario on purpose: the 5xx panel is rightly empty until
    # something has failed.
    scraped = observed.prometheus.metric_names()
    empty, queried, cluster_only = [], 0, []
    for where, expr in observed.monitoring.queries:
        promql = fill_grafana_variables(expr)
        names = metric_names(promql)
        if names & NEEDS_A_CLUSTER.keys():
            cluster_only.append(where)
            continue
        assert names <= scraped, f"{where}: {names - scraped} never scraped: {expr}"
        queried += 1
        values = [float(r["value"][1]) for r in observed.prometheus.query(promql)]
        if not any(math.isfinite(v) for v in values):
            empty.append(f"{where}: {expr} -> {values}")
    assert not empty, "dashboard queries without data:\n" + "\n".join(empty)
    golden = [w for w, _ in observed.monitoring.queries if "golden-signals" in w]
    assert queried >= len(golden) - 2, "only CPU and memory saturation may need a cluster"
