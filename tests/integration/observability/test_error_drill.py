"""The error-scenario drill (playbooks/runbooks/error-scenario-drill.yml), run by
ansible-playbook against the real blog stack, a real Prometheus evaluating the
rendered `local` rules and a real Alertmanager. Nothing else sends traffic, so
every error seen is the drill's: its 404s and 405s show in the Golden Signals
panels and in the gateway's log lines (what Alloy ships to Loki; no Loki runs
here), and its burst of 5xx, with blog-service stopped by the drill, makes
HighErrorRate reach the receiver."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from tests.integration.observability.conftest import observing
from tests.support.ansible_run import run_on_localhost
from tests.support.monitoring import FOR_IN_TEST, fill_grafana_variables
from tests.support.offline_values import offline_values
from tests.support.role_templates import values
from titanium_tools import inventory

pytestmark = pytest.mark.slow
REPO_ROOT = Path(__file__).resolve().parents[3]
DRILL = "playbooks/runbooks/error-scenario-drill.yml"
BY_CODE = "Requests by response code (api-gateway)"
ERRORS = "Errors (4xx and 5xx share of requests)"
CLIENT_ERRORS = 10  # of each code
BURST = 40


@pytest.fixture(scope="module")
def quiet(tmp_path_factory):
    with observing(tmp_path_factory.mktemp("error-drill")) as running:
        yield running


@pytest.fixture(scope="module")
def drilled(quiet, tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    pid_file = run / "blog.pid"
    pid_file.write_text(str(quiet.stack.services["blog"].process.pid))
    variables = {
        "titanium_environment_values": offline_values("local"),
        "drill_namespace": quiet.monitoring.values["namespace"],
        "drill_outage": "process",
        "drill_pid_file": str(pid_file),
        "drill_ingress_url": quiet.stack.gateway,
        "drill_prometheus_url": quiet.prometheus.url,
        "drill_alertmanager_url": quiet.alertmanager.url,
        "drill_client_errors": CLIENT_ERRORS,
        "drill_client_error_pause": 0.1,
        "drill_burst_requests": BURST,
        "drill_burst_pause": 0.1,
        "drill_panel_wait_seconds": 60,
        "drill_alert_wait_seconds": 60,
        "drill_record_file": str(run / "drills.json"),
    }
    started = time.monotonic()
    result = run_on_localhost(DRILL, variables, timeout=240)
    result.seconds = time.monotonic() - started
    print(f"error drill: {result.seconds:.1f} s")
    assert result.returncode == 0, result.stdout + result.stderr
    result.records = json.loads((run / "drills.json").read_text())["drills"]
    return result


def panel(quiet, title: str) -> list[str]:
    return [expr for where, expr in quiet.monitoring.queries if where.endswith(f"/ {title}")]


def test_the_drill_watches_the_panel_as_rendered(quiet):
    (play,) = yaml.safe_load((REPO_ROOT / DRILL).read_text())
    watched = play["vars"]["drill_panel_query"].replace(
        "{{ drill_namespace }}", quiet.monitoring.values["namespace"]
    )
    assert panel(quiet, BY_CODE) == [watched]


def test_client_errors_show_by_code_and_in_the_errors_panel(drilled, quiet):
    assert "Requests by response code: 404" in drilled.stdout, drilled.stdout
    (by_code,) = panel(quiet, BY_CODE)
    shown = {r["metric"]["status"] for r in quiet.prometheus.query(fill_grafana_variables(by_code))}
    assert {"404", "405", "502"} <= shown, shown
    expected = {"404": CLIENT_ERRORS, "405": CLIENT_ERRORS, "502": BURST}
    # The drill's last requests may land after the scrape before it returns: the
    # counters are read until a later scrape holds them (they only grow, so an
    # extra request still fails the comparison).
    deadline = time.monotonic() + 15
    while True:
        counted = {
            r["metric"]["status"]: float(r["value"][1])
            for r in quiet.prometheus.query(
                'sum by (status) (http_requests_total{service="api-gateway", status=~"4..|5.."})'
            )
        }
        if counted == expected or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert counted == expected, counted
    four, five = panel(quiet, ERRORS)
    for expr in (four, five):
        (gateway,) = [
            r
            for r in quiet.prometheus.query(fill_grafana_variables(expr))
            if r["metric"]["service"] == "api-gateway"
        ]
        assert float(gateway["value"][1]) > 0, expr


def test_the_printed_logql_selects_what_alloy_labels(drilled, quiet):
    """The query the drill prints for Grafana's Explore uses the labels the logging
    role's Alloy puts on the gateway's lines, and a field it keeps."""
    printed = drilled.stdout.replace('\\"', '"')  # the debug message, JSON-quoted
    found = re.search(r'\{namespace="([^"]+)", app="([^"]+)"\} \| (\w+)=~"404\|405"', printed)
    assert found, drilled.stdout
    namespace, app, field = found.groups()
    assert namespace == quiet.monitoring.values["namespace"]
    river = values("logging", "alloy-values.yaml.j2", "local")["alloy"]["configMap"]["content"]
    relabels = dict(re.findall(r'source_labels = \["(\w+)"\]\s+target_label\s+= "(\w+)"', river))
    assert relabels["__meta_kubernetes_namespace"] == "namespace"
    assert relabels["__meta_kubernetes_pod_label_app_kubernetes_io_name"] == "app"
    (deployment,) = yaml.safe_load_all(
        inventory.render("local")["services/base/api-gateway/deployment.yaml"]
    )
    assert deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == app
    assert field in shipped_fields()


def shipped_fields() -> list[str]:
    """The JSON fields Alloy turns into labels or structured metadata."""
    logging = yaml.safe_load((REPO_ROOT / "roles/logging/defaults/main.yml").read_text())
    return logging["logging_json_labels"] + logging["logging_json_metadata"]


def test_client_errors_are_in_the_log_lines_loki_would_get(drilled, quiet):
    shipped = shipped_fields()
    lines = [
        json.loads(line)
        for line in quiet.stack.services["gateway"].logs().splitlines()
        if line.startswith("{")
    ]
    errors = [e for e in lines if e.get("event") == "request" and e["status"] in (404, 405)]
    assert Counter((e["method"], e["path"], e["status"]) for e in errors) == {
        ("GET", "/api/drill-no-such-page", 404): CLIENT_ERRORS,
        ("DELETE", "/api/posts", 405): CLIENT_ERRORS,
    }
    for entry in errors:
        missing = [field for field in shipped if field not in entry]
        assert not missing, f"Alloy extracts {missing}, absent from {entry}"


def test_the_burst_fires_high_error_rate_for_the_gateway_alone(drilled, quiet):
    assert quiet.stack.services["blog"].process.poll() is not None, "the drill left blog running"
    assert "HighErrorRate fired for api-gateway" in " ".join(drilled.stdout.split())
    alert = quiet.webhook.wait_for(
        lambda a: a["status"] == "firing" and a["labels"]["alertname"] == "HighErrorRate"
    )
    assert alert["labels"]["service"] == "api-gateway"
    assert alert["labels"]["severity"] == "critical"
    assert {
        a["labels"]["service"]
        for a in quiet.webhook.received(lambda a: a["labels"]["alertname"] == "HighErrorRate")
    } == {"api-gateway"}


def test_the_time_to_alert_is_recorded_for_the_status_page(drilled):
    (record,) = drilled.records
    assert record["drill"] == "error-scenario (time to HighErrorRate)"
    assert record["target"] == "blog-service"
    # From the outage to Prometheus firing: within the drill's own run, and no
    # sooner than the rule's `for` allows (both ends are whole seconds: 1 s slack).
    earliest = int(FOR_IN_TEST.removesuffix("s")) - 1
    assert earliest <= record["recovery_seconds"] < drilled.seconds, (record, drilled.seconds)
    assert record["passed"] is (record["recovery_seconds"] <= record["limit_seconds"])
    printed = " ".join(drilled.stdout.split())
    assert f"{record['recovery_seconds']} s after the outage began" in printed, printed[-2000:]
