"""Distributed tracing for real: the blog's services export to a real Jaeger
(the release and configuration the tracing role deploys), requests go through
the real gateway, and the traces are read back from Jaeger's query API.

One request is one trace: the gateway's server span continues the caller's
traceparent, its upstream client span is the parent of the service's server
span, and the service's database and Redis calls are spans below that. The
trace id the services log is the exported one (what Loki's link follows), and a
5xx carries the error flag.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest

from tests.support.blog_stack import PASSWORD, SERVICE_NAMES, Stack, blog_stack, new_user
from tests.support.jaeger_server import Jaeger, running_jaeger
from tests.support.monitoring import render_monitoring, scrape_config
from tests.support.prometheus_server import Prometheus, running_prometheus
from tests.support.role_templates import values
from tests.support.traces import Trace, assert_hop, has, traceparent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def traced(tmp_path_factory) -> Iterator[tuple[Jaeger, Stack, Prometheus]]:
    """Jaeger, the blog exporting to it, and Prometheus scraping the blog as the
    rendered ServiceMonitor does, with the features the monitoring role turns on
    (exemplar storage)."""
    work = tmp_path_factory.mktemp("tracing")
    features = values("monitoring", "kube-prometheus-stack-values.yaml.j2", "local")["prometheus"][
        "prometheusSpec"
    ]["enableFeatures"]
    with (
        running_jaeger(work) as jaeger,
        blog_stack(work, service_env=jaeger.otel_env()) as stack,
    ):
        ports = {SERVICE_NAMES[name]: port for name, port in stack.metrics_ports.items()}
        with running_prometheus(
            work,
            scrape_configs=[scrape_config(render_monitoring("local", work), ports)],
            flags=[f"--enable-feature={feature}" for feature in features],
        ) as prometheus:
            yield jaeger, stack, prometheus


def database_and_redis(trace: Trace, service: str) -> tuple[list[dict], list[dict]]:
    server = trace.one(service, "server")
    calls = [s for s in trace.find(service, "client") if trace.under(s, server)]
    sql = [s for s in calls if Trace.tags(s).get("db.system") == "postgresql"]
    redis = [s for s in calls if Trace.tags(s).get("db.system") == "redis"]
    return sql, redis


def test_a_login_is_one_trace_from_the_callers_context_down_to_the_database(traced):
    jaeger, stack, _ = traced
    client, user = new_user(stack)
    trace_id, caller_span, header = traceparent()
    answer = client.post(
        "/api/auth/login",
        json={"username": user["username"], "password": PASSWORD},
        headers={"traceparent": header},
    )
    assert answer.status_code == 200, answer.text

    trace = Trace(
        jaeger.wait_for_trace(
            trace_id,
            has(
                ("api-gateway", "server"),
                ("auth-service", "server"),
                ("user-service", "server"),
            ),
        )
    )
    assert {span["traceID"] for span in trace.spans} == {trace_id}
    # The caller's context is honoured: the gateway's span is the caller's child.
    gateway = trace.one("api-gateway", "server")
    assert Trace.parent_id(gateway) == caller_span
    assert Trace.tags(gateway)["http.route"] == "/api/auth/{rest:path}"
    assert_hop(trace, "api-gateway", "auth-service")
    assert_hop(trace, "auth-service", "user-service")
    # The gateway counts the login against its limits in Redis; user-service reads
    # the account from PostgreSQL.
    assert database_and_redis(trace, "api-gateway")[1], trace.summary()
    sql, _ = database_and_redis(trace, "user-service")
    assert any(Trace.tags(s).get("db.statement", "").startswith("SELECT") for s in sql), (
        trace.summary()
    )
    assert not any(Trace.tags(s).get("error") for s in trace.spans)


def test_a_post_read_is_traced_from_the_gateway_and_its_log_line_names_the_trace(traced):
    jaeger, stack, _ = traced
    client, _ = new_user(stack)
    created = client.post(
        "/api/posts", json={"title": "Traced", "body": "Followed *end to end*", "category": "ops"}
    )
    assert created.status_code == 201, created.text
    # No traceparent: the gateway starts the trace itself.
    read = stack.client().get(f"/api/posts/{created.json()['id']}")
    assert read.status_code == 200, read.text

    request_id = read.headers["x-request-id"]
    # The access line is written after the answer is sent: on a loaded machine
    # the client can read the log before the gateway has written it.
    deadline = time.monotonic() + 10
    while True:
        lines = [json.loads(line) for line in stack.services["gateway"].logs().splitlines()]
        found = [entry for entry in lines if entry.get("request_id") == request_id]
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    (line,) = found
    trace = Trace(
        jaeger.wait_for_trace(
            line["trace_id"], has(("api-gateway", "server"), ("blog-service", "server"))
        )
    )
    assert Trace.parent_id(trace.one("api-gateway", "server")) is None
    server = assert_hop(trace, "api-gateway", "blog-service")
    assert Trace.tags(server)["http.status_code"] == 200
    sql, redis = database_and_redis(trace, "blog-service")
    assert sql or redis, f"blog-service answered with no database or Redis span: {trace.summary()}"
    # blog-service logs the same trace id for the same request.
    blog_lines = [json.loads(x) for x in stack.services["blog"].logs().splitlines()]
    assert any(
        entry.get("request_id") == request_id and entry.get("trace_id") == line["trace_id"]
        for entry in blog_lines
    )


def exemplars(prometheus: Prometheus, promql: str) -> list[dict]:
    now = time.time()
    query = urllib.parse.urlencode({"query": promql, "start": now - 300, "end": now})
    url = f"{prometheus.url}/api/v1/query_exemplars?{query}"
    with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310  http only
        return [e for series in json.load(answer)["data"] for e in series["exemplars"]]


def test_a_latency_exemplar_leads_to_its_trace(traced):
    """What a Grafana latency panel shows: Prometheus keeps a sampled request's
    trace_id beside its latency bucket, and Jaeger holds that trace."""
    jaeger, stack, prometheus = traced
    client = stack.client()
    deadline = time.monotonic() + 30
    while not (
        found := exemplars(
            prometheus, 'http_request_duration_seconds_bucket{service="api-gateway"}'
        )
    ):
        assert time.monotonic() < deadline, "no exemplar for api-gateway's latency in 30 s"
        assert client.get("/api/posts").status_code == 200
        time.sleep(1)
    trace_id = found[-1]["labels"]["trace_id"]
    trace = Trace(jaeger.wait_for_trace(trace_id, has(("api-gateway", "server"))))
    assert trace.find("api-gateway", "server")


def test_a_5xx_carries_the_error_flag(traced):
    """Last in the module: blog-service is stopped, the gateway answers 502."""
    jaeger, stack, _ = traced
    stack.services["blog"].process.terminate()
    stack.services["blog"].process.wait(10)
    trace_id, _, header = traceparent()
    answer = stack.client().get("/api/posts", headers={"traceparent": header})
    assert answer.status_code == 502, answer.text

    # The client spans end, and may be exported, a batch before the server span.
    trace = Trace(
        jaeger.wait_for_trace(trace_id, has(("api-gateway", "server"), ("api-gateway", "client")))
    )
    gateway = trace.one("api-gateway", "server")
    assert Trace.tags(gateway)["http.status_code"] == 502
    assert Trace.tags(gateway).get("error") is True, Trace.tags(gateway)
    upstream = [s for s in trace.find("api-gateway", "client") if "redis" not in str(s["tags"])]
    assert upstream and all(Trace.tags(s).get("error") is True for s in upstream)
    assert not trace.find("blog-service", "server")
