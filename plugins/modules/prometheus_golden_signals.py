#!/usr/bin/python
# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the Golden Signals of every service back from Prometheus."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: prometheus_golden_signals
short_description: Read the Golden Signals per service from the Prometheus HTTP API
description:
  - Runs instant queries against the Prometheus HTTP API (C(/api/v1/query)) and returns,
    for each service, the 95th and 99th percentile latency, the request rate, the share of
    4xx and 5xx answers and the CPU saturation against the containers' CPU limits.
  - The queries default to the metrics of the Titanium services' shared library
    (C(http_requests_total) with the exact status code, the
    C(http_request_duration_seconds) histogram) and to cAdvisor and kube-state-metrics for
    CPU; every metric and label name can be changed.
  - A signal without data in the window (no traffic, no limit set) is returned as null,
    never as zero.
  - A listed service with no request series at all over the window is not unknown but broken.
    Every running service answers its own probes, so nothing scraped means a broken scrape. It is
    returned in RV(missing), naming what to check (its ServiceMonitor and scrape target),
    and fails the module with O(fail_on_missing).
  - Reads only; never reports a change. Check mode runs the same read-only queries.
version_added: "0.1.0"
author: Titanium contributors (@titanium-platform)
extends_documentation_fragment:
  - titanium.platform.prometheus
options:
  services:
    description:
      - Services to report. Each one listed is returned, with null signals when Prometheus
        has no data for it. Empty means every service Prometheus knows.
    type: list
    elements: str
    default: []
  window:
    description: Range of the C(rate()) windows, a PromQL duration.
    type: str
    default: 5m
  selector:
    description:
      - Extra label matchers for the request and latency metrics, without braces,
        e.g. C(namespace="titanium-local").
    type: str
    default: ""
  cpu_selector:
    description: Extra label matchers for the CPU metrics, without braces.
    type: str
    default: ""
  request_metric:
    description: Counter of requests, labelled by service and exact status code.
    type: str
    default: http_requests_total
  duration_metric:
    description: Histogram of request durations in seconds (without the C(_bucket) suffix).
    type: str
    default: http_request_duration_seconds
  service_label:
    description: Label naming the service on the request metrics.
    type: str
    default: service
  status_label:
    description: Label holding the HTTP status code on the request counter.
    type: str
    default: status
  cpu_usage_metric:
    description: Counter of CPU seconds per container (cAdvisor).
    type: str
    default: container_cpu_usage_seconds_total
  cpu_limit_metric:
    description: Gauge of CPU limits per container, with a C(resource) label (kube-state-metrics).
    type: str
    default: kube_pod_container_resource_limits
  cpu_service_label:
    description: Label on the CPU metrics whose value is the service's name.
    type: str
    default: container
  max_error_5xx_percent:
    description: A service above this share of 5xx answers is listed in RV(breaches).
    type: float
    default: 5.0
  max_p95_ms:
    description: A service above this 95th percentile latency is listed in RV(breaches).
    type: float
    default: 500.0
  max_cpu_saturation_percent:
    description: A service above this CPU use against its limits is listed in RV(breaches).
    type: float
    default: 90.0
  min_requests_per_second:
    description:
      - Services serving fewer requests per second than this are not judged on latency
        and 5xx share (one slow request would make the percentile); CPU is always judged.
    type: float
    default: 0.0
  fail_on_breach:
    description: Fail when any service breaches a threshold, instead of only reporting it.
    type: bool
    default: false
  fail_on_missing:
    description: Fail when any service of O(services) has no request series (RV(missing)).
    type: bool
    default: false
notes:
  - Supports check mode; diff mode has nothing to show because nothing changes.
"""

EXAMPLES = r"""
- name: Read the Golden Signals of the blog
  prometheus_golden_signals:
    prometheus_url: http://127.0.0.1:30090
    services: [api-gateway, auth-service, user-service, blog-service]
    selector: namespace="titanium-local"
    cpu_selector: namespace="titanium-local"
  register: golden_signals

- name: Read them where Prometheus has no NodePort, through the Kubernetes API server
  prometheus_golden_signals:
    prometheus_service: monitoring/kube-prometheus-stack-prometheus:9090
    kubeconfig: ~/.kube/titanium-production.yaml
    services: [api-gateway, auth-service, user-service, blog-service]
    fail_on_missing: true

- name: Fail the pipeline when a service is degraded
  prometheus_golden_signals:
    prometheus_url: "{{ prometheus_url }}"
    max_p95_ms: 250
    fail_on_breach: true
"""

RETURN = r"""
signals:
  description: Per service, each signal (null when Prometheus has no data for it).
  returned: success
  type: dict
  sample:
    blog-service:
      requests_per_second: 12.5
      p95_ms: 8.7
      p99_ms: 23.1
      error_4xx_percent: 1.2
      error_5xx_percent: 0.0
      cpu_saturation_percent: 14.0
breaches:
  description: Each signal above its threshold.
  returned: success
  type: list
  elements: dict
  sample:
    - {service: blog-service, signal: p95_ms, value: 812.0, limit: 500.0}
missing:
  description: Each listed service without a request series in the window, and what to check.
  returned: success
  type: list
  elements: dict
  sample:
    - service: user-service
      problem: >-
        no http_requests_total series in Prometheus over the last 60s: nothing scrapes
        user-service. Check its ServiceMonitor ...
queries:
  description: The PromQL run for each signal, to paste into Prometheus or Grafana.
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.titanium.platform.plugins.module_utils.golden_signals import (
    PROMETHEUS_ARGS,
    PrometheusError,
    SignalSpec,
    Thresholds,
    client_for,
    collect,
    missing,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **PROMETHEUS_ARGS,
            "services": {"type": "list", "elements": "str", "default": []},
            "window": {"type": "str", "default": "5m"},
            "selector": {"type": "str", "default": ""},
            "cpu_selector": {"type": "str", "default": ""},
            "request_metric": {"type": "str", "default": "http_requests_total"},
            "duration_metric": {"type": "str", "default": "http_request_duration_seconds"},
            "service_label": {"type": "str", "default": "service"},
            "status_label": {"type": "str", "default": "status"},
            "cpu_usage_metric": {"type": "str", "default": "container_cpu_usage_seconds_total"},
            "cpu_limit_metric": {"type": "str", "default": "kube_pod_container_resource_limits"},
            "cpu_service_label": {"type": "str", "default": "container"},
            "max_error_5xx_percent": {"type": "float", "default": 5.0},
            "max_p95_ms": {"type": "float", "default": 500.0},
            "max_cpu_saturation_percent": {"type": "float", "default": 90.0},
            "min_requests_per_second": {"type": "float", "default": 0.0},
            "fail_on_breach": {"type": "bool", "default": False},
            "fail_on_missing": {"type": "bool", "default": False},
        },
        required_one_of=[("prometheus_url", "prometheus_service")],
        supports_check_mode=True,
    )
    p = module.params
    spec = SignalSpec(
        window=p["window"],
        request_metric=p["request_metric"],
        duration_metric=p["duration_metric"],
        service_label=p["service_label"],
        status_label=p["status_label"],
        selector=p["selector"],
        cpu_usage_metric=p["cpu_usage_metric"],
        cpu_limit_metric=p["cpu_limit_metric"],
        cpu_selector=p["cpu_selector"],
        cpu_service_label=p["cpu_service_label"],
    )
    try:
        client = client_for(p)
        signals, queries = collect(client, spec, p["services"])
    except PrometheusError as error:
        module.fail_json(msg=str(error), changed=False)
    breaches = Thresholds(
        p["max_error_5xx_percent"],
        p["max_p95_ms"],
        p["max_cpu_saturation_percent"],
        p["min_requests_per_second"],
    ).breaches(signals)
    silent = missing(signals, spec) if p["services"] else []
    result = {
        "changed": False,
        "signals": signals,
        "breaches": breaches,
        "missing": silent,
        "queries": queries,
    }
    if silent and p["fail_on_missing"]:
        module.fail_json(msg="; ".join(f"{m['service']}: {m['problem']}" for m in silent), **result)
    if breaches and p["fail_on_breach"]:
        names = ", ".join(f"{b['service']} {b['signal']}={b['value']}" for b in breaches)
        module.fail_json(msg=f"Golden Signals above their thresholds: {names}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
