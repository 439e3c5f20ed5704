"""A simulated Kubernetes cluster for the tests: a real control plane, fake nodes.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler run as plain
processes on free 127.0.0.1 ports in a temporary directory; kwok plays the
kubelet of three nodes with the Stage rules in kwok-stages.yaml. The binaries
come from `make setup` (build/bin).

As a library (pytest fixtures, Molecule create/destroy)::

    with SimCluster.start() as cluster:
        subprocess.run(["kubectl", "--kubeconfig", cluster.kubeconfig, ...])

From the command line (state in build/sim/state.json)::

    python -m tests.cluster.sim up|down|status
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.cluster.pki import Credential, make_pki, write_kubeconfig
from tests.cluster.processes import Component, alive, start_component, stop_components, tail
from tests.support.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SIM_DIR = REPO_ROOT / "build" / "sim"
STATE_FILE = SIM_DIR / "state.json"
DEFAULT_KUBECONFIG = SIM_DIR / "kubeconfig"
STAGES = HERE / "kwok-stages.yaml"
NODE_NAMES = ("sim-node-1", "sim-node-2", "sim-node-3")
# kwok manages only the nodes carrying this annotation, so a test may add nodes
# no one keeps Ready (to drill a node failure).
KWOK_ANNOTATION = "kwok.x-k8s.io/node"
SERVICE_CIDR = "10.96.0.0/16"


class SimError(RuntimeError):
    """The simulated cluster did not come up (or down); the message holds the logs."""


def bin_dir() -> Path:
    return Path(os.environ.get("TITANIUM_SIM_BIN", REPO_ROOT / "build" / "bin"))


def binary(name: str) -> str:
    path = bin_dir() / name
    if not os.access(path, os.X_OK):
        raise SimError(f"{path} is missing: run `make setup-cluster` first")
    return str(path.resolve())


def crds_dir() -> Path:
    """build/crds: istio/, argocd/, prometheus-operator/ (made by setup-cluster)."""
    path = Path(os.environ.get("TITANIUM_SIM_CRDS", REPO_ROOT / "build" / "crds"))
    if not path.is_dir():
        raise SimError(f"{path} is missing: run `make setup-cluster` first")
    return path


# --- the cluster ------------------------------------------------------------


@dataclass
class SimCluster:
    workdir: str
    kubeconfig: str
    server: str
    ports: dict[str, int]
    components: list[Component] = field(default_factory=list)
    owns_workdir: bool = True
    started_in: float = 0.0

    # -- API access with the admin credentials, for waiting and node creation --

    def _ssl(self) -> ssl.SSLContext:
        pki = Path(self.workdir) / "pki"
        ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        return ctx

    def api(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict | str]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310  https to our own API server
            self.server + path, data=data, method=method
        )
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, context=self._ssl(), timeout=5) as resp:  # noqa: S310
                raw = resp.read().decode()
                status = resp.status
        except urllib.error.HTTPError as exc:
            raw, status = exc.read().decode(), exc.code
        try:
            return status, json.loads(raw)
        except json.JSONDecodeError:
            return status, raw

    def ready_nodes(self) -> list[str]:
        status, body = self.api("GET", "/api/v1/nodes")
        if status != 200 or not isinstance(body, dict):
            return []
        ready = []
        for node in body.get("items", []):
            conditions = node.get("status", {}).get("conditions", [])
            if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
                ready.append(node["metadata"]["name"])
        return sorted(ready)

    def logs(self) -> str:
        parts = []
        for component in self.components:
            state = "running" if alive(component) else "NOT RUNNING"
            parts.append(
                f"----- {component.name} ({state}), last lines of {component.log} -----\n"
                + tail(component.log)
            )
        return "\n".join(parts)

    def fail(self, message: str) -> SimError:
        return SimError(f"{message}\n{self.logs()}")

    # -- lifecycle -------------------------------------------------------------

    @classmethod
    def start(
        cls,
        workdir: str | Path | None = None,
        kubeconfig: str | Path | None = None,
        nodes: tuple[str, ...] = NODE_NAMES,
        timeout: float = 60.0,
    ) -> SimCluster:
        """Start the cluster and return once /readyz answers and every node is
        Ready. On failure everything started is stopped and SimError carries the
        tail of each component's log."""
        began = time.monotonic()
        owns = workdir is None
        work = Path(workdir or tempfile.mkdtemp(prefix="titanium-sim-"))
        work.mkdir(parents=True, exist_ok=True)
        logs = work / "logs"
        logs.mkdir(exist_ok=True)
        creds = make_pki(work / "pki", SERVICE_CIDR)
        ports = {
            name: free_port()
            for name in (
                "etcd",
                "etcd-peer",
                "apiserver",
                "controller-manager",
                "scheduler",
                "kwok",
            )
        }
        server = f"https://127.0.0.1:{ports['apiserver']}"
        kubeconfig = Path(kubeconfig or work / "kubeconfig")
        write_kubeconfig(kubeconfig, server, creds["ca"].cert, creds["admin"], "titanium-admin")
        component_configs = {
            name: write_kubeconfig(
                work / f"{name}.kubeconfig", server, creds["ca"].cert, creds[name], name
            )
            for name in ("controller-manager", "scheduler", "kwok")
        }
        cluster = cls(str(work), str(kubeconfig), server, ports, owns_workdir=owns)
        try:
            cluster._launch(creds, logs)
            cluster._wait_api(began + timeout)
            cluster._launch_controllers(creds, component_configs)
            cluster._wait_nodes(nodes, began + timeout)
        except BaseException:
            cluster.stop()
            raise
        cluster.started_in = round(time.monotonic() - began, 2)
        return cluster

    def _launch(self, creds: dict[str, Credential], logs: Path) -> None:
        work, ports, pki = Path(self.workdir), self.ports, Path(self.workdir) / "pki"
        etcd_url = f"http://127.0.0.1:{ports['etcd']}"
        peer_url = f"http://127.0.0.1:{ports['etcd-peer']}"
        self.components.append(
            start_component(
                "etcd",
                [
                    binary("etcd"),
                    "--name=sim",
                    f"--data-dir={work / 'etcd'}",
                    f"--listen-client-urls={etcd_url}",
                    f"--advertise-client-urls={etcd_url}",
                    f"--listen-peer-urls={peer_url}",
                    f"--initial-advertise-peer-urls={peer_url}",
                    f"--initial-cluster=sim={peer_url}",
                    # Throw-away data: durability costs seconds and buys nothing.
                    "--unsafe-no-fsync",
                    "--log-level=warn",
                ],
                logs,
            )
        )
        self.components.append(
            start_component(
                "kube-apiserver",
                [
                    binary("kube-apiserver"),
                    f"--etcd-servers={etcd_url}",
                    "--bind-address=127.0.0.1",
                    "--advertise-address=127.0.0.1",
                    f"--secure-port={ports['apiserver']}",
                    f"--tls-cert-file={creds['apiserver'].cert}",
                    f"--tls-private-key-file={creds['apiserver'].key}",
                    f"--client-ca-file={creds['ca'].cert}",
                    "--authorization-mode=RBAC",
                    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                    f"--service-account-key-file={pki / 'sa.pub'}",
                    f"--service-account-signing-key-file={pki / 'sa.key'}",
                    f"--service-cluster-ip-range={SERVICE_CIDR}",
                    # A real node (tests/cluster/node.py) is reached at its address,
                    # for logs and exec: its name resolves nowhere.
                    "--kubelet-preferred-address-types=InternalIP,Hostname",
                    # Namespace annotations that put a namespace's pods on given nodes
                    # (the rehearsal sends its blog to the real node); inert elsewhere.
                    "--enable-admission-plugins=PodNodeSelector,PodTolerationRestriction",
                    "--allow-privileged=true",
                    "--profiling=false",
                    "--v=1",
                ],
                logs,
            )
        )

    def _launch_controllers(self, creds: dict[str, Credential], configs: dict[str, Path]) -> None:
        """After /readyz: the controllers look up RBAC-protected configuration at
        start-up and exit if the bootstrap roles are not there yet."""
        ports, pki = self.ports, Path(self.workdir) / "pki"
        logs = Path(self.workdir) / "logs"
        common = ["--leader-elect=false", "--bind-address=127.0.0.1", "--profiling=false"]
        self.components.append(
            start_component(
                "kube-controller-manager",
                [
                    binary("kube-controller-manager"),
                    f"--kubeconfig={configs['controller-manager']}",
                    f"--authentication-kubeconfig={configs['controller-manager']}",
                    f"--authorization-kubeconfig={configs['controller-manager']}",
                    f"--secure-port={ports['controller-manager']}",
                    f"--service-account-private-key-file={pki / 'sa.key'}",
                    f"--root-ca-file={creds['ca'].cert}",
                    "--use-service-account-credentials=true",
                    f"--service-cluster-ip-range={SERVICE_CIDR}",
                    # kwok's heartbeats lag when the machine is busy; a node marked
                    # NotReady marks every pod on it unready, and nothing simulated
                    # makes them ready again. Simulated nodes never really fail.
                    "--node-monitor-grace-period=1h",
                    *common,
                ],
                logs,
            )
        )
        self.components.append(
            start_component(
                "kube-scheduler",
                [
                    binary("kube-scheduler"),
                    f"--kubeconfig={configs['scheduler']}",
                    f"--authentication-kubeconfig={configs['scheduler']}",
                    f"--authorization-kubeconfig={configs['scheduler']}",
                    f"--secure-port={ports['scheduler']}",
                    *common,
                ],
                logs,
            )
        )
        self.components.append(
            start_component(
                "kwok",
                [
                    binary("kwok"),
                    f"--kubeconfig={configs['kwok']}",
                    f"--config={STAGES}",
                    f"--manage-nodes-with-annotation-selector={KWOK_ANNOTATION}=fake",
                    f"--server-address=127.0.0.1:{ports['kwok']}",
                    "--node-ip=10.0.0.1",
                    "--cidr=10.244.0.0/16",
                ],
                logs,
            )
        )

    def _wait_api(self, deadline: float) -> None:
        while True:
            self._check_running()
            with contextlib.suppress(OSError):
                status, _ = self.api("GET", "/readyz")
                if status == 200:
                    break
            if time.monotonic() > deadline:
                raise self.fail("kube-apiserver did not become ready (/readyz)")
            time.sleep(0.2)

    def _wait_nodes(self, nodes: tuple[str, ...], deadline: float) -> None:
        for name in nodes:
            self.add_node(name)
        while set(self.ready_nodes()) < set(nodes):
            self._check_running()
            if time.monotonic() > deadline:
                raise self.fail(f"nodes not Ready in time; Ready: {self.ready_nodes()}")
            time.sleep(0.2)

    def add_node(self, name: str, managed: bool = True) -> None:
        """Register a node; kwok keeps it Ready unless managed is False."""
        annotations = {KWOK_ANNOTATION: "fake"} if managed else {}
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "annotations": annotations,
                "labels": {
                    "kubernetes.io/hostname": name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "type": "kwok",
                },
            },
        }
        status, body = self.api("POST", "/api/v1/nodes", node)
        if status not in (201, 409):
            raise self.fail(f"creating node {name}: HTTP {status}: {body}")

    # -- helpers for tests ------------------------------------------------------

    def env(self) -> dict[str, str]:
        """The environment for tools run against this cluster (kubectl, helm,
        ansible-playbook with kubernetes.core)."""
        return {**os.environ, "KUBECONFIG": self.kubeconfig, "K8S_AUTH_KUBECONFIG": self.kubeconfig}

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this cluster; on failure (check=True) the error
        carries kubectl's output."""
        result = subprocess.run(
            [binary("kubectl"), "--kubeconfig", self.kubeconfig, *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise SimError(
                f"kubectl {' '.join(args)} exited {result.returncode}\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def install_crds(self, *directories: Path) -> None:
        """Apply CRDs server-side and wait until the API serves them."""
        directories = directories or tuple(p for p in sorted(crds_dir().iterdir()) if p.is_dir())
        files = [arg for d in directories for arg in ("-f", str(d))]
        # One kubectl for all: each call re-reads discovery, which grows with
        # every CRD.
        self.kubectl("apply", "--server-side", "--force-conflicts", *files, timeout=300)
        # One CRD per file named <group>_<plural>.yaml (controller-gen's layout,
        # which split_crds.py follows): cheaper than parsing megabytes of YAML.
        names = {
            "{1}.{0}".format(*path.stem.split("_", 1))
            for directory in directories
            for path in Path(directory).glob("*.yaml")
        }
        # Polled here: `kubectl wait` fails outright on a CRD whose status has
        # no conditions yet.
        deadline = time.monotonic() + 120
        while pending := names - self.established_crds():
            if time.monotonic() > deadline:
                raise self.fail(f"CRDs not Established: {sorted(pending)}")
            time.sleep(0.5)

    def established_crds(self) -> set[str]:
        try:
            status, body = self.api(
                "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
            )
        except OSError:
            return set()  # the list of large CRDs can outlast the timeout on a busy machine
        if status != 200 or not isinstance(body, dict):
            return set()
        return {
            crd["metadata"]["name"]
            for crd in body.get("items", [])
            if any(
                c["type"] == "Established" and c["status"] == "True"
                for c in crd.get("status", {}).get("conditions") or []
            )
        }

    def _check_running(self) -> None:
        dead = [c.name for c in self.components if not alive(c)]
        if dead:
            raise self.fail(f"exited during start-up: {', '.join(dead)}")

    def stop(self) -> list[str]:
        """Stop every process started here; returns the names that survived."""
        survivors = stop_components(self.components)
        if self.owns_workdir and not survivors:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return survivors

    def __enter__(self) -> SimCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        survivors = self.stop()
        if survivors:
            raise SimError(f"still running after stop: {', '.join(survivors)}")

    # -- state for the command line ------------------------------------------

    def save(self, path: Path | None = None) -> None:
        path = path or STATE_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path | None = None) -> SimCluster:
        data = json.loads((path or STATE_FILE).read_text())
        data["components"] = [Component(**c) for c in data["components"]]
        return cls(**data)


# --- command line -----------------------------------------------------------


def _up(args: argparse.Namespace) -> int:
    if STATE_FILE.exists():
        previous = SimCluster.load()
        if any(alive(c) for c in previous.components):
            print(f"already up: {previous.server} (kubeconfig {previous.kubeconfig})")
            return 0
        STATE_FILE.unlink()
    try:
        cluster = SimCluster.start(
            workdir=args.workdir, kubeconfig=args.kubeconfig, timeout=args.timeout
        )
    except SimError as exc:
        print(exc, file=sys.stderr)
        return 1
    cluster.save()
    print(
        f"up in {cluster.started_in} s: {cluster.server}, nodes {', '.join(cluster.ready_nodes())}"
        f"\nexport KUBECONFIG={cluster.kubeconfig}"
    )
    return 0


def stop_saved(state: Path) -> int:
    """Stop the cluster whose state `state` holds; exit status for a command line."""
    if not state.exists():
        print(f"not running (no {state})")
        return 0
    survivors = SimCluster.load(state).stop()
    if survivors:
        print(f"still running: {', '.join(survivors)}", file=sys.stderr)
        return 1
    state.unlink()
    print("down")
    return 0


def _down(_: argparse.Namespace) -> int:
    return stop_saved(STATE_FILE)


def _status(_: argparse.Namespace) -> int:
    if not STATE_FILE.exists():
        print("not running")
        return 3
    cluster = SimCluster.load()
    for component in cluster.components:
        print(f"{component.name:24} pid {component.pid:7} {'up' if alive(component) else 'DOWN'}")
    try:
        print(f"nodes Ready: {', '.join(cluster.ready_nodes()) or 'none'}")
    except OSError as exc:
        print(f"API server unreachable: {exc}")
        return 1
    return 0 if all(alive(c) for c in cluster.components) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.cluster.sim", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the cluster and wait for Ready nodes")
    up.add_argument("--kubeconfig", default=str(DEFAULT_KUBECONFIG))
    up.add_argument("--workdir", default=None, help="default: a fresh temporary directory")
    up.add_argument("--timeout", type=float, default=90.0)
    up.set_defaults(func=_up)
    sub.add_parser("down", help="stop what `up` started").set_defaults(func=_down)
    sub.add_parser("status", help="show the components and Ready nodes").set_defaults(func=_status)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
