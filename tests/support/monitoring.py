"""What the observability tier loads into Prometheus, taken from the rendered
GitOps tree of one environment: the alert rules, the dashboard queries, and the
scrape job the ServiceMonitor would make."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from titanium_tools import inventory
from titanium_tools.validate import Report, rule_files

# Metrics only a cluster produces, each with what produces it. A panel or rule
# naming a metric that is neither scraped here nor listed below fails the tier:
# that is how a misspelt metric is caught.
NEEDS_A_CLUSTER = {
    "container_cpu_usage_seconds_total": "cAdvisor, inside the kubelet",
    "container_memory_working_set_bytes": "cAdvisor, inside the kubelet",
    "kube_pod_container_resource_limits": "kube-state-metrics",
    "kube_pod_container_status_restarts_total": "kube-state-metrics",
    "kube_statefulset_status_replicas_ready": "kube-state-metrics",
    "kube_deployment_status_replicas_available": "kube-state-metrics",
    "istio_requests_total": "the Envoy sidecars of the Istio mesh",
    "istio_request_duration_milliseconds_bucket": "the Envoy sidecars of the Istio mesh",
    "istio_tcp_received_bytes_total": "the Envoy sidecars of the Istio mesh",
    "argocd_app_info": "Argo CD's application controller",
    "argocd_app_sync_total": "Argo CD's application controller",
    "argocd_app_reconcile_bucket": "Argo CD's application controller",
}

# Grafana's own variables, as Grafana would fill them in for a 1 s scrape.
GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "1s",
    "$__range": "5m",
}

# The rules say `for: 5m` and `for: 2m`; promtool's unit tests in tests/render
# prove those timings. Here only the durations are shortened, so the rendered
# expressions, labels and annotations reach Alertmanager unchanged.
FOR_IN_TEST = "3s"

_KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
    "group_right", "bool", "offset", "inf", "nan", "atan2",
}  # fmt: skip


@dataclass
class Monitoring:
    env: str
    values: dict
    rules_file: Path  # the rendered rules, `for:` shortened
    rules: list[dict]  # as rendered, `for:` untouched
    queries: list[tuple[str, str]]  # (dashboard / panel, expr) for every panel target
    service_monitor: dict


def render_monitoring(env: str, work: Path) -> Monitoring:
    files = inventory.render(env)
    prefix = f"platform/{env}/monitoring/"
    objects = [
        (path, doc)
        for path, content in files.items()
        if path.startswith(prefix)
        for doc in yaml.safe_load_all(content)
        if doc
    ]
    report = Report()
    rules_path, queries_path = rule_files(env, objects, work, report)
    assert not report.errors, report.errors
    rendered = yaml.safe_load(rules_path.read_text())
    rules = [dict(rule) for group in rendered["groups"] for rule in group["rules"]]
    for group in rendered["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = FOR_IN_TEST
    short = work / f"{env}-rules-short-for.yml"
    short.write_text(yaml.safe_dump(rendered, sort_keys=False))
    loaded = yaml.safe_load(short.read_text())["groups"]
    assert [r["expr"] for g in loaded for r in g["rules"]] == [r["expr"] for r in rules]
    recorded = yaml.safe_load(queries_path.read_text())["groups"][0]["rules"]
    (service_monitor,) = [doc for _, doc in objects if doc["kind"] == "ServiceMonitor"]
    return Monitoring(
        env=env,
        values=inventory.load_values(env),
        rules_file=short,
        rules=rules,
        queries=[(rule["labels"]["panel"], rule["expr"]) for rule in recorded],
        service_monitor=service_monitor,
    )


def scrape_config(monitoring: Monitoring, metrics_ports: dict[str, int]) -> dict:
    """The ServiceMonitor's job as static targets, with the labels the Prometheus
    Operator gives each target (namespace, service, job, pod, container,
    endpoint). Like the Operator it keeps honor_labels off, so the services' own
    `service` label comes out as `exported_service` and the target's wins.

    `metrics_ports` maps each Kubernetes Service name to where its metrics are.
    """
    (endpoint,) = monitoring.service_monitor["spec"]["endpoints"]
    namespace = monitoring.values["namespace"]
    name = monitoring.service_monitor["metadata"]["name"]
    return {
        "job_name": f"serviceMonitor/{namespace}/{name}/0",
        "metrics_path": endpoint["path"],
        "honor_labels": False,
        "static_configs": [
            {
                "targets": [f"127.0.0.1:{port}"],
                "labels": {
                    "namespace": namespace,
                    "service": service,
                    "job": service,
                    "pod": f"{service}-e2e",
                    "container": service,
                    "endpoint": endpoint["port"],
                },
            }
            for service, port in sorted(metrics_ports.items())
        ],
    }


def fill_grafana_variables(expr: str) -> str:
    for name in sorted(GRAFANA_VARIABLES, key=len, reverse=True):
        expr = expr.replace(name, GRAFANA_VARIABLES[name])
        expr = expr.replace("${" + name[1:] + "}", GRAFANA_VARIABLES[name])
    if "$" in expr:
        raise ValueError(f"a Grafana variable this tier does not know: {expr}")
    return expr


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    # Label lists: by/without/on/ignoring/group_left/group_right and their labels.
    text = re.sub(
        r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text, flags=re.I
    )
    names = set()
    for match in re.finditer(r"(?<![\w.])([A-Za-z_:][\w:]*)\s*(\()?", text):
        name, call = match.groups()
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names
