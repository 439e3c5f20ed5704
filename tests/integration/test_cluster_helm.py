"""The Helm path of the platform roles, for real: kubernetes.core.helm drives
the real helm binary against the simulated cluster, through ansible-playbook."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.cluster.sim import SimCluster, binary
from tests.support.ansible_run import run_on_localhost

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
PLAYBOOK = HERE / "playbooks" / "helm-release.yml"
CHART = HERE / "charts" / "sim-probe"
NAMESPACE = "helm-probe"


def release(cluster: SimCluster, greeting: str) -> dict:
    """One ansible-playbook run; returns the play's stats for localhost."""
    extra = {
        "sim_helm_binary": binary("helm"),
        "sim_kubeconfig": cluster.kubeconfig,
        "sim_chart_path": str(CHART),
        "sim_namespace": NAMESPACE,
        "sim_greeting": greeting,
    }
    env = {
        **cluster.env(),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
        "ANSIBLE_NOCOLOR": "1",
        # helm keeps its cache and config here, not in the user's home.
        "HELM_CACHE_HOME": os.path.join(cluster.workdir, "helm", "cache"),
        "HELM_CONFIG_HOME": os.path.join(cluster.workdir, "helm", "config"),
        "HELM_DATA_HOME": os.path.join(cluster.workdir, "helm", "data"),
    }
    result = run_on_localhost(str(PLAYBOOK), extra, env=env)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n{cluster.logs()}"
    # ansible.cfg's timing callbacks print around the JSON document.
    report, _ = json.JSONDecoder().raw_decode(result.stdout[result.stdout.index("{") :])
    return report["stats"]["localhost"]


def configmap_greeting(cluster: SimCluster) -> str:
    out = cluster.kubectl("get", "configmap", "-n", NAMESPACE, "sim-probe-settings", "-o", "json")
    return json.loads(out.stdout)["data"]["greeting"]


def helm_revision(cluster: SimCluster) -> int:
    out = subprocess.run(
        [binary("helm"), "list", "-n", NAMESPACE, "-o", "json"],
        env=cluster.env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (entry,) = [r for r in json.loads(out) if r["name"] == "sim-probe"]
    assert entry["status"] == "deployed"
    return int(entry["revision"])


def test_helm_install_upgrade_then_no_change(sim_cluster: SimCluster) -> None:
    first = release(sim_cluster, "hello")
    assert first["changed"] == 1 and first["failures"] == 0
    assert configmap_greeting(sim_cluster) == "hello"
    assert helm_revision(sim_cluster) == 1
    # wait: true made helm wait for the Deployment: kwok's pods are Ready.
    sim_cluster.kubectl(
        "wait", "-n", NAMESPACE, "--for=condition=Available", "--timeout=5s", "deployment/sim-probe"
    )

    second = release(sim_cluster, "bonjour")
    assert second["changed"] == 1
    assert configmap_greeting(sim_cluster) == "bonjour"
    assert helm_revision(sim_cluster) == 2

    third = release(sim_cluster, "bonjour")
    assert third["changed"] == 0 and third["failures"] == 0
    assert helm_revision(sim_cluster) == 2
