"""A real Argo CD as local processes against a (simulated) cluster.

The binary is built from Argo CD's Go module by scripts/setup/argocd.sh (the
release the argocd role's chart deploys, tests/cluster/versions.env). Out of
cluster, the way Argo CD's own end-to-end suite runs it: every component with
ARGOCD_FAKE_IN_CLUSTER=true reads the cluster from KUBECONFIG, and the
in-cluster destination (https://kubernetes.default.svc) is that cluster.

    with ArgoCD.start(kubeconfig) as argocd:   # redis, repo-server, controller, server
        argocd.url                             # the API server, plain HTTP (--insecure)
        token = argocd.login("admin", password)
        argocd.api("GET", "/api/v1/applications/NAME", token=token)

The configuration objects (argocd-cm, argocd-secret, the repository Secret)
are the argocd role's to create; start() only makes what Argo CD cannot start
without and nobody created (the namespace, the CRDs, an empty argocd-cm,
argocd-rbac-cm and argocd-secret, the default AppProject), and never
overwrites. stop() stops every process it started and removes its work
directory (unless the caller gave it). save()/load() keep the processes in a
JSON file, so that one command starts Argo CD and another stops it
(scripts/rehearsal.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import httpx

from tests.cluster.processes import Component, alive, start_component, stop_components, tail
from tests.cluster.sim import bin_dir, binary, crds_dir, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
GIT_VERIFY_WRAPPER = REPO_ROOT / "tests/cluster/git-verify-wrapper.sh"
COMPONENTS = ("argocd-repo-server", "argocd-application-controller", "argocd-server")
# Starts made when a component finds its port taken (see ArgoCD.start).
START_ATTEMPTS = 3


class ArgoCDError(RuntimeError):
    pass


def _kubectl(kubeconfig: str, *args: str, input: str | None = None, check: bool = True):
    result = subprocess.run(
        [binary("kubectl"), "--kubeconfig", kubeconfig, *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if check and result.returncode != 0:
        raise ArgoCDError(f"kubectl {' '.join(args)}: {result.stdout}{result.stderr}")
    return result


def _bootstrap_objects(namespace: str) -> list[dict]:
    """What Argo CD needs to exist before it starts, when nobody made it."""

    def configmap(name: str) -> dict:
        labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "argocd"}
        meta = {"name": name, "namespace": namespace, "labels": labels}
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}

    secret = configmap("argocd-secret") | {"kind": "Secret", "type": "Opaque"}
    project = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "default", "namespace": namespace},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
        },
    }
    return [configmap("argocd-cm"), configmap("argocd-rbac-cm"), secret, project]


@dataclass
class ArgoCD:
    kubeconfig: str
    namespace: str
    workdir: str
    ports: dict[str, int]
    components: list[Component] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    version: str = ""
    owns_workdir: bool = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['server']}"

    # -- start and stop ---------------------------------------------------------

    @classmethod
    def start(
        cls,
        kubeconfig: str,
        namespace: str = "argocd",
        timeout: float = 120,
        workdir: str | Path | None = None,
    ) -> ArgoCD:
        for name in ("argocd", "kustomize"):
            if not os.access(bin_dir() / name, os.X_OK):
                raise ArgoCDError(f"{bin_dir() / name} is missing: run `make setup-argocd` first")
        began = time.monotonic()
        owns = workdir is None
        names = ("redis", "repo", "repo_metrics", "controller_metrics", "server", "server_metrics")
        # A port free_port() found can still be bound by another process of the
        # same worker before the component binds it, so a start that lost that
        # race is made again on new ports.
        for attempt in range(1, START_ATTEMPTS + 1):
            chosen = str(workdir or tempfile.mkdtemp(prefix="titanium-argocd-"))
            Path(chosen).mkdir(parents=True, exist_ok=True)
            ports = {name: free_port() for name in names}
            argocd = cls(kubeconfig, namespace, chosen, ports, owns_workdir=owns)
            try:
                argocd._prepare_cluster()
                argocd._launch()
                argocd._wait_ready(time.monotonic() + timeout)
            except ArgoCDError as error:
                argocd.stop()
                if "address already in use" in str(error) and attempt < START_ATTEMPTS:
                    continue
                raise
            except BaseException:
                argocd.stop()
                raise
            break
        argocd.timings["start"] = round(time.monotonic() - began, 1)
        return argocd

    def _prepare_cluster(self) -> None:
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}}
        _kubectl(self.kubeconfig, "apply", "-f", "-", input=json.dumps(ns))
        established = _kubectl(self.kubeconfig, "get", "crd", "-o", "name", check=False).stdout
        if "applications.argoproj.io" not in established:
            _kubectl(self.kubeconfig, "apply", "--server-side", "-f", str(crds_dir() / "argocd"))
            # Polled: `kubectl wait` fails outright on a CRD with no conditions yet.
            jsonpath = '{.status.conditions[?(@.type=="Established")].status}'
            deadline = time.monotonic() + 120
            for crd in ("applications.argoproj.io", "appprojects.argoproj.io"):
                while (
                    _kubectl(
                        self.kubeconfig,
                        "get",
                        "crd",
                        crd,
                        "-o",
                        f"jsonpath={jsonpath}",
                        check=False,
                    ).stdout
                    != "True"
                ):
                    if time.monotonic() > deadline:
                        raise ArgoCDError(f"CRD {crd} not Established")
                    time.sleep(0.5)
        for obj in _bootstrap_objects(self.namespace):
            # create, never apply: what the role made stays as it made it
            result = _kubectl(
                self.kubeconfig, "create", "-f", "-", input=json.dumps(obj), check=False
            )
            if result.returncode != 0 and "AlreadyExists" not in result.stderr:
                raise ArgoCDError(
                    f"creating {obj['kind']} {obj['metadata']['name']}: {result.stderr}"
                )

    def _launch(self) -> None:
        work = Path(self.workdir)
        logs = work / "logs"
        own_bin = work / "bin"
        for directory in (logs, own_bin, work / "tmp", work / "tls", work / "ssh", work / "gpg"):
            directory.mkdir(parents=True, exist_ok=True)
        # The repo-server runs git-verify-wrapper.sh from PATH for every
        # revision it reads; kustomize and git likewise.
        (own_bin / GIT_VERIFY_WRAPPER.name).unlink(missing_ok=True)  # a start made again
        (own_bin / GIT_VERIFY_WRAPPER.name).symlink_to(GIT_VERIFY_WRAPPER)
        env = {
            **os.environ,
            "PATH": f"{own_bin}:{bin_dir()}:{os.environ['PATH']}",
            "KUBECONFIG": self.kubeconfig,
            "HOME": str(work),
            "TMPDIR": str(work / "tmp"),
            "ARGOCD_FAKE_IN_CLUSTER": "true",
            "ARGOCD_GPG_ENABLED": "false",
            "ARGOCD_TLS_DATA_PATH": str(work / "tls"),
            "ARGOCD_SSH_DATA_PATH": str(work / "ssh"),
            "ARGOCD_GNUPGHOME": str(work / "gpg"),
            # The repo-server's git credential socket; its default is one fixed
            # path in /tmp, which a second Argo CD on the machine (another test,
            # the rehearsal) takes over, and removes when it stops.
            "ARGOCD_ASK_PASS_SOCK": str(work / "askpass.sock"),
        }
        # Debian's redis-server is a link that picks its mode by its name; stop()
        # knows the process by /proc/PID/exe (Redis rewrites its command line).
        redis_server = shutil.which("redis-server") or "redis-server"
        redis_argv = [redis_server, "--port", str(self.ports["redis"]), "--bind", "127.0.0.1",
                      "--save", "", "--appendonly", "no", "--dir", str(work)]  # fmt: skip
        redis = start_component("redis", redis_argv, logs)
        self.components.append(replace(redis, exe=os.path.realpath(redis_server)))
        redis = f"127.0.0.1:{self.ports['redis']}"
        repo = f"127.0.0.1:{self.ports['repo']}"
        common = ["--loglevel", "info", "--logformat", "text", "--redis", redis]
        argv = {
            "argocd-repo-server": [
                "--address", "127.0.0.1", "--port", str(self.ports["repo"]), "--disable-tls",
                "--metrics-address", "127.0.0.1",
                "--metrics-port", str(self.ports["repo_metrics"]),
            ],
            "argocd-application-controller": [
                "--namespace", self.namespace, "--repo-server", repo, "--repo-server-plaintext",
                "--metrics-port", str(self.ports["controller_metrics"]),
                "--status-processors", "5", "--operation-processors", "5",
            ],
            "argocd-server": [
                "--namespace", self.namespace, "--repo-server", repo, "--repo-server-plaintext",
                "--insecure", "--address", "127.0.0.1", "--port", str(self.ports["server"]),
                "--metrics-port", str(self.ports["server_metrics"]),
                "--dex-server", "", "--staticassets", str(work / "tmp"),
            ],
        }  # fmt: skip
        argocd = binary("argocd")
        for name in COMPONENTS:
            # One multi-call binary: ARGOCD_BINARY_NAME picks the component.
            with open(logs / f"{name}.log", "ab") as log:
                process = subprocess.Popen(
                    [argocd, *argv[name], *common],
                    env=env | {"ARGOCD_BINARY_NAME": name},
                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                )  # fmt: skip
            self.components.append(Component(name, process.pid, log.name, argocd))

    def _wait_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            dead = [c.name for c in self.components if not alive(c)]
            if dead:
                raise ArgoCDError(f"exited during start-up: {dead}\n{self.logs()}")
            with contextlib.suppress(httpx.HTTPError):
                status, body = self.api("GET", "/api/version")
                if status == 200:
                    self.version = body.get("Version", "") if isinstance(body, dict) else ""
                    return
            time.sleep(0.5)
        raise ArgoCDError(f"argocd-server not answering after start-up\n{self.logs()}")

    def stop(self) -> list[str]:
        """Stop every process started here; returns the names that survived."""
        survivors = stop_components(self.components)
        if not survivors and self.owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return survivors

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> ArgoCD:
        data = json.loads(path.read_text())
        data["components"] = [Component(**c) for c in data["components"]]
        return cls(**data)

    def __enter__(self) -> ArgoCD:
        return self

    def __exit__(self, *exc: object) -> None:
        survivors = self.stop()
        if survivors:
            raise ArgoCDError(f"still running after stop: {', '.join(survivors)}")

    # -- helpers for tests --------------------------------------------------------

    def api(
        self, method: str, path: str, body: dict | None = None, token: str | None = None
    ) -> tuple[int, dict | str]:
        """One call to argocd-server's REST API (grpc-gateway, plain HTTP)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.request(method, self.url + path, json=body, headers=headers, timeout=30)
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, response.text

    def login(self, username: str, password: str) -> str:
        status, body = self.api(
            "POST", "/api/v1/session", {"username": username, "password": password}
        )
        if status != 200 or not isinstance(body, dict):
            raise ArgoCDError(f"login as {username}: HTTP {status}: {body}")
        return body["token"]

    def logs(self, lines: int = 30) -> str:
        names = [*COMPONENTS, "redis"]
        return "\n".join(
            f"--- {name} ---\n{tail(Path(self.workdir) / 'logs' / f'{name}.log', lines)}"
            for name in names
        )
