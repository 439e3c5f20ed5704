"""`make rehearsal` / `make rehearsal-down`: the whole of site.yml where k3s cannot run.

    python scripts/rehearsal.py up       # start everything, run site.yml, wait, report
    python scripts/rehearsal.py down     # stop every process `up` started
    python scripts/rehearsal.py status   # what runs

`up` starts, each as detached processes recorded under build/rehearsal/:
the simulated cluster (tests/cluster/sim.py) with the CRDs of build/crds, one
real node beside its kwok nodes (tests/cluster/node.py: containerd, kubelet,
kube-proxy and CoreDNS, tainted so only pods that tolerate it run there), Gitea
(tests/support/gitea.py) whose admin password is the rehearsal vault's, Argo CD
(tests/support/argocd.py) and a Prometheus scraping the blog's pods with the
labels the rendered ServiceMonitors give. The blog itself runs on the real node:
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
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.cluster.node import LABEL as NODE_LABEL  # noqa: E402
from tests.cluster.node import TAINT, RealNode  # noqa: E402
from tests.cluster.sim import (  # noqa: E402  import after sys.path
    Component,
    SimCluster,
    _alive,
    _start,
    crds_dir,
    stop_components,
    stop_saved,
)
from tests.support.argocd import ArgoCD  # noqa: E402
from tests.support.gitea import GiteaServer, stop_state  # noqa: E402
from titanium_tools import inventory  # noqa: E402

STATE_DIR = ROOT / "build" / "rehearsal"
INVENTORY = ROOT / "inventories" / "rehearsal"
ENV_NAMESPACE = "titanium-local"  # the overlay inventories/rehearsal deploys
# Prometheus listens at this base + 90.
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


def provide_volumes(cluster: SimCluster, node: RealNode, count: int = 3) -> None:
    """Local PersistentVolumes on the real node for the tree's claims (PostgreSQL's):
    directories under the node's own directory, so they go when it goes."""
    for number in range(1, count + 1):
        directory = node.work / "volumes" / str(number)
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o777)  # the database runs as its own uid, not root
        selector = {"key": "kubernetes.io/hostname", "operator": "In", "values": [node.name]}
        on_the_node = {"nodeSelectorTerms": [{"matchExpressions": [selector]}]}
        volume = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": f"rehearsal-volume-{number}"},
            "spec": {
                "capacity": {"storage": "10Gi"},
                "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain",
                "local": {"path": str(directory)},
                "nodeAffinity": {"required": on_the_node},
            },
        }
        cluster.kubectl("apply", "-f", "-", input=json.dumps(volume))


# -- the blog on the real node ------------------------------------------------------

PODMAN_ENV = {"CONTAINERS_CONF": str(ROOT / "molecule/k3s/containers.conf")}
# The images built here for what the overlay runs besides the services: key in
# gitops/values/common.yml -> local image (tests/cluster/images/build.sh).
DATA_IMAGES = {
    "postgres_image": "localhost/titanium-postgres:15",
    "redis_image": "localhost/titanium-redis:7",
    "loadgen_image": "localhost/titanium-k6:rehearsal",
}


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
    """What the overlay runs besides the services, imported into the node's
    containerd under the upstream names gitops/values/common.yml pins (the render
    takes those from there). The services' own images are site.yml's to build and
    import (roles/images, on this machine against the node's socket).
    Returns {reference: digest} of those images."""
    common = yaml.safe_load((ROOT / "gitops/values/common.yml").read_text())
    wanted = {common[key]: local for key, local in DATA_IMAGES.items()}
    archives = path("images")
    archives.mkdir(exist_ok=True)
    for reference, local in wanted.items():
        archive = archives / "image.tar"
        podman("save", "--format", "docker-archive", "-o", str(archive), local)
        node.import_image(archive)
        node.ctr("images", "tag", "--force", local, reference)
        archive.unlink()
    held = node.images()
    return {reference: held[reference] for reference in wanted}


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
    toleration = {"key": TAINT["key"], "operator": "Exists", "effect": TAINT["effect"]}
    cluster.kubectl("create", "namespace", ENV_NAMESPACE)
    cluster.kubectl(
        "annotate", "namespace", ENV_NAMESPACE,
        f"scheduler.alpha.kubernetes.io/node-selector={NODE_LABEL[0]}={NODE_LABEL[1]}",
        f"scheduler.alpha.kubernetes.io/defaultTolerations={json.dumps([toleration])}",
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


def start_prometheus(port: int, kubeconfig: str) -> list[Component]:
    """Prometheus scraping the blog's pods on their metrics ports with the labels a
    ServiceMonitor gives (namespace, pod, job: the service). Debian's Prometheus
    has no Kubernetes discovery: `pod-targets` (a process of its own) writes the
    pods' addresses to a file Prometheus watches."""
    work = path("prometheus")
    work.mkdir(parents=True, exist_ok=True)
    targets = work / "pods.json"
    targets.write_text("[]")
    job = {
        "job_name": "titanium-pods",
        "scrape_interval": "5s",
        "file_sd_configs": [{"files": [str(targets)], "refresh_interval": "5s"}],
    }
    config = work / "prometheus.yml"
    config.write_text(json.dumps({"global": {"scrape_interval": "5s"}, "scrape_configs": [job]}))
    binary = os.path.realpath(shutil.which("prometheus") or "prometheus")
    argv = [binary, f"--config.file={config}", f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}"]  # fmt: skip
    refresher = [sys.executable, str(Path(__file__).resolve()), "pod-targets",
                 "--kubeconfig", kubeconfig, "--out", str(targets)]  # fmt: skip
    return [_start("prometheus", argv, work), _start("pod-targets", refresher, work)]


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
        result = subprocess.run(
            ["kubectl", "--kubeconfig", self.kubeconfig, "-n", self.namespace,
             "get", "applications.argoproj.io", "-o", "json"],
            capture_output=True, text=True, check=False, timeout=30,
        )  # fmt: skip
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


def measure_push(endpoints: dict, watcher: Watcher, timeout: float) -> float | None:
    """Push a commit to Gitea as the gitops role would and time it until every
    Application is Synced at that commit: Gitea's webhook tells argocd-server,
    which refreshes them (without it Argo CD finds the commit when it next polls)."""
    import base64
    import tempfile

    password = vault()["vault_gitea_admin_password"]
    basic = base64.b64encode(f"titanium:{password}".encode()).decode()
    auth = ["-c", f"http.extraHeader=Authorization: Basic {basic}"]
    url = f"{endpoints['gitea_url']}/titanium/titanium-gitops.git"
    with tempfile.TemporaryDirectory(prefix="titanium-rehearsal-push-") as work:

        def git(*args: str) -> str:
            return subprocess.run(
                ["git", *auth, "-C", work, *args], capture_output=True, text=True, check=True
            ).stdout.strip()

        git("clone", "--quiet", url, ".")
        Path(work, "REHEARSAL.md").write_text(f"Pushed by `make rehearsal` at {time.time()}\n")
        git("add", "REHEARSAL.md")
        git("-c", "user.name=Titanium rehearsal", "-c", "user.email=rehearsal@titanium.invalid",
            "commit", "--quiet", "-m", "rehearsal: a push Argo CD must pick up")  # fmt: skip
        sha = git("rev-parse", "HEAD")
        began = time.monotonic()
        git("push", "--quiet", "origin", "HEAD:main")
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
            and any(c["type"] == "Ready" and c["status"] == "True"
                    for c in pod["status"].get("conditions", []))
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


def measure_promotion(endpoints: dict, timeout: float) -> dict:
    """promote.yml moves the api-gateway to a new tag (the same image under a second
    name in the node's containerd) under a steady load through the node's port:
    the time from the run's start to its push, and to every gateway pod running
    the new tag and Ready (a real rolling update), and the requests that failed."""
    service = "api-gateway"
    repository = image_repository(service)
    running = subprocess.run(
        ["kubectl", "--kubeconfig", endpoints["kubeconfig"], "-n", ENV_NAMESPACE, "get",
         "deployment", service, "-o", "jsonpath={.spec.template.spec.containers[0].image}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    old_tag = running.rsplit(":", 1)[1]
    new_tag = f"{old_tag}-promoted"
    RealNode.load(path("node.json")).ctr(
        "images", "tag", "--force", f"{repository}:{old_tag}", f"{repository}:{new_tag}"
    )
    kubectl = ["kubectl", "--kubeconfig", endpoints["kubeconfig"], "-n", ENV_NAMESPACE]

    def rolled_out() -> bool:
        out = subprocess.run(
            [*kubectl, "get", "pods", "-l", f"app.kubernetes.io/name={service}", "-o", "json"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        pods = json.loads(out)["items"]
        return bool(pods) and all(
            pod["spec"]["containers"][0]["image"].endswith(f":{new_tag}")
            and not pod["metadata"].get("deletionTimestamp")
            and any(c["type"] == "Ready" and c["status"] == "True"
                    for c in pod["status"].get("conditions", []))
            for pod in pods
        )  # fmt: skip

    load = SteadyLoad(f"{endpoints['gateway_url']}/blog/")
    load.start()
    began = time.monotonic()
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    with path("promote.log").open("w") as log:
        rc = subprocess.run(
            ["ansible-playbook", "playbooks/runbooks/promote.yml", "-i", str(INVENTORY),
             "-e", f"service={service}", "-e", f"image_tag={new_tag}"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=False,
        ).returncode  # fmt: skip
    pushed = round(time.monotonic() - began, 1)
    serving = None
    while rc == 0 and time.monotonic() - began < timeout:
        if rolled_out():
            serving = round(time.monotonic() - began, 1)
            break
        time.sleep(0.5)
    time.sleep(2)  # the old pods' last requests
    load.stopping.set()
    load.join()
    return {"service": service, "tag": new_tag, "promote_rc": rc, "pushed_s": pushed,
            "new_pods_serving_s": serving, "requests": load.requests,
            "failed": load.failed}  # fmt: skip


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
    provide_volumes(cluster, node)
    place_on_the_node(cluster)
    phase("real node", t)

    t = time.monotonic()
    images = load_images(node)
    phase("images", t)

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
    prometheus_port = SERVICES_PORT_BASE + 90
    prometheus = start_prometheus(prometheus_port, cluster.kubeconfig)
    state["prometheus"] = [component.__dict__ for component in prometheus]
    save_state(state)
    prometheus_url = f"http://127.0.0.1:{prometheus_port}"
    wait_http(f"{prometheus_url}/-/ready")
    phase("prometheus", t)

    gateway_url = gateway_node_port(cluster, node)
    endpoints = {
        "kubeconfig": cluster.kubeconfig,
        "gitea_url": gitea.url,
        "argocd_url": argocd.url,
        "gateway_url": gateway_url,
        "prometheus_url": prometheus_url,
        "node_address": node.node_ip,
        # site.yml's images role imports the services' images through it.
        "containerd_socket": node.socket,
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
        pod_kill = measure_pod_kill(endpoints, args.timeout)
        promotion = measure_promotion(endpoints, args.timeout)
    else:
        rc2, second, pod_kill, promotion = None, [], None, None
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
        "real_node": real_node(endpoints),
        "images": endpoints["images"] | built,
        "pod_kill": pod_kill,
        "promotion": promotion,
    }
    path("report.json").write_text(json.dumps(report, indent=2))
    print_report(report)
    return 0 if rc == 0 and report["all_synced_healthy"] else 1


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
        "ready": any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in node["status"].get("conditions", [])
        ),
        "address": endpoints["node_address"],
        "kubelet_version": info.get("kubeletVersion"),
        "container_runtime": info.get("containerRuntimeVersion"),
        "taints": node["spec"].get("taints", []),
        # Every pod the real node runs: ready (containers up, probes passing) or
        # not, and succeeded (the migration Jobs).
        "pods": {
            pod["metadata"]["name"]: "Ready"
            if any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in pod["status"].get("conditions", [])
            )
            else pod["status"].get("phase")
            for pod in items
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
    if promotion := report.get("promotion"):
        print(
            f"  promote {promotion['service']} to {promotion['tag']}: pushed after"
            f" {promotion['pushed_s']} s, new pods serving after {promotion['new_pods_serving_s']}"
            f" s; {promotion['failed']} of {promotion['requests']} requests failed"
        )
    if kill := report.get("pod_kill"):
        print(
            f"  pod kill: {kill['pod']} replaced, Ready after {kill['replacement_ready_s']} s;"
            f" {kill['failed']} of {kill['requests']} requests through the node port failed"
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
        print(f"{component.name:30} pid {component.pid:7} {'up' if _alive(component) else 'DOWN'}")
    return 0 if all(_alive(c) for c in components) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/rehearsal.py", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("up", help="start everything, run site.yml, wait, report")
    start.add_argument("--timeout", type=float, default=300.0)
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
