"""The pod-failure and database-restart drills against the simulated cluster: the real
controllers replace what the drill deletes (kwok reports the new pods Running and
Ready), and the playbooks measure and report the recovery. The ingress checks are off:
the simulated cluster has no data plane."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cluster.sim import SimCluster
from tests.support.ansible_run import run_on_localhost
from tests.support.offline_values import offline_values

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "titanium-drill"


def workload(kind: str, name: str, replicas: int) -> dict:
    labels = {"app.kubernetes.io/name": name}
    spec = {
        "replicas": replicas,
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": name, "image": "registry.invalid/titanium/x:0"}]},
        },
    }
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": spec,
    }


@pytest.fixture(scope="module")
def workloads(sim_cluster: SimCluster) -> SimCluster:
    sim_cluster.kubectl("create", "namespace", NAMESPACE)
    objects = [
        workload("Deployment", "api-gateway", 2),
        workload("Deployment", "blog-service", 2),
        workload("StatefulSet", "postgres", 1),
    ]
    sim_cluster.kubectl(
        "apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
    )
    for name in ("deployment/api-gateway", "deployment/blog-service", "statefulset/postgres"):
        sim_cluster.kubectl("rollout", "status", name, "-n", NAMESPACE, "--timeout=90s")
    yield sim_cluster
    sim_cluster.kubectl("delete", "namespace", NAMESPACE, "--wait=false")


def drill(cluster: SimCluster, playbook: str, **extra) -> subprocess.CompletedProcess[str]:
    variables = {
        "titanium_kubeconfig": cluster.kubeconfig,
        "titanium_kube_context": "titanium-sim",
        "drill_namespace": NAMESPACE,
        "drill_check_ingress": False,
        "titanium_environment_values": offline_values("local"),
        **extra,
    }
    return run_on_localhost(f"playbooks/runbooks/{playbook}", variables, env=cluster.env())


def pods(cluster: SimCluster, name: str) -> list[str]:
    listing = cluster.kubectl(
        "get", "pods", "-n", NAMESPACE, "-l", f"app.kubernetes.io/name={name}", "-o", "json"
    )
    return sorted(p["metadata"]["name"] for p in json.loads(listing.stdout)["items"])


def test_pod_failure_drill_replaces_the_pod_and_reports_the_time(workloads):
    before = pods(workloads, "blog-service")
    result = drill(workloads, "pod-failure-drill.yml", service="blog-service")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "replicas available again after" in result.stdout
    after = pods(workloads, "blog-service")
    assert len(after) == 2
    assert len(set(before) - set(after)) == 1, (before, after)


def test_pod_failure_drill_names_a_service_that_does_not_exist(workloads):
    result = drill(workloads, "pod-failure-drill.yml", service="no-such-service")
    assert result.returncode != 0
    assert "Read the service's Deployment" in result.stdout


def test_database_restart_drill_waits_for_postgres_and_the_services(workloads):
    before = json.loads(
        workloads.kubectl("get", "pod", "postgres-0", "-n", NAMESPACE, "-o", "json").stdout
    )["metadata"]["uid"]
    result = drill(
        workloads, "database-restart-drill.yml", drill_services=["api-gateway", "blog-service"]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PostgreSQL restarted; it and every service were ready again after" in result.stdout
    after = json.loads(
        workloads.kubectl("get", "pod", "postgres-0", "-n", NAMESPACE, "-o", "json").stdout
    )["metadata"]["uid"]
    assert after != before


def test_drills_refuse_production_unless_asked(workloads):
    result = drill(workloads, "pod-failure-drill.yml", titanium_environment="production")
    assert result.returncode != 0
    assert "allow_production" in result.stdout
