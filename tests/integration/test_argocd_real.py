"""A real Argo CD reconciles a real Git repository into the simulated cluster.

Argo CD (built from its Go module by scripts/setup/argocd.sh, the release the
argocd role's chart deploys) runs as local processes (tests/support/argocd.py)
against a private simulated cluster; the argocd role writes its argocd-cm,
argocd-secret and repository Secret; the repository is served over HTTP with
credentials by git's own http-backend. The Application must reach Synced and
Healthy (its Deployment available on kwok nodes), a pushed change must go live
and a deleted object must come back (self-heal). Timings are printed.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from pathlib import Path

import pytest

from tests.cluster.sim import SimCluster, bin_dir
from tests.support.ansible_run import run_module, run_on_localhost
from tests.support.argocd import ArgoCD
from tests.support.git_http import GitHTTPServer
from tests.support.offline_values import offline_values
from titanium_tools import versions

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
APP = "demo"
TARGET = "titanium-demo"


def tree(greeting: str, replicas: int) -> dict[str, str]:
    """The small kustomize tree Argo CD reads: a ConfigMap and a Deployment."""
    return {
        "kustomization.yaml": f"namespace: {TARGET}\nresources:\n  - configmap.yaml\n"
        "  - deployment.yaml\n",
        "configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\n"
        f"data:\n  greeting: {greeting}\n",
        "deployment.yaml": f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
        - name: web
          image: registry.invalid/web:1
""",
    }


def sync_identity(repo_url: str) -> dict:
    """The target namespace, the ServiceAccount the project syncs as (allowed to
    edit that namespace), and the AppProject that names them."""
    server = "https://kubernetes.default.svc"
    items = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": TARGET}},
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "deployer", "namespace": "argocd"},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "deployer", "namespace": TARGET},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "edit",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": "argocd"}],
        },
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": APP, "namespace": "argocd"},
            "spec": {
                "sourceRepos": [repo_url],
                "destinations": [{"server": server, "namespace": TARGET}],
                "destinationServiceAccounts": [
                    {
                        "server": server,
                        "namespace": TARGET,
                        "defaultServiceAccount": "argocd:deployer",
                    }
                ],
            },
        },
    ]
    return {"apiVersion": "v1", "kind": "List", "items": items}


def git(cwd: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "PATH": "/usr/bin:/bin",
        "HOME": str(cwd),
    }
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def commit(checkout: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (checkout / "app" / name).parent.mkdir(parents=True, exist_ok=True)
        (checkout / "app" / name).write_text(text)
    git(checkout, "add", "-A")
    git(checkout, "commit", "-q", "-m", message)
    git(checkout, "push", "-q", "origin", "HEAD:main")
    return git(checkout, "rev-parse", "HEAD")


def get(cluster: SimCluster, *args: str) -> dict | None:
    result = cluster.kubectl("get", *args, "-o", "json", check=False)
    return json.loads(result.stdout) if result.returncode == 0 else None


def wait_for(what: str, probe, timeout: float, argocd: ArgoCD, cluster: SimCluster) -> float:
    """Seconds until probe() is true; fails with the Application's status and
    Argo CD's logs otherwise."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if probe():
            return round(time.monotonic() - began, 1)
        time.sleep(0.5)
    app = get(cluster, "application", APP, "-n", "argocd") or {}
    status = json.dumps(app.get("status", {}), indent=1)[-4000:]
    pytest.fail(f"{what}: not within {timeout} s\n{status}\n{argocd.logs()}")


@pytest.fixture(scope="module")
def cluster():
    # A private cluster: a real application-controller reconciles every
    # Application it sees, which would fight the shared cluster's tests.
    with SimCluster.start() as cluster:
        yield cluster


def test_argocd_reconciles_a_git_repository(cluster, tmp_path):
    timings: dict[str, float] = {}
    pins = versions.pins()
    # The binary the tests run is the release the role's chart deploys.
    version = subprocess.run(
        [str(bin_dir() / "argocd-server"), "version", "--short"], capture_output=True, text=True
    )
    assert version.stdout.split()[-1] == pins["ARGOCD_VERSION"], version.stdout + version.stderr

    username, password = "gitops", secrets.token_urlsafe(16)
    root = tmp_path / "git"
    git(root.parent, "init", "-q", "--bare", "-b", "main", str(root / "titanium.git"))
    with GitHTTPServer(root, username, password) as server:
        repo_url = f"{server.url}/titanium.git"
        checkout = tmp_path / "checkout"
        checkout.mkdir()
        git(checkout, "init", "-q", "-b", "main")
        authed = repo_url.replace("http://", f"http://{username}:{password}@")
        git(checkout, "remote", "add", "origin", authed)
        first = commit(checkout, tree("hello", 2), "first")

        admin_password = secrets.token_urlsafe(18)
        began = time.monotonic()
        run = run_on_localhost(
            "tests/integration/playbooks/argocd.yml",
            {
                "titanium_environment": "local",
                "titanium_environment_values": offline_values("local"),
                "argocd_enabled": False,
                "argocd_kubeconfig": cluster.kubeconfig,
                "argocd_servicemonitors_enabled": False,
                # By its plain name: an inventory of hosts alone (-i localhost,)
                # has no directory, so the secrets vars plugin gives no names.
                "argocd_admin_password": admin_password,
                # An external repository (the test's Git server), not Gitea.
                "gitserver_enabled": False,
                "gitops_repo_url": repo_url,
                "gitops_repo_username": username,
                "gitops_repo_token": password,
            },
            env=cluster.env(),
        )
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
        timings["argocd role"] = round(time.monotonic() - began, 1)

        with ArgoCD.start(cluster.kubeconfig) as argocd:
            timings["Argo CD start"] = argocd.timings["start"]
            assert argocd.version.startswith(pins["ARGOCD_VERSION"]), argocd.version
            # Titanium's argocd-cm turns impersonation on: the project syncs as
            # a ServiceAccount of its own that may edit its namespace only.
            cluster.kubectl("apply", "-f", "-", input=json.dumps(sync_identity(repo_url)))
            application = {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Application",
                "metadata": {"name": APP, "namespace": "argocd"},
                "spec": {
                    "project": APP,
                    "source": {"repoURL": repo_url, "targetRevision": "main", "path": "app"},
                    "destination": {
                        "server": "https://kubernetes.default.svc",
                        "namespace": TARGET,
                    },
                    "syncPolicy": {
                        "automated": {"prune": True, "selfHeal": True},
                    },
                },
            }
            cluster.kubectl("apply", "-f", "-", input=json.dumps(application))

            def app_status() -> dict:
                return (get(cluster, "application", APP, "-n", "argocd") or {}).get("status", {})

            def live(revision: str) -> bool:
                status = app_status()
                return (
                    status.get("sync", {}).get("status") == "Synced"
                    and status.get("sync", {}).get("revision") == revision
                    and status.get("health", {}).get("status") == "Healthy"
                )

            timings["Synced/Healthy"] = wait_for(
                "Synced and Healthy", lambda: live(first), 120, argocd, cluster
            )

            # argocd_app_wait reads the statuses the real controller wrote.
            rc, result = run_module(
                "titanium.platform.argocd_app_wait",
                {"kubeconfig": cluster.kubeconfig, "names": [APP], "timeout": 60, "interval": 1},
                env=cluster.env(),
            )
            assert rc == 0, result
            deployment = get(cluster, "deployment", "web", "-n", TARGET)
            assert deployment["status"].get("availableReplicas") == 2, deployment["status"]
            pods = get(cluster, "pods", "-n", TARGET, "-l", "app=web")["items"]
            assert all(pod["spec"].get("nodeName") for pod in pods), pods

            # The API server serves the same view, behind the role's admin password.
            token = argocd.login("admin", admin_password)
            status, body = argocd.api("GET", f"/api/v1/applications/{APP}", token=token)
            assert status == 200, body
            assert body["status"]["sync"]["status"] == "Synced", body["status"]

            # A push goes live. Argo CD polls every timeout.reconciliation (180 s)
            # and the repo-server caches the branch's revision as long; a hard
            # refresh bypasses that cache and reads the branch again.
            second = commit(checkout, tree("changed", 3), "second")
            cluster.kubectl(
                "annotate", "application", APP, "-n", "argocd",
                "argocd.argoproj.io/refresh=hard", "--overwrite",
            )  # fmt: skip

            def pushed_live() -> bool:
                cm = get(cluster, "configmap", "greeting", "-n", TARGET) or {}
                web = get(cluster, "deployment", "web", "-n", TARGET) or {}
                return (
                    cm.get("data", {}).get("greeting") == "changed"
                    and web.get("status", {}).get("availableReplicas") == 3
                    and live(second)
                )

            timings["push to live (hard refresh)"] = wait_for(
                "pushed change", pushed_live, 90, argocd, cluster
            )

            # Self-heal: a managed object deleted by hand comes back.
            cluster.kubectl("delete", "configmap", "greeting", "-n", TARGET)

            def healed() -> bool:
                cm = get(cluster, "configmap", "greeting", "-n", TARGET) or {}
                return cm.get("data", {}).get("greeting") == "changed"

            timings["self-heal (deleted ConfigMap)"] = wait_for(
                "self-heal", healed, 60, argocd, cluster
            )

            cluster.kubectl("delete", "application", APP, "-n", "argocd", "--wait=false")
    print("\nArgo CD " + pins["ARGOCD_VERSION"] + " timings (s): " + json.dumps(timings))
