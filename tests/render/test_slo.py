"""The service level objectives are stated once (slo in gitops/values/common.yml):
the rendered alerts carry them and the alert runbooks an operator reads at 3 a.m.
give the same numbers. verify judges by them: tests/integration/test_verify_slo.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.titanium.platform.plugins.module_utils import gitops_render as gitops
from titanium_tools import inventory

REPO_ROOT = Path(__file__).resolve().parents[2]
SLO = gitops.common_values()["slo"]
RUNBOOKS = REPO_ROOT / "docs/runbooks/alerts"


def rules(env: str) -> dict:
    files = inventory.render(env)
    path = f"platform/{env}/monitoring/prometheusrules.yaml"
    groups = yaml.safe_load(files[path])["spec"]["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"] if "alert" in rule}


@pytest.mark.parametrize("env", inventory.environments())
def test_the_alerts_render_the_slo(env):
    alerts = rules(env)
    errors, latency = alerts["HighErrorRate"], alerts["HighLatency"]
    assert errors["expr"].rstrip().endswith(f"> {SLO['max_error_5xx_percent'] / 100}")
    assert latency["expr"].lstrip().startswith(f"histogram_quantile({SLO['latency_quantile']},")
    assert latency["expr"].rstrip().endswith(f"> {SLO['max_latency_ms'] / 1000}")
    assert errors["for"] == latency["for"] == SLO["for"]


def test_the_runbooks_give_the_slo_numbers():
    minutes = int(SLO["for"].removesuffix("m"))
    errors = " ".join((RUNBOOKS / "HighErrorRate.md").read_text().split())
    assert f"more than {SLO['max_error_5xx_percent']} % of a service's requests" in errors
    assert f"for {minutes} minutes" in errors
    latency = " ".join((RUNBOOKS / "HighLatency.md").read_text().split())
    quantile = int(SLO["latency_quantile"] * 100)
    assert f"{quantile}th percentile latency" in latency
    assert f"above {SLO['max_latency_ms']} ms for {minutes} minutes" in latency
