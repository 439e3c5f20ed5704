"""verify reaches Prometheus and the ingress where they have no NodePort: through the
real kube-apiserver's service proxy (/api/v1/namespaces/<ns>/services/<name>:<port>/proxy/),
with the kubeconfig's client certificate.

The simulated cluster runs no pods, so each Service's endpoint is a process of this
test on this machine's own non-loopback address (the API server refuses to proxy to a
loopback one): a selectorless Service, a Pod on a node kwok does not manage whose
status carries that address (the proxy only follows endpoints that name a Pod with
that IP), and Endpoints pointing at it. The API server then dials the real process,
as it dials a pod in a cluster."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from tests.support.ansible_run import run_module, run_on_localhost
from tests.support.prometheus_server import running_prometheus
from tests.support.recording_server import Server, serve

NAMESPACE = "verify-proxy"
NODE = "verify-proxy-outside"


def own_address() -> str:
    """This machine's address on its default route (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("198.51.100.1", 9))
        address = probe.getsockname()[0]
    assert not address.startswith("127."), f"no non-loopback address here: {address}"
    return address


class Requests(Collector):
    """blog-service served 10 requests a second since it started."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def collect(self):
        counter = CounterMetricFamily(
            "http_requests_total", "requests", labels=["service", "method", "route", "status"]
        )
        counter.add_metric(
            ["blog-service", "GET", "/x", "200"], 10 * (time.monotonic() - self.started)
        )
        yield counter


def ok(cluster, method: str, path: str, body: dict) -> dict:
    for _ in range(40):
        status, answer = cluster.api(method, path, body)
        if status in (200, 201):
            return answer
        # A new namespace's default ServiceAccount comes a moment later.
        time.sleep(0.25)
    raise AssertionError(f"{method} {path}: {status} {answer}")


def expose(cluster, name: str, address: str, port: int, service_port: dict) -> None:
    """A Service whose one endpoint is address:port, the way the API server accepts it."""
    ports = [{**service_port, "targetPort": port}]
    ok(cluster, "POST", f"/api/v1/namespaces/{NAMESPACE}/services",
       {"metadata": {"name": name}, "spec": {"ports": ports}})  # fmt: skip
    pod = ok(cluster, "POST", f"/api/v1/namespaces/{NAMESPACE}/pods", {
        "metadata": {"name": name},
        "spec": {"nodeName": NODE, "automountServiceAccountToken": False,
                 "containers": [{"name": name, "image": "unused"}]},
    })  # fmt: skip
    status = {"phase": "Running", "podIP": address, "podIPs": [{"ip": address}]}
    pod["status"] = {**pod.get("status", {}), **status}
    ok(cluster, "PUT", f"/api/v1/namespaces/{NAMESPACE}/pods/{name}/status", pod)
    ok(cluster, "POST", f"/api/v1/namespaces/{NAMESPACE}/endpoints", {
        "metadata": {"name": name},
        "subsets": [{
            "addresses": [{"ip": address,
                           "targetRef": {"kind": "Pod", "name": name, "namespace": NAMESPACE}}],
            "ports": [{"name": service_port["name"], "port": port}],
        }],
    })  # fmt: skip


@pytest.fixture(scope="module")
def cluster(sim_cluster):
    sim_cluster.add_node(NODE, managed=False)
    ok(sim_cluster, "POST", "/api/v1/namespaces", {"metadata": {"name": NAMESPACE}})
    yield sim_cluster
    sim_cluster.api("DELETE", f"/api/v1/namespaces/{NAMESPACE}")
    sim_cluster.api("DELETE", f"/api/v1/nodes/{NODE}")


@pytest.fixture(scope="module")
def prometheus_service(cluster, tmp_path_factory) -> Iterator[str]:
    address = own_address()
    registry = CollectorRegistry()
    registry.register(Requests())
    metrics_server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    target = f"127.0.0.1:{metrics_server.server_address[1]}"
    try:
        with running_prometheus(
            tmp_path_factory.mktemp("prometheus"), [target], address=address
        ) as prometheus:
            prometheus.wait_for("rate(http_requests_total[5s]) > 0")
            port = int(prometheus.url.rsplit(":", 1)[1])
            expose(cluster, "prometheus", address, port, {"name": "http-web", "port": 9090})
            yield f"{NAMESPACE}/prometheus:9090"
    finally:
        metrics_server.shutdown()
        thread.join(timeout=5)


def test_golden_signals_through_the_api_server(cluster, prometheus_service):
    args = {
        "prometheus_service": prometheus_service,
        "kubeconfig": cluster.kubeconfig,
        "services": ["blog-service"],
        "window": "5s",
        "fail_on_missing": True,
    }
    rc, result = run_module("titanium.platform.prometheus_golden_signals", args)
    assert rc == 0, result
    # Read through the proxy: the series is there (its exact rate is another test's).
    assert result["signals"]["blog-service"]["requests_per_second"] > 0

    # A Service that is not there: the message says which, and how it was reached.
    gone = f"{NAMESPACE}/no-such-prometheus:9090"
    rc, result = run_module(
        "titanium.platform.prometheus_golden_signals", {**args, "prometheus_service": gone}
    )
    assert rc != 0, result
    assert f"{NAMESPACE}/no-such-prometheus:9090 through the Kubernetes API server" in result["msg"]
    assert "answered 404" in result["msg"]


@pytest.fixture(scope="module")
def ingress(cluster) -> Iterator[tuple[str, Server]]:
    httpd, server = serve(own_address())
    try:
        address, port = server.url.removeprefix("http://").split(":")
        expose(cluster, "ingress", address, int(port), {"name": "http2", "port": 80})
        yield f"{NAMESPACE}/ingress:http2", server
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_traffic_through_the_api_server(cluster, ingress):
    service, server = ingress
    server.seen.arrivals.clear()
    rc, result = run_module(
        "titanium.platform.http_traffic",
        {
            "service": service,
            "kubeconfig": cluster.kubeconfig,
            "host": "titanium.localhost",
            "paths": ["/blog/", "/health/ready"],
            "seconds": 1,
            "rate": 6,
        },
    )
    assert rc == 0, result
    assert result["target"] == f"{NAMESPACE}/ingress:http2 through the Kubernetes API server"
    assert result["statuses"] == {"200": 6}
    seen = sorted(server.seen.arrivals)
    assert [path for _, path, _ in seen] == ["/blog/", "/health/ready"] * 3
    # The Host header the ingress routes on survives the API server's proxy.
    assert {host for _, _, host in seen} == {"titanium.localhost"}


def test_verify_without_nodeports_reaches_both_through_the_api_server(
    cluster, prometheus_service, ingress, tmp_path
):
    """playbooks/verify.yml as production runs it (no NodePort URL for either), with the
    status page: traffic, signals and the page's charts all through the API server."""
    service, server = ingress
    server.seen.arrivals.clear()
    page = tmp_path / "status.html"
    run = run_on_localhost(
        "playbooks/verify.yml",
        {
            "verify_kubeconfig": cluster.kubeconfig,
            "verify_argocd_wait_enabled": False,
            "verify_smoke_test_enabled": True,
            "verify_ingress_url": "",
            "verify_ingress_service": service,
            "verify_traffic_seconds": 3,
            "verify_traffic_paths": ["/blog/", "/api/posts"],
            "verify_golden_signals_enabled": True,
            "verify_prometheus_url": "",
            "verify_prometheus_service": prometheus_service,
            "verify_services": ["blog-service"],
            "verify_golden_signals_selector": "",
            "verify_status_page_path": str(page),
            "verify_status_range_seconds": 60,
        },
    )
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert len(server.seen.arrivals) == 15
    through = "through the Kubernetes API server"
    assert (
        "verify's own traffic: 15 GET requests over" in out
        and f"through the ingress at {NAMESPACE}/ingress:http2 {through}" in out
    ), out
    assert (
        "Golden Signals from 1 of 1 services over a 3s window in which verify drove its own "
        "traffic (other traffic in it counts too), "
        f"from Prometheus at {NAMESPACE}/prometheus:9090 {through}" in out
    ), out
    assert "the smoke test: the ingress gateway has no NodePort" in out
    html = page.read_text()
    assert "What was checked" in html and "<svg" in html
