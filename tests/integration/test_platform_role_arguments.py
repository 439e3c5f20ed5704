"""Bad input stops the platform phase before anything changes: ansible-playbook
runs playbooks/platform.yml on localhost with one bad variable and the run
fails naming it, changed=0. The roles' templates: tests/render/test_roles_platform.py."""

from __future__ import annotations

import pytest

from tests.support.ansible_run import run_on_localhost
from tests.support.role_templates import FAKE_SECRETS


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("istio_kiali_auth_strategy", "anonymous", "istio_kiali_auth_strategy"),
        ("istio_gateway_http_nodeport", "eighty", "istio_gateway_http_nodeport"),
    ],
)
def test_bad_input_stops_the_run_naming_the_variable(variable, value, says):
    result = run_on_localhost(
        "playbooks/platform.yml", {variable: value}, "--tags", "istio", timeout=120
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert says in output
    assert "Validating arguments against arg spec" in output
    assert "changed=0" in output


@pytest.mark.parametrize("environment", ["staging", "production"])
@pytest.mark.parametrize(
    ("tags", "variables", "says"),
    [
        (
            "monitoring",
            {"monitoring_nodeports_enabled": True},
            "monitoring_nodeports_enabled is true in {environment}",
        ),
        (
            "argocd",
            {"argocd_nodeport_enabled": True},
            "argocd_nodeport_enabled is true in {environment}",
        ),
        (
            "kiali",
            {"istio_kiali_nodeport": 30201},
            "istio_kiali_nodeport is 30201 in {environment}",
        ),
    ],
    ids=["monitoring", "argocd", "kiali"],
)
def test_a_console_nodeport_outside_local_without_tls_and_login_stops_the_run(
    environment, tags, variables, says
):
    settings = {
        "titanium_environment": environment,
        "monitoring_grafana_admin_password": FAKE_SECRETS["vault_grafana_admin_password"],
        "argocd_admin_password": FAKE_SECRETS["vault_argocd_admin_password"],
        "gitops_repo_url": "https://git.example.invalid/titanium/gitops.git",
        **variables,
    }
    result = run_on_localhost("playbooks/platform.yml", settings, "--tags", tags, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert says.format(environment=environment) in output, output[-3000:]
    assert "port-forward" in output
    assert "changed=0" in output
