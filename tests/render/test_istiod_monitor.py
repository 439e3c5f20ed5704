"""The ServiceMonitor that scrapes istiod, as the monitoring role renders it for
every inventory (ansible-playbook, tests/support/role_templates.py): valid
against the Prometheus Operator's CRD schema, aimed at istiod's Service and its
metrics port, and following the istio role's switch and namespace."""

from __future__ import annotations

import pytest

from tests.support.role_templates import SOURCES, render, resolve
from titanium_tools.validate import Report, validate_custom

TEMPLATE = "istiod-servicemonitor.yaml.j2"


@pytest.mark.parametrize("source", SOURCES)
def test_istiod_monitor_is_valid_and_selects_istiods_metrics_port(source, tmp_path):
    (monitor,) = render("monitoring", TEMPLATE, source)
    report = Report()
    assert validate_custom([(TEMPLATE, monitor)], tmp_path, report) == 1
    assert not report.errors, report.errors
    assert monitor["metadata"]["namespace"] == "monitoring"
    spec = monitor["spec"]
    assert spec["selector"] == {"matchLabels": {"app": "istiod"}}
    assert spec["namespaceSelector"] == {"matchNames": ["istio-system"]}
    assert [(e["port"], e["path"]) for e in spec["endpoints"]] == [("http-monitoring", "/metrics")]


def test_istiod_monitor_follows_the_istio_role():
    moved = {"istio_namespace": "mesh-control", "istio_enabled": False}
    (monitor,) = render("monitoring", TEMPLATE, "defaults", moved)
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["mesh-control"]}
    assert resolve("monitoring", "defaults", "monitoring_scrape_istiod", moved) is False
    assert resolve("monitoring", "local", "monitoring_scrape_istiod") is True


def test_the_crd_schema_check_rejects_a_broken_monitor(tmp_path):
    (monitor,) = render("monitoring", TEMPLATE, "defaults")
    monitor["spec"]["endpoints"][0]["interval"] = 15
    report = Report()
    validate_custom([(TEMPLATE, monitor)], tmp_path, report)
    assert report.errors, "an integer interval passed the ServiceMonitor schema"
