"""The simulated cluster itself: real control plane, kwok nodes, clean stop."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.cluster import sim
from tests.cluster.sim import SimCluster, SimError
from titanium_tools.versions import pins

pytestmark = pytest.mark.slow


def pinned(name: str) -> str:
    return pins()[name]


def test_api_server_reports_the_pinned_release(sim_cluster: SimCluster) -> None:
    status, version = sim_cluster.api("GET", "/version")
    assert status == 200
    assert version["gitVersion"] == pinned("KUBERNETES_VERSION")


def test_three_nodes_are_ready(sim_cluster: SimCluster) -> None:
    assert sim_cluster.ready_nodes() == sorted(sim.NODE_NAMES)


def test_rbac_is_enforced(sim_cluster: SimCluster) -> None:
    # The scheduler's identity may not read secrets: proof that authorization is
    # RBAC, not AlwaysAllow.
    result = sim_cluster.kubectl(
        "auth", "can-i", "list", "secrets", "--as=system:kube-scheduler", check=False
    )
    assert result.stdout.strip() == "no"


def wait_for(predicate, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def pods(cluster: SimCluster, namespace: str, selector: str) -> list[dict]:
    out = cluster.kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "json").stdout
    return json.loads(out)["items"]


def is_ready(pod: dict) -> bool:
    conditions = pod.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def test_deployment_becomes_available_and_a_deleted_pod_is_replaced(
    sim_cluster: SimCluster,
) -> None:
    ns = "drill"
    sim_cluster.kubectl("create", "namespace", ns)
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "registry.invalid/web:1"}]},
            },
        },
    }
    sim_cluster.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(deployment))
    sim_cluster.kubectl(
        "wait", "-n", ns, "--for=condition=Available", "--timeout=60s", "deployment/web"
    )
    before = pods(sim_cluster, ns, "app=web")
    assert len(before) == 3 and all(is_ready(p) for p in before)
    # The scheduler spread them over the simulated nodes.
    assert {p["spec"]["nodeName"] for p in before} <= set(sim.NODE_NAMES)

    victim = before[0]["metadata"]["name"]
    sim_cluster.kubectl("delete", "pod", "-n", ns, victim, "--wait=false")

    def replaced() -> list[dict] | None:
        now = pods(sim_cluster, ns, "app=web")
        names = {p["metadata"]["name"] for p in now}
        ready = [p for p in now if is_ready(p) and not p["metadata"].get("deletionTimestamp")]
        return now if victim not in names and len(ready) == 3 else None

    after = wait_for(replaced, what="the ReplicaSet controller to replace the deleted pod")
    assert {p["metadata"]["name"] for p in after} - {p["metadata"]["name"] for p in before}
    sim_cluster.kubectl(
        "wait", "-n", ns, "--for=condition=Available", "--timeout=60s", "deployment/web"
    )


def test_a_job_runs_to_completion(sim_cluster: SimCluster) -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate", "namespace": "default"},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "migrate", "image": "registry.invalid/migrate:1"}],
                }
            },
        },
    }
    sim_cluster.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(job))
    sim_cluster.kubectl(
        "wait", "-n", "default", "--for=condition=Complete", "--timeout=60s", "job/migrate"
    )
    (pod,) = pods(sim_cluster, "default", "batch.kubernetes.io/job-name=migrate")
    assert pod["status"]["phase"] == "Succeeded"


def live_processes_in(groups: list[int]) -> list[str]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in groups and fields[0] != "Z":
            found.append(stat.parent.name)
    return found


def test_stop_leaves_no_process_behind(tmp_path: Path) -> None:
    cluster = SimCluster.start(workdir=tmp_path / "sim")
    groups = [c.pid for c in cluster.components]
    assert len(groups) == 5 and live_processes_in(groups)
    assert cluster.stop() == []
    assert live_processes_in(groups) == []
    with pytest.raises(OSError):
        cluster.api("GET", "/readyz")


def test_a_failed_start_reports_the_component_logs(tmp_path: Path, monkeypatch) -> None:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    for tool in sim.bin_dir().iterdir():
        (fake_bin / tool.name).symlink_to(tool.resolve())
    broken = fake_bin / "kube-apiserver"
    broken.unlink()
    broken.write_text("#!/bin/sh\necho 'refusing to start: simulated failure' >&2\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setenv("TITANIUM_SIM_BIN", str(fake_bin))

    with pytest.raises(SimError) as failure:
        SimCluster.start(workdir=tmp_path / "sim", timeout=30)
    message = str(failure.value)
    assert "kube-apiserver" in message
    assert "refusing to start: simulated failure" in message
    assert "----- etcd" in message


def test_command_line_up_status_down(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(sim, "STATE_FILE", tmp_path / "state.json")
    kubeconfig = tmp_path / "kubeconfig"
    try:
        assert sim.main(["up", "--kubeconfig", str(kubeconfig)]) == 0
        assert kubeconfig.is_file()
        assert sim.main(["status"]) == 0
        state = json.loads((tmp_path / "state.json").read_text())
        groups = [c["pid"] for c in state["components"]]
    finally:
        assert sim.main(["down"]) == 0
    assert live_processes_in(groups) == []
    assert not Path(state["workdir"]).exists()
