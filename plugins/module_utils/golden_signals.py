# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Golden Signals from the Prometheus HTTP API: the PromQL, the HTTP call and the
arithmetic, kept apart from the Ansible module so that tests can drive them directly."""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
from dataclasses import dataclass, field

from ansible.module_utils.urls import open_url

from ansible_collections.titanium.platform.plugins.module_utils.service_proxy import (
    ServiceNameError,
    describe,
    through_api,
)

SIGNALS = (
    "requests_per_second",
    "p95_ms",
    "p99_ms",
    "error_4xx_percent",
    "error_5xx_percent",
    "cpu_saturation_percent",
)


class PrometheusError(Exception):
    """Prometheus could not be reached or refused the query."""


@dataclass(frozen=True)
class SignalSpec:
    """Where the signals come from. The defaults match the services' shared library:
    `http_requests_total{service,method,route,status}` with the exact status code and the
    `http_request_duration_seconds` histogram."""

    window: str = "5m"
    request_metric: str = "http_requests_total"
    duration_metric: str = "http_request_duration_seconds"
    service_label: str = "service"
    status_label: str = "status"
    selector: str = ""
    cpu_usage_metric: str = "container_cpu_usage_seconds_total"
    cpu_limit_metric: str = "kube_pod_container_resource_limits"
    cpu_selector: str = ""
    # cAdvisor and kube-state-metrics know containers, not services: the container is
    # named after its service in every Deployment of the GitOps tree.
    cpu_service_label: str = "container"

    def _match(self, extra: str = "") -> str:
        parts = [p for p in (self.selector, extra) if p]
        return "{" + ",".join(parts) + "}" if parts else ""

    def _cpu_match(self, extra: str = "") -> str:
        parts = [p for p in (self.cpu_selector, f'{self.cpu_service_label}!=""', extra) if p]
        return "{" + ",".join(parts) + "}"

    def queries(self) -> dict[str, str]:
        svc, status, win = self.service_label, self.status_label, self.window
        total = f"sum by ({svc}) (rate({self.request_metric}{self._match()}[{win}]))"

        def share(pattern: str) -> str:
            matcher = self._match(f'{status}=~"{pattern}"')
            part = f"sum by ({svc}) (rate({self.request_metric}{matcher}[{win}]))"
            # `or 0 * total` keeps services that served no such status: 0 %, not missing.
            return f"100 * (({part}) or (0 * {total})) / {total}"

        def quantile(q: str) -> str:
            buckets = f"{self.duration_metric}_bucket{self._match()}"
            return f"1000 * histogram_quantile({q}, sum by ({svc}, le) (rate({buckets}[{win}])))"

        cpu_label = self.cpu_service_label
        usage = f"sum by ({cpu_label}) (rate({self.cpu_usage_metric}{self._cpu_match()}[{win}]))"
        cpu_limits = self._cpu_match('resource="cpu"')
        limits = f"sum by ({cpu_label}) ({self.cpu_limit_metric}{cpu_limits})"
        cpu = f"100 * {usage} / {limits}"
        if cpu_label != svc:
            cpu = f'label_replace({cpu}, "{svc}", "$1", "{cpu_label}", "(.+)")'
        return {
            "requests_per_second": total,
            "p95_ms": quantile("0.95"),
            "p99_ms": quantile("0.99"),
            "error_4xx_percent": share("4.."),
            "error_5xx_percent": share("5.."),
            "cpu_saturation_percent": cpu,
        }


@dataclass
class Thresholds:
    """Limits above which a service is reported as degraded (the alert rules' limits)."""

    max_error_5xx_percent: float | None = 5.0
    max_p95_ms: float | None = 500.0
    max_cpu_saturation_percent: float | None = 90.0
    # Below this rate a percentile or a share says more about one request than about
    # the service (one slow login makes a p95): those signals are not judged then.
    min_requests_per_second: float = 0.0

    def breaches(self, signals: dict[str, dict[str, float | None]]) -> list[dict]:
        checks = (
            ("error_5xx_percent", self.max_error_5xx_percent),
            ("p95_ms", self.max_p95_ms),
            ("cpu_saturation_percent", self.max_cpu_saturation_percent),
        )
        found = []
        for service in sorted(signals):
            rate = signals[service].get("requests_per_second") or 0.0
            for signal, limit in checks:
                if signal != "cpu_saturation_percent" and rate < self.min_requests_per_second:
                    continue
                value = signals[service].get(signal)
                if limit is not None and value is not None and value > limit:
                    found.append(
                        {"service": service, "signal": signal, "value": value, "limit": limit}
                    )
        return found


@dataclass
class PrometheusClient:
    url: str
    timeout: float = 10.0
    bearer_token: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # The API server's TLS and client certificate, when Prometheus is reached through it.
    ca_path: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    validate_certs: bool = True
    # How messages name the way in; the URL when empty.
    via: str = ""

    def instant(self, query: str) -> list[dict]:
        return self._result("/api/v1/query", {"query": query}, "vector")

    def range(self, query: str, start: float, end: float, step: float) -> list[dict]:
        """A range query (C(/api/v1/query_range)): one series per label set, with
        [time, "value"] pairs at start, start + step, ... up to end."""
        params = {"query": query, "start": start, "end": end, "step": step}
        return self._result("/api/v1/query_range", params, "matrix")

    def alerts(self) -> list[dict]:
        """Every alert Prometheus's rules hold now, pending or firing."""
        return self._call("/api/v1/alerts", None)["alerts"]

    def _result(self, path: str, params: dict, result_type: str) -> list[dict]:
        data = self._call(path, params)
        if data["resultType"] != result_type:
            raise PrometheusError(f"expected a {result_type}, got {data['resultType']}")
        return data["result"]

    def _call(self, path: str, params: dict | None) -> dict:
        """GET without `params`, else a form POST (long PromQL fits no URL)."""
        endpoint = self.url.rstrip("/") + path
        data = urllib.parse.urlencode(params).encode() if params is not None else None
        headers = dict(self.headers)
        if data:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.bearer_token:
            headers.setdefault("Authorization", f"Bearer {self.bearer_token}")
        where = f"{self.via} ({endpoint})" if self.via else endpoint
        try:
            with open_url(
                endpoint,
                data=data,
                method="POST" if data else "GET",
                headers=headers,
                timeout=self.timeout,
                ca_path=self.ca_path,
                client_cert=self.client_cert,
                client_key=self.client_key,
                validate_certs=self.validate_certs,
            ) as response:
                body = json.load(response)
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:500]
            raise PrometheusError(f"{where} answered {error.code}: {detail}") from error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise PrometheusError(f"cannot reach Prometheus at {where}: {error}") from error
        if body.get("status") != "success":
            raise PrometheusError(f"query failed: {body.get('error', body)}")
        return body["data"]


# The options by which a module reaches Prometheus (documented once, in the
# titanium.platform.prometheus doc fragment).
PROMETHEUS_ARGS = {
    "prometheus_url": {"type": "str"},
    "prometheus_service": {"type": "str"},
    "kubeconfig": {"type": "path"},
    "context": {"type": "str"},
    "bearer_token": {"type": "str", "no_log": True},
    "timeout": {"type": "float", "default": 10.0},
}


def client_for(params: dict) -> PrometheusClient:
    """Prometheus at its URL, else its Service through the Kubernetes API server."""
    if params.get("prometheus_url"):
        return PrometheusClient(params["prometheus_url"], params["timeout"], params["bearer_token"])
    service = params.get("prometheus_service")
    if not service:
        raise PrometheusError(
            "set prometheus_url, or prometheus_service to reach it through the API server"
        )
    try:
        endpoint = through_api(service, params.get("kubeconfig"), params.get("context"))
    except ServiceNameError as error:
        raise PrometheusError(f"prometheus_service: {error}") from error
    except Exception as error:  # the kubernetes client's config errors have no common base
        raise PrometheusError(
            f"cannot reach Prometheus as {describe(service)}: the kubeconfig "
            f"({params.get('kubeconfig') or 'the default'}) could not be loaded: {error}"
        ) from error
    headers = {"Authorization": endpoint.authorization} if endpoint.authorization else {}
    return PrometheusClient(
        endpoint.url,
        params["timeout"],
        headers=headers,
        ca_path=endpoint.ca_path,
        client_cert=endpoint.client_cert,
        client_key=endpoint.client_key,
        validate_certs=endpoint.validate_certs,
        via=describe(service),
    )


def _number(text: str) -> float | None:
    value = float(text)
    if math.isnan(value) or math.isinf(value):
        return None  # no request in the window: no latency or share to speak of, not zero
    return round(value, 3)


def collect(
    client: PrometheusClient, spec: SignalSpec, services: list[str] | None = None
) -> tuple[dict[str, dict[str, float | None]], dict[str, str]]:
    """Every signal for every service Prometheus knows (or only `services`, each listed
    even without data, so that a silent service shows up rather than vanishing: see
    `missing`)."""
    queries = spec.queries()
    signals: dict[str, dict[str, float | None]] = {}
    for name, query in queries.items():
        for sample in client.instant(query):
            service = sample["metric"].get(spec.service_label)
            if not service:
                continue
            signals.setdefault(service, dict.fromkeys(SIGNALS))[name] = _number(sample["value"][1])
    if services:
        signals = {s: signals.get(s, dict.fromkeys(SIGNALS)) for s in services}
    return dict(sorted(signals.items())), queries


def missing(signals: dict[str, dict[str, float | None]], spec: SignalSpec) -> list[dict]:
    """Each service Prometheus holds no request series for over the window. Every running
    service answers its own probes, so no series at all is never "no traffic": the
    scrape is broken (ServiceMonitor, its selector or port, or the target down)."""
    return [
        {
            "service": service,
            "problem": (
                f"no {spec.request_metric} series in Prometheus over the last {spec.window}: "
                f"nothing scrapes {service}. Check its ServiceMonitor (its selector and metrics "
                f"port against the Service) and the scrape target's state and last error "
                f'(Prometheus: Status > Targets, or the up{{{spec.service_label}="{service}"}} '
                f"series)"
            ),
        }
        for service, values in sorted(signals.items())
        if values.get("requests_per_second") is None
    ]
