"""verify's own traffic reaches every service: the role's default paths, sent by
http_traffic through the real gateway of the real blog, are what gives each of the
four services its series in a real Prometheus scraping them the way the rendered
ServiceMonitor does. Nothing else talks to this stack (no other traffic), so
before the window blog-service and user-service have answered nothing but their
health probes, and after it every service must have data over the window."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jinja2
import pytest
import yaml

from tests.support.ansible_run import run_module
from tests.support.blog_stack import SERVICE_NAMES, Stack, blog_stack
from tests.support.monitoring import render_monitoring, scrape_config
from tests.support.prometheus_server import Prometheus, running_prometheus

pytestmark = pytest.mark.slow
REPO_ROOT = Path(__file__).resolve().parents[3]
SERVICES = sorted(SERVICE_NAMES.values())
SECONDS = 6


def default_paths() -> list[str]:
    """verify_traffic_paths as the role's defaults state them, rendered without a
    smoke user (the profile read is then a 404 from user-service: still an answer)."""
    defaults = yaml.safe_load((REPO_ROOT / "roles/verify/defaults/main.yml").read_text())
    return [jinja2.Template(path).render() for path in defaults["verify_traffic_paths"]]


@dataclass
class Quiet:
    stack: Stack
    prometheus: Prometheus


@pytest.fixture(scope="module")
def quiet(tmp_path_factory) -> Iterator[Quiet]:
    work = tmp_path_factory.mktemp("verify-traffic")
    monitoring = render_monitoring("local", work)
    with blog_stack(work) as stack:
        ports = {SERVICE_NAMES[name]: port for name, port in stack.metrics_ports.items()}
        with running_prometheus(
            work, interval="1s", scrape_configs=[scrape_config(monitoring, ports)]
        ) as prometheus:
            prometheus.wait_for('up{service="blog-service"} == 1')
            yield Quiet(stack, prometheus)


def test_the_default_paths_give_every_service_data(quiet):
    # Nothing has read a post or a profile yet (auth-service already served the
    # JWKS to the others at start-up): blog-service and user-service have answered
    # their health probes and nothing else. (Their probes' series alone are data
    # once Prometheus holds two scrapes of them: "no data" before the traffic
    # would only say how fresh Prometheus was.)
    answered = {
        series["metric"]["service"]
        for series in quiet.prometheus.query(
            'sum by (service) (http_requests_total{route!~"/health/.*"}) > 0'
        )
    }
    assert not answered & {"blog-service", "user-service"}, answered

    began = time.monotonic()
    rc, sent = run_module(
        "titanium.platform.http_traffic",
        {
            "url": quiet.stack.gateway,
            "host": "titanium.localhost",
            "paths": default_paths(),
            "seconds": SECONDS,
            "rate": 5,
        },
    )
    assert rc == 0, sent
    assert sent["sent"] == SECONDS * 5
    assert sent["failures"] == 0, sent["errors"]
    time.sleep(2)  # one more scrape after the last answer
    # The window reaches back to the traffic's start however long the module took to
    # start on a busy machine (verify reads right after it, over the traffic window).
    window = f"{int(time.monotonic() - began) + 3}s"

    rc, result = run_module(
        "titanium.platform.prometheus_golden_signals",
        {
            "prometheus_url": quiet.prometheus.url,
            "services": SERVICES,
            "window": window,
            "fail_on_missing": True,
        },
    )
    assert rc == 0, result.get("msg", result)
    assert result["missing"] == []
    for service in SERVICES:
        assert result["signals"][service]["requests_per_second"] > 0, service
    # Every request passes the gateway; the backends see only their share of the paths.
    gateway = result["signals"]["api-gateway"]["requests_per_second"]
    assert 0 < gateway <= 5
