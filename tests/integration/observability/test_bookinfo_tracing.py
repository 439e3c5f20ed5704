"""Bookinfo traced as the original demo showed it in Jaeger: its four services
run with the tracing variables the rendered Deployments give them (only the
trace store's address is this machine's), a page is requested, and the trace
read back from a real Jaeger holds the whole call graph, one hop under the
other, with reviews' version on its spans."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest

from tests.support.bookinfo import bookinfo_graph
from tests.support.jaeger_server import Jaeger, running_jaeger
from tests.support.traces import Trace, assert_hop, has, traceparent
from titanium_tools import inventory
from titanium_tools import validate as gitops_validate

pytestmark = pytest.mark.slow

ENV = "local"


def deployed_tracing_env(work) -> dict[str, dict[str, str]]:
    """Each Bookinfo Deployment's OTEL_* variables as the GitOps tree renders them."""
    namespace = inventory.load_values(ENV)["bookinfo"]["namespace"]
    found = {}
    for document in gitops_validate.built_environment(ENV, work):
        metadata = document["metadata"]
        if document["kind"] != "Deployment" or metadata.get("namespace") != namespace:
            continue
        (container,) = document["spec"]["template"]["spec"]["containers"]
        env = {item["name"]: item.get("value") for item in container.get("env", [])}
        if "BOOKINFO_SERVICE" in env:  # not the load generator
            found[metadata["name"]] = {k: v for k, v in env.items() if k.startswith("OTEL_")}
    return found


@pytest.fixture(scope="module")
def traced_bookinfo(tmp_path_factory) -> Iterator[tuple[Jaeger, dict]]:
    work = tmp_path_factory.mktemp("bookinfo-tracing")
    deployed = deployed_tracing_env(work / "tree")
    assert {"productpage", "details", "ratings", "reviews-v2"} <= deployed.keys()
    for workload, variables in deployed.items():
        assert "OTEL_EXPORTER_OTLP_ENDPOINT" in variables, f"{workload} exports no spans"
    with running_jaeger(work) as jaeger:

        def env(workload: str) -> dict[str, str]:
            # The rendered variables, pointed at this machine's Jaeger.
            return {**deployed[workload], **jaeger.otel_env()}

        with bookinfo_graph("v2", env=env) as graph:
            yield jaeger, graph


def test_a_product_page_is_one_trace_across_bookinfo(traced_bookinfo):
    jaeger, graph = traced_bookinfo
    trace_id, caller_span, header = traceparent()
    request = urllib.request.Request(  # noqa: S310  http only
        graph["productpage"].url + "/productpage", headers={"traceparent": header}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310  http only
        assert answer.status == 200
        assert "black" in answer.read().decode()  # reviews v2 with its ratings

    services = ("productpage", "details", "reviews", "ratings")
    trace = Trace(jaeger.wait_for_trace(trace_id, has(*((s, "server") for s in services))))
    assert {span["traceID"] for span in trace.spans} == {trace_id}
    assert Trace.parent_id(trace.one("productpage", "server")) == caller_span
    assert_hop(trace, "productpage", "details")
    reviews = assert_hop(trace, "productpage", "reviews")
    assert_hop(trace, "reviews", "ratings")
    process = trace.processes[reviews["processID"]]
    versions = {tag["key"]: tag["value"] for tag in process.get("tags", [])}
    assert versions.get("service.version") == "v2", process
    assert not any(Trace.tags(span).get("error") for span in trace.spans), trace.summary()
