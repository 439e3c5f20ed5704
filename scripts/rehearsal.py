"""`make rehearsal` / `make rehearsal-down`: the whole of site.yml where k3s cannot run.

    python scripts/rehearsal.py up       # start everything, run site.yml, wait, report
    python scripts/rehearsal.py down     # stop every process `up` started
    python scripts/rehearsal.py status   # what runs

`up` starts, each as detached processes recorded under build/rehearsal/:
the simulated cluster (tests/cluster/sim.py) with the CRDs of build/crds, one
real node beside its kwok nodes (tests/cluster/node.py: containerd, kubelet,
kube-proxy and CoreDNS, tainted so only pods that tolerate it run there), Gitea
(tests/support/gitea.py) whose admin password is the rehearsal vault's, Argo CD
(tests/support/argocd.py), a Prometheus scraping the blog's pods with the
labels the rendered ServiceMonitors give and evaluating the rendered alert
rules, and an Alertmanager it sends to. The blog itself runs on the real node:
site.yml's images role builds the services' images here and imports them into
the node's containerd (tests/cluster/images' data stores and k6 are imported
before), the environment's namespace sends its pods there, and a
NodePort Service on the node is the entry verify's smoke test goes through.
It writes build/rehearsal/endpoints.json, which
inventories/rehearsal reads, runs `ansible-playbook site.yml -i
inventories/rehearsal`, watches the Argo CD Applications until every one is
Synced and Healthy, and writes build/rehearsal/report.json (each phase's time,
time to all Synced/Healthy, each Application's status and revision, the order
they became ready), printed as a table. `down` stops what the state names and
removes build/rehearsal/ (the vault stays: inventories/rehearsal/group_vars/all).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.cluster.node import LABEL as NODE_LABEL  # noqa: E402
from tests.cluster.node import ON_THE_NODE, TOLERATION, RealNode  # noqa: E402
from tests.cluster.processes import Component, alive, start_component, stop_components  # noqa: E402
from tests.cluster.sim import SimCluster, crds_dir, stop_saved  # noqa: E402  import after sys.path
from tests.support.argocd import ArgoCD  # noqa: E402
from tests.support.gitea import GiteaServer, stop_state  # noqa: E402
from tests.support.monitoring import render_monitoring  # noqa: E402
from titanium_tools import inventory  # noqa: E402

STATE_DIR = ROOT / "build" / "rehearsal"
INVENTORY = ROOT / "inventories" / "rehearsal"
ENV_NAMESPACE = "titanium-local"  # the overlay inventories/rehearsal deploys
# Prometheus listens at this base + 90, Alertmanager at + 93.
SERVICES_PORT_BASE = int(os.environ.get("TITANIUM_REHEARSAL_PORT_BASE", "18000"))
SERVICES = ("api-gateway", "user-service", "auth-service", "blog-service")


class RehearsalError(RuntimeError):
    pass


def path(name: str) -> Path:
    return STATE_DIR / name


# The custom resources the GitOps tree holds besides Argo CD's: only their CRDs
# (all of the Prometheus Operator's outlast the API server's timeout on a busy
# 2-core machine).
TREE_CRDS = {
    "istio": ["networking.istio.io_gateways", "networking.istio.io_virtualservices",
              "networking.istio.io_destinationrules", "security.istio.io_authorizationpolicies",
              "security.istio.io_peerauthentications"],
    "prometheus-operator": ["monitoring.coreos.com_servicemonitors",
                            "monitoring.coreos.com_podmonitors",
                            "monitoring.coreos.com_prometheusrules"],
}  # fmt: skip


def crds() -> list[Path]:
    """build/crds' Argo CD directory, and one of the others' CRDs the tree uses."""
    chosen = path("crds")
    for group, names in TREE_CRDS.items():
        (chosen / group).mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copy(crds_dir() / group / f"{name}.yaml", chosen / group / f"{name}.yaml")
    return [crds_dir() / "argocd", *(chosen / group for group in TREE_CRDS)]


# -- storage: the provisioner k3s ships --------------------------------------------

STORAGE_NAMESPACE = "local-path-storage"
STORAGE_CLASS = "local-path"
PROVISIONER = "rancher.io/local-path"


def local_path_storage(cluster: SimCluster, node: RealNode, image: str) -> None:
    """rancher's local-path-provisioner as a pod on the real node, and its
    StorageClass as the cluster's default (as on k3s, where local's overlay runs:
    the tree's claims name no class). It makes each volume a directory under the
    node's own directory, through a helper pod on the node, so a volume goes
    when the node goes. The pod uses the host's network: the simulated API
    server listens on 127.0.0.1 only, which no pod network reaches."""
    volumes = node.work / "volumes"
    volumes.mkdir(parents=True, exist_ok=True)
    host, port = urlsplit(cluster.server).hostname, urlsplit(cluster.server).port
    labels = {"app.kubernetes.io/name": "local-path-provisioner"}
    account = "local-path-provisioner"
    helper = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "helper-pod"},
        "spec": {
            "containers": [{"name": "helper-pod", "image": image, "imagePullPolicy": "Never"}],
        },
    }
    # The helper runs them as `sh /script/setup|teardown` with VOL_DIR set.
    scripts = {
        "setup": 'set -eu\nmkdir -m 0777 -p "$VOL_DIR"\n',
        "teardown": 'set -eu\nrm -rf "$VOL_DIR"\n',
    }
    config = {"nodePathMap": [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES",
                               "paths": [str(volumes)]}]}  # fmt: skip
    rules = [
        {"apiGroups": [""], "resources": ["nodes", "persistentvolumeclaims", "configmaps"],
         "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["persistentvolumes"],
         "verbs": ["get", "list", "watch", "create", "delete", "patch", "update"]},
        {"apiGroups": [""], "resources": ["persistentvolumeclaims/status"], "verbs": ["update"]},
        {"apiGroups": [""], "resources": ["pods", "pods/log"],
         "verbs": ["get", "list", "watch", "create", "delete"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch", "update"]},
        {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"],
         "verbs": ["get", "list", "watch"]},
    ]  # fmt: skip
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "local-path-provisioner", "namespace": STORAGE_NAMESPACE},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    **ON_THE_NODE,
                    "serviceAccountName": account,
                    "hostNetwork": True,
                    "containers": [{
                        "name": "provisioner",
                        "image": image,
                        "imagePullPolicy": "Never",
                        "args": ["start", "--config", "/etc/config/config.json",
                                 "--provisioner-name", PROVISIONER,
                                 "--namespace", STORAGE_NAMESPACE,
                                 "--service-account-name", account,
                                 "--configmap-name", "local-path-config",
                                 "--helper-image", image],
                        # In-cluster configuration, at the address the API server
                        # listens on (its certificate names 127.0.0.1).
                        "env": [{"name": "KUBERNETES_SERVICE_HOST", "value": host},
                                {"name": "KUBERNETES_SERVICE_PORT", "value": str(port)},
                                {"name": "CONFIG_MOUNT_PATH", "value": "/etc/config"}],
                        "volumeMounts": [{"name": "config", "mountPath": "/etc/config"}],
                    }],
                    "volumes": [{"name": "config",
                                 "configMap": {"name": "local-path-config"}}],
                },
            },
        },
    }  # fmt: skip
    objects = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": STORAGE_NAMESPACE}},
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": account, "namespace": STORAGE_NAMESPACE}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "titanium:local-path-provisioner"}, "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "titanium:local-path-provisioner"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": "titanium:local-path-provisioner"},
         "subjects": [{"kind": "ServiceAccount", "name": account,
                       "namespace": STORAGE_NAMESPACE}]},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "local-path-config", "namespace": STORAGE_NAMESPACE},
         "data": {"config.json": json.dumps(config), "helperPod.yaml": json.dumps(helper),
                  **scripts}},
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
         "metadata": {"name": STORAGE_CLASS,
                      "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
         "provisioner": PROVISIONER, "reclaimPolicy": "Delete",
         "volumeBindingMode": "WaitForFirstConsumer"},
        deployment,
    ]  # fmt: skip
    cluster.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                         "items": objects}))  # fmt: skip


# -- the blog on the real node ------------------------------------------------------

PODMAN_ENV = {"CONTAINERS_CONF": str(ROOT / "molecule/k3s/containers.conf")}
# What tests/cluster/images/build.sh built for the real node besides the
# services: the overlay's key (gitops/values/common.yml) or the role -> image.
BUILT_IMAGES = ROOT / "build" / "rehearsal-images.json"
PROVISIONER_IMAGE = "local_path_provisioner"


def podman(*args: str) -> str:
    return subprocess.run(
        ["podman", *args], env={**os.environ, **PODMAN_ENV},
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


def image_repository(service: str) -> str:
    """Where the overlay takes a service's image from: the registry local's
    inventory names, as the render composes it."""
    common = yaml.safe_load((ROOT / "gitops/values/common.yml").read_text())
    return f"{inventory.values('local')['image_registry']}/{common['image_prefix']}{service}"


def load_images(node: RealNode) -> dict[str, str]:
    """What the node runs besides the services (tests/cluster/images), imported
    into its containerd. Each is named by its tag and by the digest containerd
    holds, the way a pull names what it fetched (the CRI finds an image by a
    reference with a digest only under that name), and the overlay runs exactly
    that reference (endpoints.json's data_images, the rehearsal inventory's
    gitops_environment_values). The services' own images are site.yml's to build
    and import (roles/images, on this machine against the node's socket).
    Returns {key: tag@digest}."""
    if not BUILT_IMAGES.exists():
        raise RehearsalError(f"{BUILT_IMAGES} is missing: run `make rehearsal-images`")
    built = json.loads(BUILT_IMAGES.read_text())
    archives = path("images")
    archives.mkdir(exist_ok=True)
    references = {}
    for key, local in built.items():
        archive = archives / "image.tar"
        podman("save", "--format", "docker-archive", "-o", str(archive), local)
        node.import_image(archive)
        archive.unlink()
        digest = node.images()[local]
        node.ctr("images", "tag", "--force", local, f"{local.rsplit(':', 1)[0]}@{digest}")
        references[key] = f"{local}@{digest}"
    return references


def service_images(node: RealNode) -> dict[str, str]:
    """{reference: digest} of the services' images the node's containerd holds."""
    repositories = tuple(f"{image_repository(service)}:" for service in SERVICES)
    return {ref: digest for ref, digest in node.images().items() if ref.startswith(repositories)}


def place_on_the_node(cluster: SimCluster) -> None:
    """Every pod of the environment's namespace goes to the real node: the API
    server's PodNodeSelector and PodTolerationRestriction admission plugins read
    these annotations, so the GitOps tree stays as every environment has it.
    Created and annotated rather than applied: an applied annotation would be in
    the last-applied state Argo CD's own apply of the Namespace then prunes."""
    cluster.kubectl("create", "namespace", ENV_NAMESPACE)
    cluster.kubectl(
        "annotate", "namespace", ENV_NAMESPACE,
        f"scheduler.alpha.kubernetes.io/node-selector={NODE_LABEL[0]}={NODE_LABEL[1]}",
        f"scheduler.alpha.kubernetes.io/defaultTolerations={json.dumps([TOLERATION])}",
    )  # fmt: skip


def vault() -> dict:
    """The rehearsal's secrets, generated on first use like local's (vault-id local)."""
    env = {**os.environ, "TITANIUM_LOCAL_INVENTORY": str(INVENTORY)}
    subprocess.run([str(ROOT / "scripts/local-vault.sh")], env=env, check=True, cwd=ROOT)
    password = subprocess.run(
        [str(ROOT / "scripts/local-vault-pass.sh"), "--path"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    plain = subprocess.run(
        ["ansible-vault", "view", "--vault-id", f"local@{password}",
         str(INVENTORY / "group_vars/all/vault.yml")],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout  # fmt: skip
    return yaml.safe_load(plain)


# -- Prometheus ---------------------------------------------------------------------


def start_monitoring(port: int, alertmanager_port: int, kubeconfig: str) -> list[Component]:
    """Prometheus scraping the blog's pods on their metrics ports with the labels a
    ServiceMonitor gives (namespace, pod, job: the service), evaluating the local
    environment's rendered alert rules (their `for:` shortened as in the
    observability tier, so the error drill's alert fires in seconds, not after 5
    minutes) and sending to an Alertmanager. Debian's Prometheus has no Kubernetes
    discovery: `pod-targets` (a process of its own) writes the pods' addresses to
    a file Prometheus watches."""
    work = path("prometheus")
    work.mkdir(parents=True, exist_ok=True)
    targets = work / "pods.json"
    targets.write_text("[]")
    job = {
        "job_name": "titanium-pods",
        "scrape_interval": "5s",
        "file_sd_configs": [{"files": [str(targets)], "refresh_interval": "5s"}],
    }
    rules = render_monitoring(ENV_NAMESPACE.removeprefix("titanium-"), work).rules_file
    alerting = {"alertmanagers": [{"static_configs": [
        {"targets": [f"127.0.0.1:{alertmanager_port}"]}]}]}  # fmt: skip
    config = work / "prometheus.yml"
    config.write_text(json.dumps({
        "global": {"scrape_interval": "5s", "evaluation_interval": "5s"},
        "scrape_configs": [job], "rule_files": [str(rules)], "alerting": alerting}))  # fmt: skip
    binary = os.path.realpath(shutil.which("prometheus") or "prometheus")
    argv = [binary, f"--config.file={config}", f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}"]  # fmt: skip
    refresher = [sys.executable, str(Path(__file__).resolve()), "pod-targets",
                 "--kubeconfig", kubeconfig, "--out", str(targets)]  # fmt: skip
    # Alertmanager's API is what the error drill reads; nothing is delivered.
    routes = work / "alertmanager.yml"
    routes.write_text(json.dumps({"route": {"receiver": "none"}, "receivers": [{"name": "none"}]}))
    alertmanager = [str(ROOT / "build/bin/alertmanager"), f"--config.file={routes}",
                    f"--storage.path={work / 'alertmanager-data'}",
                    f"--web.listen-address=127.0.0.1:{alertmanager_port}",
                    "--cluster.listen-address="]  # fmt: skip
    return [
        start_component("prometheus", argv, work),
        start_component("pod-targets", refresher, work),
        start_component("alertmanager", alertmanager, work),
    ]


def pod_targets(args: argparse.Namespace) -> int:
    """Every 3 s, the environment's Running pods' metrics ports as file_sd targets."""
    out = Path(args.out)
    while True:
        result = subprocess.run(
            ["kubectl", "--kubeconfig", args.kubeconfig, "-n", ENV_NAMESPACE, "get", "pods",
             "-o", "json"],
            capture_output=True, text=True, check=False, timeout=30,
        )  # fmt: skip
        if result.returncode == 0:
            groups = [
                {
                    "targets": [f"{pod['status']['podIP']}:{port['containerPort']}"],
                    "labels": {
                        "namespace": ENV_NAMESPACE,
                        "pod": pod["metadata"]["name"],
                        "job": pod["metadata"]["labels"].get("app.kubernetes.io/name", ""),
                    },
                }
                for pod in json.loads(result.stdout)["items"]
                if pod["status"].get("phase") == "Running" and pod["status"].get("podIP")
                for container in pod["spec"]["containers"]
                for port in container.get("ports", [])
                if port.get("name") == "http-metrics"
            ]
            text = json.dumps(groups, indent=1, sort_keys=True)
            if not out.exists() or out.read_text() != text:
                partial = out.with_suffix(".tmp")
                partial.write_text(text)
                partial.replace(out)
        time.sleep(3)


def gateway_node_port(cluster: SimCluster, node: RealNode) -> str:
    """The blog's entry on the real node: a NodePort Service to the api-gateway's
    pods, made here beside the tree (every environment enters through its ingress
    gateway, which the rehearsal cannot run: no Envoy build)."""
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "rehearsal-gateway", "namespace": ENV_NAMESPACE},
        "spec": {
            "type": "NodePort",
            "selector": {"app.kubernetes.io/name": "api-gateway"},
            "ports": [{"name": "http", "port": 8000, "targetPort": "http"}],
        },
    }
    created = cluster.kubectl("create", "-f", "-", "-o", "json", input=json.dumps(service))
    port = json.loads(created.stdout)["spec"]["ports"][0]["nodePort"]
    return f"http://{node.node_ip}:{port}"


def wait_http(url: str, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RehearsalError(f"{url} did not answer within {timeout} s")


# -- watching Argo CD ---------------------------------------------------------------


class Watcher(threading.Thread):
    """Reads the Applications every second; records when each first became
    Synced and Healthy (the order they became ready)."""

    def __init__(self, kubeconfig: str, namespace: str = "argocd") -> None:
        super().__init__(daemon=True)
        self.kubeconfig, self.namespace = kubeconfig, namespace
        self.began = time.monotonic()
        self.ready_at: dict[str, float] = {}
        self.apps: dict[str, dict] = {}
        self.stopping = threading.Event()

    def read(self) -> dict[str, dict]:
        """The Applications, or {} when the API server did not answer in time: every
        caller polls, and one slow answer on a loaded machine is not a failure."""
        try:
            result = subprocess.run(
                ["kubectl", "--kubeconfig", self.kubeconfig, "-n", self.namespace,
                 "get", "applications.argoproj.io", "-o", "json"],
                capture_output=True, text=True, check=False, timeout=30,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return {}
        if result.returncode != 0:
            return {}
        return {item["metadata"]["name"]: item for item in json.loads(result.stdout)["items"]}

    def run(self) -> None:
        while not self.stopping.is_set():
            apps = self.read()
            now = round(time.monotonic() - self.began, 1)
            for name, app in apps.items():
                status = app.get("status", {})
                ready = (
                    status.get("sync", {}).get("status"),
                    status.get("health", {}).get("status"),
                ) == ("Synced", "Healthy")
                if ready:
                    self.ready_at.setdefault(name, now)
            self.apps = apps or self.apps
            self.stopping.wait(1)

    def all_ready(self) -> bool:
        return bool(self.apps) and set(self.apps) <= set(self.ready_at)

    def summary(self) -> list[dict]:
        rows = []
        for name, app in sorted(self.apps.items()):
            status = app.get("status", {})
            rows.append(
                {
                    "name": name,
                    "sync": status.get("sync", {}).get("status"),
                    "health": status.get("health", {}).get("status"),
                    "revision": status.get("sync", {}).get("revision"),
                    "wave": app["metadata"]
                    .get("annotations", {})
                    .get("argocd.argoproj.io/sync-wave", "0"),
                    "ready_after_s": self.ready_at.get(name),
                }
            )
        return rows


# -- up, down, status ---------------------------------------------------------------


@contextlib.contextmanager
def gitops_checkout(endpoints: dict) -> Iterator[Callable[..., str]]:
    """A clone of the GitOps repository on the rehearsal's Gitea, as the gitops role
    pushes to it: yields git(*args) run in the clone (its path is git("rev-parse",
    "--show-toplevel"))."""
    import base64
    import tempfile

    password = vault()["vault_gitea_admin_password"]
    basic = base64.b64encode(f"titanium:{password}".encode()).decode()
    auth = ["-c", f"http.extraHeader=Authorization: Basic {basic}",
            "-c", "user.name=Titanium rehearsal",
            "-c", "user.email=rehearsal@titanium.invalid"]  # fmt: skip
    url = f"{endpoints['gitea_url']}/titanium/titanium-gitops.git"
    with tempfile.TemporaryDirectory(prefix="titanium-rehearsal-push-") as work:

        def git(*args: str) -> str:
            return subprocess.run(
                ["git", *auth, "-C", work, *args], capture_output=True, text=True, check=True
            ).stdout.strip()

        git("clone", "--quiet", url, ".")
        yield git


def push_change(git: Callable[..., str], path: str, content: str, message: str) -> str:
    """Commit `content` as `path` and push it to main; the new commit's sha."""
    work = Path(git("rev-parse", "--show-toplevel"))
    (work / path).write_text(content)
    git("add", path)
    git("commit", "--quiet", "-m", message)
    git("push", "--quiet", "origin", "HEAD:main")
    return git("rev-parse", "HEAD")


def measure_push(endpoints: dict, watcher: Watcher, timeout: float) -> float | None:
    """Push a commit to Gitea as the gitops role would and time it until every
    Application is Synced at that commit: Gitea's webhook tells argocd-server,
    which refreshes them (without it Argo CD finds the commit when it next polls)."""
    with gitops_checkout(endpoints) as git:
        began = time.monotonic()
        sha = push_change(git, "REHEARSAL.md", f"Pushed by `make rehearsal` at {time.time()}\n",
                          "rehearsal: a push Argo CD must pick up")  # fmt: skip
    return all_synced_at(watcher, sha, began, timeout)


def all_synced_at(watcher: Watcher, sha: str, began: float, timeout: float) -> float | None:
    """Seconds from `began` until every Application is Synced at commit `sha`, or None
    when `timeout` runs out first."""
    while time.monotonic() - began < timeout:
        apps = watcher.read()
        if apps and all(
            app.get("status", {}).get("sync", {}).get("revision") == sha
            and app["status"]["sync"].get("status") == "Synced"
            for app in apps.values()
        ):
            return round(time.monotonic() - began, 1)
        time.sleep(0.5)
    return None


def measure_polling(endpoints: dict, watcher: Watcher, timeout: float) -> dict:
    """The same push with Gitea's webhooks switched off: how long Argo CD takes to find
    a commit by polling alone (argocd-cm's timeout.reconciliation, 180 s, plus the
    repo-server's cached revision). The webhooks are switched on again whatever
    happens."""
    import httpx

    hooks_url = f"{endpoints['gitea_url']}/api/v1/repos/titanium/titanium-gitops/hooks"
    auth = ("titanium", vault()["vault_gitea_admin_password"])
    with httpx.Client(auth=auth, timeout=10) as gitea:
        hooks = [hook["id"] for hook in gitea.get(hooks_url).raise_for_status().json()
                 if hook["active"]]  # fmt: skip
        try:
            for hook in hooks:
                gitea.patch(f"{hooks_url}/{hook}", json={"active": False}).raise_for_status()
            with gitops_checkout(endpoints) as git:
                began = time.monotonic()
                note = f"Polled by `make rehearsal` at {time.time()}\n"
                sha = push_change(git, "REHEARSAL.md", note,
                                  "rehearsal: a push Argo CD must find by polling")  # fmt: skip
            synced = all_synced_at(watcher, sha, began, timeout)
        finally:
            for hook in hooks:
                gitea.patch(f"{hooks_url}/{hook}", json={"active": True}).raise_for_status()
    return {"webhooks_switched_off": len(hooks), "push_to_synced_s": synced}


def measure_pod_kill(endpoints: dict, timeout: float) -> dict:
    """Delete one api-gateway pod on the real node while a client keeps reading the
    blog through the node's port: the time until a replacement is Ready, and how
    many of the requests meanwhile failed (the other replica and the Service
    carry them)."""
    import httpx

    kubectl = ["kubectl", "--kubeconfig", endpoints["kubeconfig"], "-n", ENV_NAMESPACE]
    selector = "app.kubernetes.io/name=api-gateway"

    def ready_pods() -> set[str]:
        out = subprocess.run([*kubectl, "get", "pods", "-l", selector, "-o", "json"],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
        return {
            pod["metadata"]["name"]
            for pod in json.loads(out)["items"]
            if not pod["metadata"].get("deletionTimestamp")
            and is_ready(pod)
        }  # fmt: skip

    before = ready_pods()
    victim = sorted(before)[0]
    requests = failed = 0
    began = time.monotonic()
    subprocess.run([*kubectl, "delete", "pod", victim, "--wait=false"], check=True,
                   capture_output=True)  # fmt: skip
    replaced_after = None
    with httpx.Client(timeout=5) as client:
        while time.monotonic() - began < timeout:
            requests += 1
            try:
                url = f"{endpoints['gateway_url']}/blog/"
                failed += client.get(url, headers=client_headers(requests)).status_code != 200
            except httpx.HTTPError:
                failed += 1
            if replaced_after is None and len(ready_pods() - {victim}) >= len(before):
                replaced_after = round(time.monotonic() - began, 1)
                break
            time.sleep(0.2)
    return {"pod": victim, "replacement_ready_s": replaced_after,
            "requests": requests, "failed": failed}  # fmt: skip


def postgres_volume(kubectl: list[str]) -> dict:
    """PostgreSQL's claim and the volume bound to it, as the API server has them."""

    def read(*args: str) -> dict:
        out = subprocess.run([*kubectl, "get", *args, "-o", "json"],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
        return json.loads(out)

    claim = read("pvc", "data-postgres-0")
    name = claim["spec"].get("volumeName", "")
    volume = read("pv", name)
    return {
        "claim_phase": claim["status"].get("phase"),
        "storage_class": claim["spec"].get("storageClassName"),
        "volume": name,
        "provisioned_by": volume["metadata"].get("annotations", {}).get(
            "pv.kubernetes.io/provisioned-by"),
        "path": volume["spec"].get("hostPath", volume["spec"].get("local", {})).get("path"),
    }  # fmt: skip


class PostWriter(threading.Thread):
    """Creates posts through the node's port one after another, round-robin over
    its users (each user may write 60 times a minute): every 201 is an
    acknowledged write, kept with its id; anything else, or no answer, failed."""

    def __init__(self, url: str, tokens: list[str], run_id: str, began: float) -> None:
        super().__init__(daemon=True)
        self.url, self.tokens, self.run_id, self.began = url, tokens, run_id, began
        self.acknowledged: dict[int, str] = {}
        self.attempts: list[tuple[float, float, bool]] = []  # sent, answered, acknowledged
        self.stopping = threading.Event()

    def run(self) -> None:
        import httpx

        with httpx.Client(timeout=5) as client:
            number = 0
            while not self.stopping.is_set():
                number += 1
                title = f"pg-drill {self.run_id} {number}"
                headers = {"Authorization": f"Bearer {self.tokens[number % len(self.tokens)]}",
                           **client_headers(number)}  # fmt: skip
                sent = time.monotonic() - self.began
                try:
                    answer = client.post(self.url, headers=headers, json={
                        "title": title, "body": "Written while PostgreSQL's pod is deleted.",
                        "category": "Drills"})  # fmt: skip
                    ok = answer.status_code == 201
                except httpx.HTTPError:
                    ok = False
                if ok:
                    self.acknowledged[answer.json()["id"]] = title
                self.attempts.append((sent, time.monotonic() - self.began, ok))
                time.sleep(0.25)


def measure_postgres_deletion(endpoints: dict, timeout: float, writers: int = 5) -> dict:
    """Delete PostgreSQL's pod while posts are written through the node's port:
    the time from the deletion until writes are acknowledged again, and whether
    every write acknowledged before, during and after it is in the database of
    the new pod (read there with psql, not through the services' cache). The
    claim must stay bound to the same provisioned volume: that is what keeps the
    data."""
    import secrets

    import httpx

    gateway = endpoints["gateway_url"]
    kubectl = ["kubectl", "--kubeconfig", endpoints["kubeconfig"], "-n", ENV_NAMESPACE]
    run_id = secrets.token_hex(4)
    tokens = []
    setup_retries: list[str] = []
    with httpx.Client(timeout=10) as client:
        for number in range(writers):
            user = {"username": f"pgdrill{run_id}{number}", "password": secrets.token_urlsafe(18)}
            headers = client_headers(200 + number)
            email = f"{user['username']}@drill.titanium.invalid"
            post_once_answered(client, f"{gateway}/api/auth/register", setup_retries,
                               headers=headers, json={**user, "email": email})  # fmt: skip
            login = post_once_answered(client, f"{gateway}/api/auth/login", setup_retries,
                                       headers=headers, json=user)  # fmt: skip
            tokens.append(login.json()["access_token"])

    def postgres_pod() -> dict:
        out = subprocess.run([*kubectl, "get", "pod", "postgres-0", "-o", "json"],
                             capture_output=True, text=True, check=False).stdout  # fmt: skip
        return json.loads(out) if out else {}

    volume_before = postgres_volume(kubectl)
    old_uid = postgres_pod()["metadata"]["uid"]
    began = time.monotonic()
    writer = PostWriter(f"{gateway}/api/posts", tokens, run_id, began)
    writer.start()
    time.sleep(3)  # acknowledged writes before the deletion
    deleted_at = time.monotonic() - began
    subprocess.run([*kubectl, "delete", "pod", "postgres-0", "--wait=false"], check=True,
                   capture_output=True)  # fmt: skip
    new_pod_ready_s = None
    while time.monotonic() - began < deleted_at + timeout:
        pod = postgres_pod()
        if new_pod_ready_s is None and pod and pod["metadata"]["uid"] != old_uid and is_ready(pod):
            new_pod_ready_s = round(time.monotonic() - began - deleted_at, 1)
        if new_pod_ready_s is not None:
            # Done once the last 10 writes, all sent 5 s or more after the new
            # pod was Ready, were acknowledged.
            settled = deleted_at + new_pod_ready_s + 5
            if [ok for sent, _, ok in writer.attempts if sent > settled][-10:] == [True] * 10:
                break
        time.sleep(0.5)
    writer.stopping.set()
    writer.join()
    attempts = [attempt for attempt in writer.attempts if attempt[0] > deleted_at]
    first_failure = next((sent for sent, _, ok in attempts if not ok), None)
    # Acknowledged again: the first write after the first failed one that was.
    again = next((answered for sent, answered, ok in attempts
                  if ok and first_failure is not None and sent > first_failure), None)  # fmt: skip
    stored = subprocess.run(
        [*kubectl, "exec", "postgres-0", "-c", "postgres", "--", "psql", "-h",
         "/var/run/postgresql", "-U", "postgres", "-d", "blog_service", "-At", "-c",
         "SELECT id, title FROM blog.posts"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    rows = [line.split("|", 1) for line in stored.stdout.splitlines() if "|" in line]
    present = {int(id_) for id_, title in rows if title.startswith(f"pg-drill {run_id} ")}
    acknowledged = set(writer.acknowledged)
    return {
        "writes": len(writer.attempts),
        "acknowledged": len(acknowledged),
        "acknowledged_before_deletion": sum(
            ok for sent, _, ok in writer.attempts if sent <= deleted_at
        ),
        "failed": sum(not ok for _, _, ok in writer.attempts),
        "new_pod_ready_s": new_pod_ready_s,
        # From the deletion; 0 when no write failed at all.
        "writes_acknowledged_again_s": (
            0.0
            if first_failure is None and attempts
            else round(again - deleted_at, 1)
            if again is not None
            else None
        ),
        "read_back": stored.returncode == 0 or stored.stderr.strip()[-300:],
        "acknowledged_lost": sorted(acknowledged - present),
        "stored_unacknowledged": len(present - acknowledged),
        "volume_before": volume_before,
        "volume_after": postgres_volume(kubectl),
        # The drill's own users, before any deletion: what had to be asked twice.
        "setup_retries": setup_retries,
    }


def post_once_answered(client, url: str, retries: list[str], timeout: float = 60, **request):
    """POST until the blog answers other than 5xx or unreachable, for up to `timeout`
    seconds, honouring Retry-After: a drill's set-up must not fail on the tail of the
    drill before it (the previous one rolled the gateway's pods), yet each retry is
    recorded in `retries`, and an answer that never comes is an error naming the
    last status and body."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = client.post(url, **request)
            if answer.status_code < 500:
                answer.raise_for_status()
                return answer
            last = f"{answer.status_code} {answer.text[:300]}"
            wait = min(float(answer.headers.get("retry-after", "1") or 1), 5)
        except httpx.TransportError as exc:
            last, wait = repr(exc), 1
        retries.append(f"{urlsplit(url).path}: {last}")
        if time.monotonic() + wait > deadline:
            raise RehearsalError(f"POST {url} got no answer but {last} for {timeout} s")
        time.sleep(wait)


def client_headers(number: int) -> dict[str, str]:
    """Headers of one of many clients (TEST-NET-2 addresses in X-Forwarded-For, as
    an ingress in front of the gateway would report them): a steady load from
    this one host would otherwise meet the gateway's per-client rate limit."""
    return {"X-Forwarded-For": f"198.51.100.{number % 250 + 1}"}


class SteadyLoad(threading.Thread):
    """Reads the blog through the node's port, as fast as it answers; any answer
    but 200 counts as failed."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.requests, self.failed = url, 0, 0
        self.stopping = threading.Event()

    def run(self) -> None:
        import httpx

        with httpx.Client(timeout=5) as client:
            while not self.stopping.is_set():
                self.requests += 1
                try:
                    answer = client.get(self.url, headers=client_headers(self.requests))
                    self.failed += answer.status_code != 200
                except httpx.HTTPError:
                    self.failed += 1
                time.sleep(0.05)


SERVICES_APP = "titanium-services"  # the Application of services/overlays/<env>
BOOKINFO_APP = "titanium-bookinfo"  # the Application of bookinfo/<env>, where it is on


def run_playbook(playbook: str, log_name: str, *extra: str) -> int:
    """ansible-playbook on the rehearsal's inventory, its output in build/rehearsal/<log_name>."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    with path(log_name).open("w") as log:
        return subprocess.run(
            ["ansible-playbook", playbook, "-i", str(INVENTORY), *extra],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=False,
        ).returncode  # fmt: skip


def running_tag(endpoints: dict, service: str) -> str:
    image = subprocess.run(
        ["kubectl", "--kubeconfig", endpoints["kubeconfig"], "-n", ENV_NAMESPACE, "get",
         "deployment", service, "-o", "jsonpath={.spec.template.spec.containers[0].image}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return image.rsplit(":", 1)[1]


def measure_rollout(endpoints: dict, watcher: Watcher, timeout: float, service: str, tag: str,
                    runbook: str, *extra: str) -> dict:  # fmt: skip
    """Run a runbook that moves `service` to `tag` through Git, under a steady load
    through the node's port: the time from the run's start to its push, to Argo CD
    Synced with the new image in the Deployment, and to every pod of the service
    running it and Ready (a real rolling update); and the requests that failed."""
    kubectl = ["kubectl", "--kubeconfig", endpoints["kubeconfig"], "-n", ENV_NAMESPACE]

    def in_deployment() -> bool:
        synced = application(watcher).get("sync", {}).get("status") == "Synced"
        return synced and running_tag(endpoints, service) == tag

    def rolled_out() -> bool:
        out = subprocess.run(
            [*kubectl, "get", "pods", "-l", f"app.kubernetes.io/name={service}", "-o", "json"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        pods = json.loads(out)["items"]
        return bool(pods) and all(
            pod["spec"]["containers"][0]["image"].endswith(f":{tag}")
            and not pod["metadata"].get("deletionTimestamp")
            and is_ready(pod)
            for pod in pods
        )  # fmt: skip

    load = SteadyLoad(f"{endpoints['gateway_url']}/blog/")
    load.start()
    began = time.monotonic()
    rc = run_playbook(runbook, f"{Path(runbook).stem}.log", *extra)
    pushed = round(time.monotonic() - began, 1)
    synced = serving = None
    while rc == 0 and time.monotonic() - began < timeout:
        if synced is None and in_deployment():
            synced = round(time.monotonic() - began, 1)
        if synced is not None and rolled_out():
            serving = round(time.monotonic() - began, 1)
            break
        time.sleep(0.5)
    time.sleep(2)  # the old pods' last requests
    load.stopping.set()
    load.join()
    return {"service": service, "tag": tag, "rc": rc, "pushed_s": pushed,
            # From the push: the webhook's part, the figure the ≤ 30 s target is for.
            "push_to_synced_s": None if synced is None else round(synced - pushed, 1),
            "synced_s": synced, "new_pods_serving_s": serving, "requests": load.requests,
            "failed": load.failed}  # fmt: skip


def measure_promotion(endpoints: dict, watcher: Watcher, timeout: float) -> dict:
    """promote.yml moves the api-gateway to a new tag: the same image under a second
    name in the node's containerd."""
    service = "api-gateway"
    old_tag = running_tag(endpoints, service)
    new_tag = f"{old_tag}-promoted"
    repository = image_repository(service)
    RealNode.load(path("node.json")).ctr(
        "images", "tag", "--force", f"{repository}:{old_tag}", f"{repository}:{new_tag}"
    )
    return measure_rollout(endpoints, watcher, timeout, service, new_tag,
                           "playbooks/runbooks/promote.yml", "-e", f"service={service}",
                           "-e", f"image_tag={new_tag}") | {"from_tag": old_tag}  # fmt: skip


def measure_rollback(endpoints: dict, watcher: Watcher, timeout: float, promotion: dict) -> dict:
    """rollback.yml reverts the promotion: back to the tag it replaced."""
    if "error" in promotion:
        raise RehearsalError("no promotion to roll back")
    return measure_rollout(endpoints, watcher, timeout, promotion["service"],
                           promotion["from_tag"], "playbooks/runbooks/rollback.yml")  # fmt: skip


def application(watcher: Watcher, name: str = SERVICES_APP) -> dict:
    return watcher.read().get(name, {}).get("status", {})


def synced_healthy(status: dict, revision: str | None = None) -> bool:
    sync = status.get("sync", {})
    return (
        sync.get("status") == "Synced"
        and status.get("health", {}).get("status") == "Healthy"
        and (revision is None or sync.get("revision") == revision)
    )


def measure_self_heal(endpoints: dict, watcher: Watcher, timeout: float) -> dict:
    """Drift by hand, undone by Argo CD: a Deployment deleted (user-service) comes back
    and serves; a replica count changed (Redis, whose count Git owns: the services'
    counts belong to their HorizontalPodAutoscalers) goes back to Git's."""
    kubectl = ["kubectl", "--kubeconfig", endpoints["kubeconfig"], "-n", ENV_NAMESPACE]

    def deployment(name: str) -> dict:
        out = subprocess.run([*kubectl, "get", "deployment", name, "-o", "json"],
                             capture_output=True, text=True, check=False).stdout  # fmt: skip
        return json.loads(out) if out else {}

    deleted, scaled = "user-service", "redis"
    old_uid = deployment(deleted)["metadata"]["uid"]
    git_replicas = deployment(scaled)["spec"]["replicas"]
    began = time.monotonic()
    subprocess.run([*kubectl, "delete", "deployment", deleted, "--wait=false"], check=True,
                   capture_output=True)  # fmt: skip
    subprocess.run([*kubectl, "scale", "deployment", scaled, f"--replicas={git_replicas + 1}"],
                   check=True, capture_output=True)  # fmt: skip
    recreated = ready = restored = None
    while time.monotonic() - began < timeout and None in (recreated, ready, restored):
        now = round(time.monotonic() - began, 1)
        back = deployment(deleted)
        if recreated is None and back and back["metadata"]["uid"] != old_uid:
            recreated = now
        if (recreated is not None and ready is None
                and back.get("status", {}).get("availableReplicas", 0) >= 1):  # fmt: skip
            ready = now
        if restored is None and deployment(scaled).get("spec", {}).get("replicas") == git_replicas:
            restored = now
        time.sleep(0.5)
    return {"deleted": deleted, "recreated_s": recreated, "serving_s": ready,
            "scaled": scaled, "to_replicas": git_replicas + 1,
            "replicas_restored_s": restored}  # fmt: skip


BAD_COMMIT_PATH = (
    f"services/overlays/{ENV_NAMESPACE.removeprefix('titanium-')}/images/kustomization.yaml"
)


def with_drill_patch(component: str, marker: str, pull_policy: str | None = None) -> str:
    """The images component with a patch for blog-service's Deployment: a marker
    label and, in the bad commit, an imagePullPolicy Kubernetes rejects."""
    operations = [{"op": "add", "path": "/metadata/labels/titanium.io~1drill", "value": marker}]
    if pull_policy:
        operations.append({"op": "add", "value": pull_policy,
                           "path": "/spec/template/spec/containers/0/imagePullPolicy"})  # fmt: skip
    patched = yaml.safe_load(component) | {"patches": [
        {"target": {"kind": "Deployment", "name": "blog-service"},
         "patch": yaml.safe_dump(operations, sort_keys=False)}]}  # fmt: skip
    return yaml.safe_dump(patched, sort_keys=False)


def measure_bad_commit(endpoints: dict, watcher: Watcher, timeout: float) -> dict:
    """A commit Kubernetes refuses (an invalid imagePullPolicy for blog-service):
    Argo CD shows the services OutOfSync with the API server's message while the
    previous revision keeps serving; the fix pushed after it (the same change,
    valid) goes live without waiting for the retries of the bad one to run out;
    a last commit takes the drill's patch out again."""
    kubectl = ["kubectl", "--kubeconfig", endpoints["kubeconfig"], "-n", ENV_NAMESPACE]

    def live_marker() -> str | None:
        out = subprocess.run([*kubectl, "get", "deployment", "blog-service", "-o",
                              "jsonpath={.metadata.labels.titanium\\.io/drill}"],
                             capture_output=True, text=True, check=False).stdout  # fmt: skip
        return out or None

    def wait(condition: Callable[[], bool]) -> float | None:
        while time.monotonic() - began < timeout:
            if condition():
                return round(time.monotonic() - began, 1)
            time.sleep(0.5)
        return None

    load = SteadyLoad(f"{endpoints['gateway_url']}/blog/")
    load.start()
    result: dict = {}
    try:
        with gitops_checkout(endpoints) as git:
            work = Path(git("rev-parse", "--show-toplevel"))
            original = (work / BAD_COMMIT_PATH).read_text()
            began = time.monotonic()
            bad = push_change(git, BAD_COMMIT_PATH,
                              with_drill_patch(original, "bad", "Sometimes"),
                              "rehearsal: a commit Kubernetes refuses")  # fmt: skip

            def refused() -> bool:
                status = application(watcher)
                message = status.get("operationState", {}).get("message", "")
                result["message"] = message
                return (status.get("sync", {}).get("status") == "OutOfSync"
                        and status.get("sync", {}).get("revision") == bad
                        and "imagePullPolicy" in message)  # fmt: skip

            result["refused_s"] = wait(refused)
            result["previous_live"] = live_marker() is None and (
                application(watcher).get("health", {}).get("status") == "Healthy")  # fmt: skip
            began = time.monotonic()
            fix = push_change(git, BAD_COMMIT_PATH, with_drill_patch(original, "fixed"),
                              "rehearsal: the fix")  # fmt: skip
            result["fix_live_s"] = wait(
                lambda: live_marker() == "fixed" and synced_healthy(application(watcher), fix)
            )
            began = time.monotonic()
            clean = push_change(git, BAD_COMMIT_PATH, original,
                                "rehearsal: take the drill's patch out")  # fmt: skip
            result["cleaned_s"] = wait(
                lambda: live_marker() is None and synced_healthy(application(watcher), clean)
            )
    finally:
        load.stopping.set()
        load.join()
    return result | {"requests": load.requests, "failed": load.failed}


def measure_error_drill(endpoints: dict, watcher: Watcher, timeout: float,
                        service: str = "blog-service") -> dict:  # fmt: skip
    """error-scenario-drill.yml as an operator runs it on a cluster: 404s and 405s
    through the node's port until the Golden Signals panel shows them, then its
    Kubernetes outage (Argo CD's self-heal paused, the service scaled to zero) under
    a burst of requests until HighErrorRate is active in Alertmanager, then the
    service given back. Afterwards the service must have the replicas it had and
    serve: its HorizontalPodAutoscaler owns the count, which Argo CD ignores, so
    self-heal alone does not bring a Deployment back from zero."""
    kubectl = ["kubectl", "--kubeconfig", endpoints["kubeconfig"], "-n", ENV_NAMESPACE]

    def replicas() -> dict:
        listed = subprocess.run([*kubectl, "get", "deployment", service, "-o", "json"],
                                capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
        deployment = json.loads(listed.stdout)
        return {"wanted": deployment["spec"].get("replicas"),
                "available": deployment["status"].get("availableReplicas", 0)}  # fmt: skip

    records = path("drills.json")
    records.unlink(missing_ok=True)
    before = replicas()
    # Paced for the 5 s scrape: each client error's series grows across scrapes.
    settings = {"service": service, "drill_client_errors": 8, "drill_client_error_pause": 1,
                "drill_burst_requests": 40, "drill_burst_pause": 0.5,
                "drill_panel_wait_seconds": 120, "drill_alert_wait_seconds": 180,
                "drill_record_file": str(records)}  # fmt: skip
    began = time.monotonic()
    rc = run_playbook("playbooks/runbooks/error-scenario-drill.yml", "error-drill.log",
                      "-e", json.dumps(settings))  # fmt: skip
    result = {"service": service, "rc": rc, "seconds": round(time.monotonic() - began, 1),
              "replicas_before": before}  # fmt: skip
    if records.exists():
        (record,) = json.loads(records.read_text())["drills"]
        result["time_to_alert_s"] = record["recovery_seconds"]
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        result["replicas_after"] = replicas()
        if result["replicas_after"] == before and synced_healthy(application(watcher)):
            result["back_after_s"] = round(time.monotonic() - began, 1)
            break
        time.sleep(1)
    return result


def measure_bookinfo_switch(endpoints: dict, watcher: Watcher, timeout: float) -> dict:
    """Bookinfo switched on and off again through the gitops phase alone, as an
    operator would by its inventory switch (`bookinfo.enabled`): on, Argo CD deploys
    it (onto the kwok nodes: its namespace sends nothing to the real node); off, the
    gitops role waits until Argo CD has deleted the Application and what it deployed,
    then narrows the projects and deletes the namespace. What is left is counted:
    a project narrowed too early makes Argo CD drop the Application and leave its
    workloads running."""
    kubectl = ["kubectl", "--kubeconfig", endpoints["kubeconfig"]]
    switched_on = inventory.values("local")  # the rehearsal's values, Bookinfo as local has it
    if not switched_on["bookinfo"]["enabled"]:
        raise RehearsalError("the local inventory has Bookinfo off: nothing to switch")
    namespace = switched_on["bookinfo"]["namespace"]

    def get(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*kubectl, "get", *args], capture_output=True, text=True,
                              check=False, timeout=60)  # fmt: skip

    def deployed() -> list[str]:
        listed = get("-n", namespace, "deployments,services,serviceaccounts,configmaps,"
                     "roles,rolebindings,pods", "-o", "name")  # fmt: skip
        return sorted(name for name in listed.stdout.split() if "kube-root-ca.crt" not in name)

    def project_namespaces() -> list[str]:
        listed = get("-n", "argocd", "appprojects.argoproj.io", "-o", "json")
        return sorted({destination["namespace"] for project in json.loads(listed.stdout)["items"]
                       for destination in project["spec"].get("destinations", [])})  # fmt: skip

    result: dict = {"namespace": namespace}
    began = time.monotonic()
    values = json.dumps({"titanium_environment_values": switched_on})
    result["on_rc"] = run_playbook("playbooks/gitops.yml", "bookinfo-on.log", "-e", values)
    if result["on_rc"] != 0:
        raise RehearsalError("gitops.yml with Bookinfo on failed: build/rehearsal/bookinfo-on.log")
    while time.monotonic() - began < timeout:
        if synced_healthy(application(watcher, BOOKINFO_APP)):
            result["on_synced_healthy_s"] = round(time.monotonic() - began, 1)
            break
        time.sleep(1)
    else:
        raise RehearsalError(f"{BOOKINFO_APP} not Synced and Healthy after {timeout} s: "
                             f"{application(watcher, BOOKINFO_APP)}")  # fmt: skip
    result["deployed_when_on"] = len(deployed())
    result["in_projects_when_on"] = namespace in project_namespaces()

    began = time.monotonic()
    result["off_rc"] = run_playbook("playbooks/gitops.yml", "bookinfo-off.log")
    result["off_s"] = round(time.monotonic() - began, 1)
    result["application_left"] = BOOKINFO_APP in watcher.read()
    result["namespace_left"] = get("namespace", namespace).returncode == 0
    result["left_running"] = deployed() if result["namespace_left"] else []
    result["in_projects_when_off"] = namespace in project_namespaces()
    return result


def load_state() -> dict:
    state = path("state.json")
    return json.loads(state.read_text()) if state.exists() else {}


def save_state(state: dict) -> None:
    path("state.json").write_text(json.dumps(state, indent=2))


def run_site(log: Path, *extra: str) -> tuple[int, float, str]:
    began = time.monotonic()
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    with log.open("w") as out:
        process = subprocess.Popen(
            ["ansible-playbook", "site.yml", "-i", str(INVENTORY), *extra],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        assert process.stdout is not None
        for line in process.stdout:
            out.write(line)
            if line.startswith(("PLAY ", "TASK ", "fatal:", "failed:", "localhost ")):
                print(line.rstrip(), flush=True)
    process.wait()
    return process.returncode, round(time.monotonic() - began, 1), log.read_text()


def up(args: argparse.Namespace) -> int:
    """Start everything; a failure while starting stops what had started. A failed
    site.yml leaves it all running to look at (then `make rehearsal-down`)."""
    if load_state():
        print("rehearsal: already started (build/rehearsal/state.json); run `make rehearsal-down`")
        return 1
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    # Not 0700: PostgreSQL's initdb runs as the postgres user below it. The
    # kubeconfig and the services' secrets are 0600 files of their own.
    began = time.monotonic()
    phases: dict[str, float] = {}
    state: dict = {}
    save_state(state)
    try:
        endpoints = start_all(args, phases, state)
    except BaseException:
        print("rehearsal: start-up failed; stopping what had started", file=sys.stderr)
        down(args)
        raise
    return rehearse(args, began, phases, endpoints)


def start_all(args: argparse.Namespace, phases: dict[str, float], state: dict) -> dict:
    def phase(name: str, since: float) -> None:
        phases[name] = round(time.monotonic() - since, 1)
        print(f"rehearsal: {name} in {phases[name]} s", flush=True)

    secrets = vault()
    t = time.monotonic()
    cluster = SimCluster.start(
        workdir=path("sim"), kubeconfig=path("kubeconfig"), timeout=args.timeout
    )
    cluster.save(path("sim.json"))
    state["sim"] = str(path("sim.json"))
    save_state(state)
    cluster.install_crds(*crds())
    phase("cluster", t)

    t = time.monotonic()
    state["node"] = str(path("node.json"))
    save_state(state)
    node = RealNode.start(cluster, path("node"), timeout=args.timeout, state_file=path("node.json"))
    place_on_the_node(cluster)
    phase("real node", t)

    t = time.monotonic()
    images = load_images(node)
    phase("images", t)

    t = time.monotonic()
    local_path_storage(cluster, node, images.pop(PROVISIONER_IMAGE))
    rollout = cluster.kubectl("-n", STORAGE_NAMESPACE, "rollout", "status",
                              "deployment/local-path-provisioner", f"--timeout={args.timeout}s",
                              check=False, timeout=args.timeout + 30)  # fmt: skip
    if rollout.returncode != 0:
        raise RehearsalError(f"local-path-provisioner did not start: {rollout.stderr}")
    phase("storage", t)

    t = time.monotonic()
    gitea = GiteaServer(password=secrets["vault_gitea_admin_password"])
    try:
        gitea.start()
    except BaseException:
        gitea.cleanup()
        raise
    state["gitea"] = gitea.state()
    save_state(state)
    phase("gitea", t)

    t = time.monotonic()
    argocd = ArgoCD.start(cluster.kubeconfig, workdir=path("argocd"), timeout=args.timeout)
    argocd.save(path("argocd.json"))
    state["argocd"] = str(path("argocd.json"))
    save_state(state)
    phase("argocd", t)

    t = time.monotonic()
    prometheus_port, alertmanager_port = SERVICES_PORT_BASE + 90, SERVICES_PORT_BASE + 93
    prometheus = start_monitoring(prometheus_port, alertmanager_port, cluster.kubeconfig)
    state["prometheus"] = [component.__dict__ for component in prometheus]
    save_state(state)
    prometheus_url = f"http://127.0.0.1:{prometheus_port}"
    alertmanager_url = f"http://127.0.0.1:{alertmanager_port}"
    wait_http(f"{prometheus_url}/-/ready")
    wait_http(f"{alertmanager_url}/-/ready")
    phase("prometheus", t)

    gateway_url = gateway_node_port(cluster, node)
    endpoints = {
        "kubeconfig": cluster.kubeconfig,
        "gitea_url": gitea.url,
        "argocd_url": argocd.url,
        "gateway_url": gateway_url,
        "prometheus_url": prometheus_url,
        "alertmanager_url": alertmanager_url,
        "node_address": node.node_ip,
        # site.yml's images role imports the services' images through it.
        "containerd_socket": node.socket,
        # The overlay's data stores and load generator: what load_images imported.
        "data_images": images,
    }
    path("endpoints.json").write_text(json.dumps(endpoints, indent=2))
    return endpoints | {"argocd_version": argocd.version, "node": node.name, "images": images}


def rehearse(args: argparse.Namespace, began: float, phases: dict, endpoints: dict) -> int:
    watcher = Watcher(endpoints["kubeconfig"])
    watcher.start()
    rc, seconds, output = run_site(path("site.log"))
    phases["site.yml"] = seconds
    deadline = time.monotonic() + args.timeout
    while rc == 0 and not watcher.all_ready() and time.monotonic() < deadline:
        time.sleep(1)
    watcher.stopping.set()
    watcher.join()
    apps = watcher.summary()
    # What site.yml built and imported, before the promotion adds a second name.
    built = service_images(RealNode.load(path("node.json")))
    if rc == 0 and watcher.all_ready():
        # The seed again: nothing to push, nothing to change, Argo CD stays Synced.
        rc2, phases["site.yml again"], output2 = run_site(path("site-again.log"))
        second = [line for line in output2.splitlines() if line.startswith("localhost ")]
        phases["push → Synced (webhook)"] = measure_push(endpoints, watcher, args.timeout)
        pod_kill = drill(measure_pod_kill, endpoints, args.timeout)
        promotion = drill(measure_promotion, endpoints, watcher, args.timeout)
        rollback = drill(measure_rollback, endpoints, watcher, args.timeout, promotion)
        self_heal = drill(measure_self_heal, endpoints, watcher, args.timeout)
        bad_commit = drill(measure_bad_commit, endpoints, watcher, args.timeout)
        postgres_deletion = drill(measure_postgres_deletion, endpoints, args.timeout)
        error_drill = drill(measure_error_drill, endpoints, watcher, args.timeout)
        settled_s = pods_settled(endpoints, 180)
        # Last: it runs the gitops phase twice, off the real node.
        bookinfo_switch = drill(measure_bookinfo_switch, endpoints, watcher, args.timeout)
        # Minutes of waiting on Argo CD's own clock: asked for, not run by default.
        polling = drill(measure_polling, endpoints, watcher, 420) if args.polling else None
    else:
        rc2, second, pod_kill, postgres_deletion, settled_s = None, [], None, None, None
        promotion = rollback = self_heal = bad_commit = polling = bookinfo_switch = None
        error_drill = None
    report = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "argocd_version": endpoints["argocd_version"],
        "endpoints": {k: v for k, v in endpoints.items() if k.endswith("_url")},
        "phases_s": phases,
        "site_yml_rc": rc,
        "recap": [line for line in output.splitlines() if line.startswith("localhost ")],
        "second_run_rc": rc2,
        "second_run_recap": second,
        "all_synced_healthy": watcher.all_ready(),
        # From the start of site.yml (the Applications appear in its gitops phase).
        "all_synced_healthy_after_site_start_s": max(watcher.ready_at.values(), default=None)
        if watcher.all_ready()
        else None,
        "total_s": round(time.monotonic() - began, 1),
        "sync_order": sorted(watcher.ready_at, key=watcher.ready_at.get),
        "applications": apps,
        # Taken once the drills' disruption has passed (the database deletion
        # leaves its clients unready until their probes pass again).
        "pods_settled_after_drills_s": settled_s,
        "real_node": real_node(endpoints),
        # What the pods may run: the data stores' and load generator's references
        # (tag@digest) and the services' {reference: digest}.
        "images": {"data": endpoints["images"], "services": built},
        "pod_kill": pod_kill,
        "promotion": promotion,
        "rollback": rollback,
        "self_heal": self_heal,
        "bad_commit": bad_commit,
        "postgres_deletion": postgres_deletion,
        "error_drill": error_drill,
        "polling": polling,
        "bookinfo_switch": bookinfo_switch,
    }
    path("report.json").write_text(json.dumps(report, indent=2))
    print_report(report)
    return 0 if rc == 0 and report["all_synced_healthy"] else 1


def is_ready(obj: dict) -> bool:
    """A pod's or a node's Ready condition is True."""
    return any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in obj.get("status", {}).get("conditions", [])
    )


def drill(measure, *args) -> dict:
    """One drill's figures, or the error that stopped it: a drill that fails is
    that drill's failure in the report, not the loss of every other figure."""
    try:
        return measure(*args)
    except Exception as exc:  # any failure is that drill's, reported by name
        traceback.print_exc()
        return {"error": f"{measure.__name__}: {type(exc).__name__}: {exc}"}


def pods_settled(endpoints: dict, limit: float) -> float | None:
    """Seconds until every running pod of the environment on the real node is
    Ready (pods on their way out left aside), or None after `limit`."""
    began = time.monotonic()
    while time.monotonic() - began < limit:
        try:
            listed = subprocess.run(
                ["kubectl", "--kubeconfig", endpoints["kubeconfig"], "-n", ENV_NAMESPACE, "get",
                 "pods", "-o", "json", "--field-selector", f"spec.nodeName={endpoints['node']}"],
                capture_output=True, text=True, check=False, timeout=30,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            continue  # a loaded API server: ask again
        if listed.returncode == 0:
            running = [
                pod
                for pod in json.loads(listed.stdout)["items"]
                if pod["status"].get("phase") == "Running"
                and not pod["metadata"].get("deletionTimestamp")
            ]
            if all(is_ready(pod) for pod in running):
                return round(time.monotonic() - began, 1)
        time.sleep(2)
    return None


def real_node(endpoints: dict) -> dict:
    """The real node as the API server sees it."""
    result = subprocess.run(
        ["kubectl", "--kubeconfig", endpoints["kubeconfig"], "get", "node", endpoints["node"],
         "-o", "json"],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    if result.returncode != 0:
        return {"name": endpoints["node"], "ready": False, "error": result.stderr.strip()}
    node = json.loads(result.stdout)
    info = node["status"].get("nodeInfo", {})
    pods = subprocess.run(
        ["kubectl", "--kubeconfig", endpoints["kubeconfig"], "get", "pods", "-A", "-o", "json",
         "--field-selector", f"spec.nodeName={endpoints['node']}"],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    items = json.loads(pods.stdout)["items"] if pods.returncode == 0 else []
    return {
        "name": endpoints["node"],
        "ready": is_ready(node),
        "address": endpoints["node_address"],
        "kubelet_version": info.get("kubeletVersion"),
        "container_runtime": info.get("containerRuntimeVersion"),
        "taints": node["spec"].get("taints", []),
        # Every pod the real node runs: ready (containers up, probes passing) or
        # not, and succeeded (the migration Jobs).
        "pods": {
            pod["metadata"]["name"]: "Ready" if is_ready(pod) else pod["status"].get("phase")
            for pod in items
        },
        # Containers that restarted, and why the last one ended (OOMKilled, Error):
        # what a drill's unexpected 5xx is read against.
        "restarts": {
            f"{pod['metadata']['name']}/{status['name']}": {
                "count": status["restartCount"],
                "last": status.get("lastState", {}).get("terminated", {}).get("reason"),
            }
            for pod in items
            for status in pod["status"].get("containerStatuses", [])
            if status.get("restartCount")
        },
    }


def print_report(report: dict) -> None:
    print("\nrehearsal report (build/rehearsal/report.json)")
    for name, seconds in report["phases_s"].items():
        print(f"  {name:24} {seconds!s:>7} s")
    ready = report["all_synced_healthy_after_site_start_s"]
    print(f"  {'all Synced/Healthy':24} {ready!s:>7} s after site.yml began")
    for line in report["second_run_recap"]:
        print(f"  second site.yml: {' '.join(line.split())}")
    print(f"  total        {report['total_s']:>7} s; site.yml rc {report['site_yml_rc']}")
    print(f"\n  {'Application':22} {'wave':>4} {'sync':10} {'health':10} {'ready s':>7}  revision")
    for app in report["applications"]:
        print(
            f"  {app['name']:22} {app['wave']:>4} {app['sync'] or '-':10} {app['health'] or '-':10}"
            f" {app['ready_after_s'] or '-':>7}  {(app['revision'] or '-')[:12]}"
        )
    print(f"  sync order: {' -> '.join(report['sync_order']) or '-'}")
    drills = ("pod_kill", "promotion", "rollback", "self_heal", "bad_commit", "postgres_deletion",
              "error_drill", "polling", "bookinfo_switch")  # fmt: skip
    for name in drills:
        if error := (report.get(name) or {}).get("error"):
            print(f"  {name} FAILED: {error}")
    for name in ("promotion", "rollback"):
        if (moved := report.get(name)) and "error" not in moved:
            print(
                f"  {name} of {moved['service']} to {moved['tag']}: pushed after"
                f" {moved['pushed_s']} s, Synced with the new image {moved['push_to_synced_s']} s"
                f" after the push, new pods serving after {moved['new_pods_serving_s']} s;"
                f" {moved['failed']} of {moved['requests']} requests failed"
            )
    described = {
        "self_heal": lambda heal: (
            f"self-heal: deleted {heal['deleted']} back after {heal['recreated_s']} s, serving"
            f" after {heal['serving_s']} s; {heal['scaled']} scaled to {heal['to_replicas']}"
            f" back after {heal['replicas_restored_s']} s"
        ),
        "bad_commit": lambda bad: (
            f"bad commit: refused after {bad.get('refused_s')} s, previous revision live:"
            f" {bad.get('previous_live')}; the fix live after {bad.get('fix_live_s')} s;"
            f" {bad['failed']} of {bad['requests']} requests failed"
        ),
        "error_drill": lambda drill: (
            f"error drill (Kubernetes outage of {drill['service']}): rc {drill['rc']} in"
            f" {drill['seconds']} s, HighErrorRate {drill.get('time_to_alert_s')} s after the"
            f" outage; replicas {drill['replicas_before']} -> {drill.get('replicas_after')}"
        ),
        "bookinfo_switch": lambda switch: (
            f"Bookinfo on: Synced/Healthy after {switch['on_synced_healthy_s']} s"
            f" ({switch['deployed_when_on']} objects); off: gitops.yml rc {switch['off_rc']} in"
            f" {switch['off_s']} s, Application left: {switch['application_left']}, namespace"
            f" left: {switch['namespace_left']}, left running: {len(switch['left_running'])}"
        ),
    }
    for name, describe in described.items():
        if (figures := report.get(name)) and "error" not in figures:
            print(f"  {describe(figures)}")
    if (polled := report.get("polling")) and "error" not in polled:
        print(f"  push → Synced by polling alone (webhooks off): {polled['push_to_synced_s']} s")
    if (kill := report.get("pod_kill")) and "error" not in kill:
        print(
            f"  pod kill: {kill['pod']} replaced, Ready after {kill['replacement_ready_s']} s;"
            f" {kill['failed']} of {kill['requests']} requests through the node port failed"
        )
    if (drill := report.get("postgres_deletion")) and "error" not in drill:
        print(
            f"  PostgreSQL pod deleted: writes acknowledged again after"
            f" {drill['writes_acknowledged_again_s']} s (new pod Ready after"
            f" {drill['new_pod_ready_s']} s); {drill['acknowledged']} of {drill['writes']} writes"
            f" acknowledged, {len(drill['acknowledged_lost'])} of those lost;"
            f" volume {drill['volume_after']['volume']} ({drill['volume_after']['storage_class']})"
        )
    node = report["real_node"]
    print(
        f"  real node: {node['name']} {'Ready' if node['ready'] else 'NOT Ready'}"
        f" (kubelet {node.get('kubelet_version')}, {node.get('container_runtime')}),"
        f" pods Ready: {sum(v == 'Ready' for v in node.get('pods', {}).values())}"
        f" of {len(node.get('pods', {}))}"
    )


def down(_: argparse.Namespace) -> int:
    state = load_state()
    survivors: list[str] = []
    if "prometheus" in state:
        survivors += stop_components([Component(**c) for c in state["prometheus"]])
    if "argocd" in state and Path(state["argocd"]).exists():
        survivors += ArgoCD.load(Path(state["argocd"])).stop()
    if "gitea" in state:
        survivors += stop_state(state["gitea"])
    if "node" in state and Path(state["node"]).exists():
        survivors += [f"real node: {left}" for left in RealNode.load(Path(state["node"])).stop()]
    if "sim" in state and stop_saved(Path(state["sim"])) != 0:
        survivors.append("simulated cluster")
    if survivors:
        print(f"rehearsal: still running: {', '.join(survivors)}", file=sys.stderr)
        return 1
    shutil.rmtree(STATE_DIR, ignore_errors=True)
    print("rehearsal: down")
    return 0


def status(_: argparse.Namespace) -> int:
    state = load_state()
    if not state:
        print("rehearsal: not running")
        return 3
    components: list[Component] = []
    if "sim" in state:
        components += SimCluster.load(Path(state["sim"])).components
    if "node" in state and Path(state["node"]).exists():
        components += RealNode.load(Path(state["node"])).components
    if "argocd" in state:
        components += ArgoCD.load(Path(state["argocd"])).components
    if "prometheus" in state:
        components += [Component(**c) for c in state["prometheus"]]
    if "gitea" in state:
        base = Path(state["gitea"]["base"])
        components.append(Component("gitea", state["gitea"]["pid"], "", str(base / "gitea")))
    for component in components:
        print(f"{component.name:30} pid {component.pid:7} {'up' if alive(component) else 'DOWN'}")
    return 0 if all(alive(c) for c in components) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/rehearsal.py", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("up", help="start everything, run site.yml, wait, report")
    start.add_argument("--timeout", type=float, default=300.0)
    start.add_argument("--polling", action="store_true",
                       help="also time a push with Gitea's webhooks off (minutes)")  # fmt: skip
    start.set_defaults(func=up)
    sub.add_parser("down", help="stop every process `up` started").set_defaults(func=down)
    sub.add_parser("status", help="show what runs").set_defaults(func=status)
    refresh = sub.add_parser("pod-targets", help="(started by up) Prometheus's pod targets")
    refresh.add_argument("--kubeconfig", required=True)
    refresh.add_argument("--out", required=True)
    refresh.set_defaults(func=pod_targets)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
