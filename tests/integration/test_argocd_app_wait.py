"""argocd_app_wait against a real API server with Argo CD's Application CRD: the test
creates Applications and patches their status the way Argo CD's controller would
(the CRD has no status subresource, so status is part of the object)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from tests.cluster.sim import SimCluster
from tests.support.ansible_run import run_module

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]


def application(name: str, namespace: str, sync: str, health: str, **status) -> dict:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://git.example.invalid/r.git", "path": "."},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
        },
        "status": {"sync": {"status": sync}, "health": {"status": health}, **status},
    }


def apply(cluster: SimCluster, *objects: dict) -> None:
    document = {"apiVersion": "v1", "kind": "List", "items": list(objects)}
    cluster.kubectl("apply", "-f", "-", input=json.dumps(document))


def set_status(cluster: SimCluster, namespace: str, name: str, sync: str, health: str) -> None:
    patch = {"status": {"sync": {"status": sync}, "health": {"status": health}}}
    cluster.kubectl(
        "patch", "application", name, "-n", namespace, "--type", "merge", "-p", json.dumps(patch)
    )


def wait_module(cluster: SimCluster, namespace: str, **args) -> tuple[int, dict]:
    params = {
        "kubeconfig": cluster.kubeconfig,
        "context": "titanium-sim",
        "namespace": namespace,
        "interval": 1,
        **args,
    }
    return run_module("titanium.platform.argocd_app_wait", params, env=cluster.env())


@pytest.fixture
def namespace(sim_cluster_with_crds: SimCluster, request) -> str:
    name = "argo-wait-" + request.node.name.split("[")[0][-20:].replace("_", "-").strip("-")
    sim_cluster_with_crds.kubectl("create", "namespace", name)
    yield name
    sim_cluster_with_crds.kubectl("delete", "namespace", name, "--wait=false")


def test_ready_applications_pass_at_once(sim_cluster_with_crds, namespace):
    cluster = sim_cluster_with_crds
    apply(
        cluster,
        application("root", namespace, "Synced", "Healthy"),
        application("services", namespace, "Synced", "Healthy"),
    )
    rc, result = wait_module(cluster, namespace, timeout=30)
    assert rc == 0, result
    assert result["changed"] is False
    assert [(a["name"], a["sync"], a["health"]) for a in result["applications"]] == [
        ("root", "Synced", "Healthy"),
        ("services", "Synced", "Healthy"),
    ]


def test_waits_while_argo_cd_catches_up(sim_cluster_with_crds, namespace):
    cluster = sim_cluster_with_crds
    apply(cluster, application("services", namespace, "OutOfSync", "Progressing"))

    def catch_up():
        time.sleep(4)
        set_status(cluster, namespace, "services", "Synced", "Progressing")
        time.sleep(2)
        set_status(cluster, namespace, "services", "Synced", "Healthy")

    worker = threading.Thread(target=catch_up)
    worker.start()
    try:
        rc, result = wait_module(cluster, namespace, timeout=60)
    finally:
        worker.join()
    assert rc == 0, result
    # Ready at the first read would report 0.0: it polled until the patches landed.
    assert result["waited_seconds"] >= 1
    assert result["applications"][0]["health"] == "Healthy"


def test_timeout_dumps_conditions_resources_and_events(sim_cluster_with_crds, namespace):
    cluster = sim_cluster_with_crds
    apply(
        cluster,
        application("root", namespace, "Synced", "Healthy"),
        application(
            "services",
            namespace,
            "Synced",
            "Degraded",
            conditions=[{"type": "SyncError", "message": "hook migrate failed"}],
            resources=[
                {
                    "kind": "Deployment",
                    "namespace": namespace,
                    "name": "blog-service",
                    "status": "Synced",
                    "health": {"status": "Degraded", "message": "progress deadline exceeded"},
                }
            ],
        ),
    )
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "blog-service.backoff", "namespace": namespace},
        "involvedObject": {"kind": "Pod", "name": "blog-service-0", "namespace": namespace},
        "reason": "BackOff",
        "message": "Back-off restarting failed container",
        "type": "Warning",
        "lastTimestamp": "2026-01-01T00:00:00Z",
        "count": 7,
    }
    apply(cluster, event)
    rc, result = wait_module(
        cluster, namespace, timeout=3, diagnostics_namespaces=[namespace], events_limit=5
    )
    assert rc != 0
    assert "services=Synced/Degraded" in result["msg"]
    assert "condition SyncError: hook migrate failed" in result["msg"]
    (problem,) = result["diagnostics"]["applications"]
    assert problem["name"] == "services"
    assert problem["resources"][0]["message"] == "progress deadline exceeded"
    assert [e["reason"] for e in result["diagnostics"]["events"]] == ["BackOff"]


def test_named_application_that_does_not_exist(sim_cluster_with_crds, namespace):
    cluster = sim_cluster_with_crds
    apply(cluster, application("root", namespace, "Synced", "Healthy"))
    rc, result = wait_module(cluster, namespace, timeout=2, names=["root", "titanium-services"])
    assert rc != 0
    assert result["missing"] == ["titanium-services"]
    assert "titanium-services=absent" in result["msg"]
