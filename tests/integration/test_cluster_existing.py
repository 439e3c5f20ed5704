"""playbooks/cluster.yml with provider `existing` against the simulated cluster
(a real kube-apiserver, tests/cluster): preflight reads its version, the k3s
role adopts it through the kubeconfig and context, nothing changes — in check
mode, on the first run and on the second. Preflight also reads the cluster for
the NodePorts its Services hold and the Kubernetes minor the pinned Istio must
support."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.ansible_run import recap, run_playbook, write_vault_values
from tests.support.mirror import mirror, source_variables

# As molecule/default: the Helm releases are off (this test adopts, it installs
# no chart), so no chart repository or Istio release is asked for.
HELM_RELEASES_OFF = {
    f"{component}_enabled": False
    for component in ("istio", "monitoring", "logging", "tracing", "argocd", "gitserver")
}


@pytest.fixture(scope="module")
def adopt_args(sim_cluster, vault_values) -> list[str]:
    return [
        "playbooks/cluster.yml",
        "-i",
        "inventories/local",
        "-e",
        f"@{vault_values}",
        "-e",
        f"k3s_provider=existing k3s_kubeconfig={sim_cluster.kubeconfig} k3s_context=titanium-sim",
        "-e",
        json.dumps(HELM_RELEASES_OFF),
    ]


@pytest.fixture(scope="module")
def vault_values(tmp_path_factory):
    return write_vault_values(tmp_path_factory.mktemp("vault") / "values.json")


def test_check_mode_then_two_runs_adopt_the_cluster_and_change_nothing(adopt_args, sim_cluster):
    for extra in (["--check", "--diff"], [], []):
        result = run_playbook(*adopt_args, *extra, check=True)
        version = re.search(r"provider existing, Kubernetes (v[0-9.]+)", result.stdout)
        assert version, result.stdout[-3000:]
        ready = re.search(r"(\d+) Ready node\(s\)", result.stdout)
        assert ready and int(ready.group(1)) == len(sim_cluster.ready_nodes())
        assert all(counts["changed"] == 0 for counts in recap(result.stdout).values()), extra


def test_preflight_reads_held_nodeports_and_the_kubernetes_istio_supports(
    adopt_args, sim_cluster, tmp_path
):
    """A Service in another namespace holds the ingress gateway's NodePort; one in
    Istio's own namespace (an earlier run's) holds the HTTPS one and is no rival;
    the pinned Istio 1.27 does not support the simulated cluster's Kubernetes."""
    manifest = """
apiVersion: v1
kind: Namespace
metadata: {name: NAMESPACE}
---
apiVersion: v1
kind: Service
metadata: {name: holder, namespace: NAMESPACE}
spec:
  type: NodePort
  selector: {app: none}
  ports: [{port: 80, nodePort: PORT}]
"""
    for namespace, port in (("preflight-rival", 31304), ("istio-system", 31443)):
        sim_cluster.kubectl(
            "apply",
            "-f",
            "-",
            input=manifest.replace("NAMESPACE", namespace).replace("PORT", str(port)),
        )
    try:
        with mirror(tmp_path / "mirror") as url:
            variables = {**source_variables(url), "istio_version": "1.27.3"}
            result = run_playbook(
                *adopt_args[:-2], "--tags", "only-always", "-e", json.dumps(variables), check=False
            )
    finally:
        sim_cluster.kubectl("delete", "namespace", "preflight-rival", "--wait=false")
        sim_cluster.kubectl("-n", "istio-system", "delete", "service", "holder")
    output = result.stdout + result.stderr
    assert "Preflight found 2 problem(s); nothing has been changed" in output, output[-3000:]
    assert (
        "istio_gateway_http_nodeport is 31304, which Service preflight-rival/holder already holds"
        in output
    )
    assert "istio_gateway_https_nodeport is" not in output
    version = re.search(r"but the cluster \((v1\.(\d+)\.\d+)\) runs Kubernetes 1\.(\d+)", output)
    assert version and version.group(2) == version.group(3), output[-3000:]
    assert "istio_version 1.27.3 supports Kubernetes 1.29 to 1.33" in output
