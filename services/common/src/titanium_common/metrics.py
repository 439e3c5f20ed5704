"""Prometheus metrics, served on their own port so the public port never exposes them."""

import logging
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

# From 1 ms: a cached read answers in a few milliseconds and must not hide in one bucket.
LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.075,
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip


class PoolCollector(Collector):
    """Reads the database pool's state at scrape time."""

    def __init__(self, service: str, pool_stats: Callable[[], dict[str, int]]) -> None:
        self.service = service
        self.pool_stats = pool_stats

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "db_pool_connections", "Database pool connections by state", labels=["service", "state"]
        )
        for state, value in self.pool_stats().items():
            family.add_metric([self.service, state], value)
        yield family


class Metrics:
    """The metrics one service exposes. One registry per app: no process-global state."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests by route and exact status code",
            ["service", "method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request duration",
            ["service", "method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "http_requests_in_flight", "Requests being served", ["service"], registry=self.registry
        )
        self.cache = Counter(
            "cache_requests_total",
            "Cache look-ups by cache and result (hit, miss)",
            ["service", "cache", "result"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "rate_limited_total",
            "Requests refused with 429, by limit",
            ["service", "limit"],
            registry=self.registry,
        )
        self.degraded = Counter(
            "dependency_degraded_total",
            "Operations that went on without a dependency (redis, database)",
            ["service", "dependency", "operation"],
            registry=self.registry,
        )
        self.upstream = Histogram(
            "upstream_request_duration_seconds",
            "Calls to other services, by upstream and exact status (or 'error')",
            ["service", "upstream", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._server = None
        self._children: dict[tuple[object, tuple[str, ...]], Any] = {}

    def child(self, metric: Any, *labels: str) -> Any:
        """`metric.labels(service, *labels)`, looked up once per label values:
        prometheus_client's labels() validates and takes a lock on every call
        (over a microsecond each, several a request). As many entries as the
        metrics have children."""
        key = (metric, labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(self.service, *labels)
        return found

    def watch_pool(self, pool_stats: Callable[[], dict[str, int]]) -> None:
        self.registry.register(PoolCollector(self.service, pool_stats))

    def serve(self, host: str, port: int) -> None:
        self._server, _thread = start_http_server(port, addr=host, registry=self.registry)
        log.info("metrics served", extra={"metrics_port": port})

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
