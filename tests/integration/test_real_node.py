"""The rehearsal's real node (tests/cluster/node.py) beside the kwok nodes of a
simulated cluster: it registers and becomes Ready, runs pods from an image built
here (the services' local Debian Python base, imported into its containerd), routes
a NodePort from the host and a ClusterIP from a pod, answers cluster DNS, and
leaves nothing behind when stopped.

One node for the module: the checks share it and the last one stops it."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cluster.node import BRIDGE, LABEL, ON_THE_NODE, TAINT, RealNode
from tests.cluster.sim import SimCluster
from titanium_tools.versions import pins

# One real node per machine: a parallel run keeps this module and its sibling on
# one worker (tests/support/plugin.py, ONE_AT_A_TIME).
pytestmark = [pytest.mark.slow, pytest.mark.long(120)]
REPO_ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = "localhost/titanium-python:3.11-bookworm"
NAMESPACE = "real-node"
NODE_PORT = 30081
VERSIONS = pins()


@pytest.fixture(scope="module")
def base_archive(tmp_path_factory) -> Path:
    """The services' Python base image (built once, cached by podman) as the
    docker archive `ctr images import` reads."""
    env = {**os.environ, "CONTAINERS_CONF": str(REPO_ROOT / "molecule/k3s/containers.conf")}
    subprocess.run([str(REPO_ROOT / "scripts/services/base-image.sh")], env=env, check=True)
    archive = tmp_path_factory.mktemp("images") / "python.tar"
    subprocess.run(
        ["podman", "save", "--format", "docker-archive", "-o", str(archive), BASE_IMAGE],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    return archive


@pytest.fixture(scope="module")
def cluster() -> Iterator[SimCluster]:
    cluster = SimCluster.start(timeout=120)
    try:
        yield cluster
    finally:
        assert not cluster.stop()


@pytest.fixture(scope="module")
def node(cluster: SimCluster, tmp_path_factory, base_archive: Path) -> Iterator[RealNode]:
    node = RealNode.start(cluster, tmp_path_factory.mktemp("node"))
    try:
        node.import_image(base_archive)
        cluster.kubectl("create", "namespace", NAMESPACE)
        yield node
    finally:
        node.stop()  # the last test asserts what it leaves


def node_object(cluster: SimCluster, name: str) -> dict:
    return json.loads(cluster.kubectl("get", "node", name, "-o", "json").stdout)


def apply(cluster: SimCluster, *objects: dict) -> None:
    items = {"apiVersion": "v1", "kind": "List", "items": list(objects)}
    cluster.kubectl("apply", "-n", NAMESPACE, "-f", "-", input=json.dumps(items))


def wait_for(what: str, check, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(1)


def test_the_node_is_ready_beside_the_kwok_nodes(cluster: SimCluster, node: RealNode) -> None:
    assert node.name in cluster.ready_nodes()
    assert {"sim-node-1", "sim-node-2", "sim-node-3"} <= set(cluster.ready_nodes())
    real = node_object(cluster, node.name)
    info = real["status"]["nodeInfo"]
    # The control plane's release, from the same module, with its version ldflags.
    assert info["kubeletVersion"] == VERSIONS["KUBERNETES_VERSION"]
    assert info["kubeProxyVersion"] in ("", VERSIONS["KUBERNETES_VERSION"])
    assert info["containerRuntimeVersion"].startswith("containerd://1.6.")
    assert {"type": "InternalIP", "address": node.node_ip} in real["status"]["addresses"]
    assert {k: real["spec"]["taints"][0][k] for k in TAINT} == TAINT
    assert real["metadata"]["labels"][LABEL[0]] == LABEL[1]


def test_containerd_keeps_to_the_node_directory(node: RealNode) -> None:
    config = (node.work / "containerd" / "config.toml").read_text()
    assert "restrict_oom_score_adj = true" in config
    assert node.socket.startswith(node.workdir)
    for line in config.splitlines():
        if line.strip().startswith(("root =", "state =", "address =", "path =", "Root =")):
            value = line.split("=", 1)[1].strip().strip('"')
            assert value in ("", "127.0.0.1") or value.startswith(node.workdir), line
    # The sandbox image was built here; nothing was pulled.
    assert set(node.images()) >= {"localhost/titanium-pause:1", BASE_IMAGE}


def test_pods_run_and_a_node_port_routes_to_them(cluster: SimCluster, node: RealNode) -> None:
    labels = {"app": "web"}
    apply(
        cluster,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        **ON_THE_NODE,
                        "containers": [
                            {
                                "name": "web",
                                "image": BASE_IMAGE,
                                "imagePullPolicy": "Never",
                                # Answers with the pod's name, so the test sees both.
                                "command": ["sh", "-c", "cat /etc/hostname > /tmp/index.html"
                                            " && exec python3 -m http.server -d /tmp 8080"],
                                "ports": [{"containerPort": 8080}],
                                "readinessProbe": {"httpGet": {"path": "/", "port": 8080},
                                                   "periodSeconds": 1},
                            }
                        ],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {
                "type": "NodePort",
                "selector": labels,
                "ports": [{"port": 80, "targetPort": 8080, "nodePort": NODE_PORT}],
            },
        },
    )  # fmt: skip

    def pods() -> list[dict]:
        out = cluster.kubectl("get", "pods", "-n", NAMESPACE, "-l", "app=web", "-o", "json")
        return json.loads(out.stdout)["items"]

    def ready(pod: dict) -> bool:
        conditions = pod["status"].get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    wait_for("two web pods Ready", lambda: sum(map(ready, pods())) == 2)
    assert {pod["spec"]["nodeName"] for pod in pods()} == {node.name}
    names = {pod["metadata"]["name"] for pod in pods()}
    url = f"http://{node.node_ip}:{NODE_PORT}/"

    def answers() -> bool:  # once kube-proxy has written the Service's rules
        try:
            return httpx.get(url, timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    wait_for("the NodePort to answer", answers, timeout=60)
    seen: set[str] = set()
    for _ in range(40):
        answer = httpx.get(url, timeout=5)
        assert answer.status_code == 200
        seen.add(answer.text.strip())
    assert seen == names  # kube-proxy balances over both pods


def test_a_pod_finds_a_service_by_name_through_cluster_dns(cluster: SimCluster, node) -> None:
    script = (
        "import socket, urllib.request\n"
        "address = socket.gethostbyname('web.real-node.svc.cluster.local')\n"
        "assert address.startswith('10.96.'), address\n"
        "assert urllib.request.urlopen('http://web/', timeout=5).status == 200\n"
        "assert socket.gethostbyname('kubernetes.default').startswith('10.96.')\n"
    )
    apply(
        cluster,
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "dns"},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "spec": {
                        **ON_THE_NODE,
                        "restartPolicy": "Never",
                        "containers": [
                            {
                                "name": "dns",
                                "image": BASE_IMAGE,
                                "imagePullPolicy": "Never",
                                "command": ["python3", "-c", script],
                            }
                        ],
                    }
                },
            },
        },
    )

    def finished() -> dict:
        out = cluster.kubectl("get", "job", "dns", "-n", NAMESPACE, "-o", "json").stdout
        status = json.loads(out)["status"]
        return status if status.get("succeeded") or status.get("failed") else {}

    wait_for("the DNS job to finish", finished)
    logs = cluster.kubectl("logs", "-n", NAMESPACE, "job/dns", check=False)
    assert finished().get("succeeded") == 1, logs.stdout + logs.stderr


def test_stopping_leaves_nothing_behind(node: RealNode) -> None:
    workdir = node.workdir
    assert node.leftovers() != []  # it runs: the check sees it
    assert node.stop() == []
    assert not Path(f"/sys/class/net/{BRIDGE}").exists()
    assert "KUBE-" not in subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    assert workdir not in Path("/proc/self/mountinfo").read_text()
    assert not Path(workdir).exists()
