"""prometheus_golden_signals against a real Prometheus scraping a metrics endpoint
served by prometheus_client, whose counters grow in known proportions."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector

from ansible_collections.titanium.platform.plugins.module_utils import golden_signals as gs
from tests.support.ansible_run import run_module, run_on_localhost
from tests.support.ports import free_port
from tests.support.prometheus_server import running_prometheus

REPO_ROOT = Path(__file__).resolve().parents[2]
TICK = 0.1  # seconds between two simulated batches of requests
WINDOW = "5s"


# Per tick and service: answers by status, latencies (seconds), CPU seconds used, CPU limit.
TRAFFIC = {
    "blog-service": {
        "status": {"200": 7, "404": 2, "500": 1},
        "latency": [0.004] * 9 + [0.3],
        "cpu": 0.05,  # 0.5 cores against a limit of 2: 25 %
        "limit": 2.0,
    },
    "api-gateway": {
        "status": {"200": 10},
        "latency": [0.002] * 10,
        "cpu": 0.02,  # 0.2 cores against 0.25: 80 %
        "limit": 0.25,
    },
}
BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0)


class SimulatedServices(Collector):
    """Values are a function of one tick count read once per scrape, so every counter in a
    scrape is consistent with every other: ratios are exact whatever the timing."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def collect(self):
        ticks = int((time.monotonic() - self.started) / TICK)
        requests = CounterMetricFamily(
            "http_requests_total", "requests", labels=["service", "method", "route", "status"]
        )
        latency = HistogramMetricFamily(
            "http_request_duration_seconds", "latency", labels=["service", "method", "route"]
        )
        cpu = CounterMetricFamily(
            "container_cpu_usage_seconds_total", "cpu", labels=["namespace", "pod", "container"]
        )
        limits = GaugeMetricFamily(
            "kube_pod_container_resource_limits",
            "limits",
            labels=["namespace", "pod", "container", "resource", "unit"],
        )
        for service, shape in TRAFFIC.items():
            for status, count in shape["status"].items():
                requests.add_metric([service, "GET", "/x", status], count * ticks)
            cumulative = []
            for bound in BUCKETS:
                below = sum(1 for value in shape["latency"] if value <= bound)
                cumulative.append((str(bound), below * ticks))
            cumulative.append(("+Inf", len(shape["latency"]) * ticks))
            latency.add_metric(
                [service, "GET", "/x"], cumulative, sum_value=sum(shape["latency"]) * ticks
            )
            pod = f"{service}-0"
            cpu.add_metric(["titanium-test", pod, service], shape["cpu"] * ticks)
            limits.add_metric(["titanium-test", pod, service, "cpu", "core"], shape["limit"])
        yield from (requests, latency, cpu, limits)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    registry = CollectorRegistry()
    registry.register(SimulatedServices())
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        with running_prometheus(
            tmp_path_factory.mktemp("prometheus"), [f"127.0.0.1:{port}"]
        ) as prom:
            # Enough samples for a rate over the window on both sides of it.
            prom.wait_for(f"rate(http_requests_total[{WINDOW}])")
            time.sleep(6)
            yield prom
    finally:
        server.shutdown()
        thread.join(timeout=5)


def signals_for(prometheus, services=None, **spec):
    client = gs.PrometheusClient(prometheus.url, timeout=5)
    return gs.collect(client, gs.SignalSpec(window=WINDOW, **spec), services)


def test_error_shares_are_exact_and_zero_when_a_service_never_failed(prometheus):
    signals, _ = signals_for(prometheus)
    assert signals["blog-service"]["error_4xx_percent"] == pytest.approx(20.0, abs=0.01)
    assert signals["blog-service"]["error_5xx_percent"] == pytest.approx(10.0, abs=0.01)
    assert signals["api-gateway"]["error_4xx_percent"] == 0.0
    assert signals["api-gateway"]["error_5xx_percent"] == 0.0


def test_latency_percentiles_come_from_the_histogram(prometheus):
    signals, _ = signals_for(prometheus)
    # 10 % of requests in (0.25, 0.5]: linear interpolation inside that bucket.
    assert signals["blog-service"]["p95_ms"] == pytest.approx(375.0, abs=1)
    assert signals["blog-service"]["p99_ms"] == pytest.approx(475.0, abs=1)
    assert signals["api-gateway"]["p95_ms"] < 5


def test_request_rate_and_cpu_saturation(prometheus):
    signals, _ = signals_for(prometheus)
    expected_rate = 10 / TICK
    assert signals["blog-service"]["requests_per_second"] == pytest.approx(expected_rate, rel=0.25)
    assert signals["blog-service"]["cpu_saturation_percent"] == pytest.approx(25.0, rel=0.25)
    assert signals["api-gateway"]["cpu_saturation_percent"] == pytest.approx(80.0, rel=0.25)


def test_a_listed_service_without_series_is_missing_and_named(prometheus):
    """No series is a broken scrape, not "unknown": verify must fail on it."""
    spec = gs.SignalSpec(window=WINDOW)
    signals, _ = gs.collect(
        gs.PrometheusClient(prometheus.url, timeout=5), spec, ["blog-service", "auth-service"]
    )
    assert set(signals["auth-service"].values()) == {None}
    (silent,) = gs.missing(signals, spec)
    assert silent["service"] == "auth-service"
    assert "ServiceMonitor" in silent["problem"]
    assert "scrape target" in silent["problem"]


def test_module_fails_on_a_service_without_series_naming_it(prometheus):
    args = {
        "prometheus_url": prometheus.url,
        "window": WINDOW,
        "services": ["blog-service", "api-gateway", "auth-service"],
        "fail_on_missing": True,
    }
    rc, result = golden_signals(args)
    assert rc != 0, result
    assert [m["service"] for m in result["missing"]] == ["auth-service"]
    assert result["msg"].startswith("auth-service: no http_requests_total series")
    assert "ServiceMonitor" in result["msg"]

    rc, result = golden_signals({**args, "services": ["blog-service", "api-gateway"]})
    assert rc == 0, result
    assert result["missing"] == []


def verify_signals_only(prometheus, services: list[str]):
    """playbooks/verify.yml with only its Golden Signals step, against this Prometheus,
    with limits no simulated service reaches: only a missing service can fail it."""
    return run_on_localhost(
        "playbooks/verify.yml",
        {
            "verify_argocd_wait_enabled": False,
            "verify_smoke_test_enabled": False,
            "verify_traffic_enabled": False,
            "verify_golden_signals_enabled": True,
            "verify_status_page_enabled": False,
            "verify_prometheus_url": prometheus.url,
            "verify_services": services,
            "verify_golden_signals_selector": "",
            "verify_golden_signals_window": WINDOW,
            "verify_max_error_5xx_percent": 50,
            "verify_max_p95_ms": 1000,
            "verify_max_cpu_saturation_percent": 100,
        },
    )


def test_verify_fails_when_a_service_has_no_series(prometheus):
    run = verify_signals_only(prometheus, ["api-gateway", "auth-service", "blog-service"])
    out = run.stdout + run.stderr
    assert run.returncode != 0, out
    assert "1 problem(s): auth-service: no http_requests_total series" in out
    assert "Check its ServiceMonitor" in out
    assert f"Golden Signals from 2 of 3 services over a {WINDOW} window" in out

    run = verify_signals_only(prometheus, ["api-gateway", "blog-service"])
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"Golden Signals from 2 of 2 services over a {WINDOW} window" in run.stdout


def test_selectors_narrow_the_series(prometheus):
    signals, _ = signals_for(prometheus, selector='service="api-gateway"')
    assert signals["api-gateway"]["requests_per_second"] is not None
    assert "blog-service" not in signals or signals["blog-service"]["requests_per_second"] is None


def test_thresholds_name_each_breach(prometheus):
    signals, _ = signals_for(prometheus)
    breaches = gs.Thresholds(
        max_error_5xx_percent=5, max_p95_ms=300, max_cpu_saturation_percent=70
    ).breaches(signals)
    found = {(b["service"], b["signal"]) for b in breaches}
    assert found == {
        ("blog-service", "error_5xx_percent"),
        ("blog-service", "p95_ms"),
        ("api-gateway", "cpu_saturation_percent"),
    }


def test_services_with_too_little_traffic_are_not_judged_on_latency(prometheus):
    signals, _ = signals_for(prometheus)
    strict = gs.Thresholds(max_p95_ms=300, max_cpu_saturation_percent=70)
    assert ("blog-service", "p95_ms") in {
        (b["service"], b["signal"]) for b in strict.breaches(signals)
    }
    quiet = gs.Thresholds(
        max_p95_ms=300, max_cpu_saturation_percent=70, min_requests_per_second=10_000
    )
    # Latency and 5xx not judged below the rate; CPU still is.
    assert [(b["service"], b["signal"]) for b in quiet.breaches(signals)] == [
        ("api-gateway", "cpu_saturation_percent")
    ]


def test_a_bad_query_is_reported_with_prometheus_own_words(prometheus):
    client = gs.PrometheusClient(prometheus.url, timeout=5)
    with pytest.raises(gs.PrometheusError, match="400"):
        client.instant("sum(")


def golden_signals(args: dict) -> tuple[int, dict]:
    return run_module("titanium.platform.prometheus_golden_signals", args, timeout=120)


def test_module_end_to_end_reports_signals_and_fails_on_breach(prometheus):
    rc, result = golden_signals(
        {"prometheus_url": prometheus.url, "window": WINDOW, "services": ["blog-service"]}
    )
    assert rc == 0, result
    assert result["changed"] is False
    assert result["signals"]["blog-service"]["error_5xx_percent"] == pytest.approx(10.0, abs=0.01)
    assert [b["signal"] for b in result["breaches"]] == ["error_5xx_percent"]

    rc, result = golden_signals(
        {"prometheus_url": prometheus.url, "window": WINDOW, "fail_on_breach": True}
    )
    assert rc != 0
    assert "blog-service error_5xx_percent=10.0" in result["msg"]


def test_module_names_an_unreachable_prometheus():
    rc, result = golden_signals({"prometheus_url": f"http://127.0.0.1:{free_port()}", "timeout": 2})
    assert rc != 0
    assert "cannot reach Prometheus" in result["msg"]
