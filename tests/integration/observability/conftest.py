"""The observability tier: the blog stack of tests/support/blog_stack.py, a real
Prometheus scraping its metrics ports the way the rendered ServiceMonitor
would, with the rendered alert rules of the `local` environment, and a real
Alertmanager whose webhook receiver is this test process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.alertmanager_server import (
    Alertmanager,
    WebhookRecorder,
    running_alertmanager,
    webhook_recorder,
)
from tests.support.blog_stack import SERVICE_NAMES, Stack, blog_stack
from tests.support.monitoring import Monitoring, render_monitoring, scrape_config
from tests.support.prometheus_server import Prometheus, running_prometheus
from tests.support.traffic import Traffic

ENV = "local"


@dataclass
class Observed:
    stack: Stack
    monitoring: Monitoring
    prometheus: Prometheus
    alertmanager: Alertmanager
    webhook: WebhookRecorder
    traffic: Traffic | None = None


@contextmanager
def observing(work: Path) -> Iterator[Observed]:
    """Everything running, no traffic yet."""
    monitoring = render_monitoring(ENV, work)
    with (
        blog_stack(work) as stack,
        webhook_recorder() as webhook,
        running_alertmanager(work, webhook.url) as alertmanager,
    ):
        ports = {SERVICE_NAMES[name]: port for name, port in stack.metrics_ports.items()}
        with running_prometheus(
            work,
            interval="1s",
            scrape_configs=[scrape_config(monitoring, ports)],
            rule_files=[monitoring.rules_file],
            alertmanagers=[alertmanager.address],
            # An alert that fires before the notifier knows Alertmanager is
            # otherwise re-sent only after the default minute.
            flags=["--rules.alert.resend-delay=2s"],
        ) as prometheus:
            yield Observed(stack, monitoring, prometheus, alertmanager, webhook)


@pytest.fixture(scope="module")
def observed(tmp_path_factory) -> Iterator[Observed]:
    """Everything running, traffic flowing; the tests share one timeline."""
    with observing(tmp_path_factory.mktemp("observability")) as running:
        running.traffic = Traffic(running.stack).start()
        try:
            yield running
        finally:
            running.traffic.stop()
