"""playbooks/runbooks/bookinfo-traffic.yml against a real Git server (git's own
http-backend, with credentials), a real Argo CD and the simulated cluster with
Istio's CRDs: the gitops phase seeds local's tree, Argo CD syncs the
titanium-bookinfo Application as the rendered project and sync identity allow,
then each step of the runbook is one commit that Argo CD applies, read back
from the cluster's VirtualService here. Bad input stops before any commit."""

from __future__ import annotations

import json
import secrets
import subprocess
import time

import pytest

from tests.cluster.sim import SimCluster, crds_dir
from tests.support.ansible_run import run_on_localhost
from tests.support.argocd import ArgoCD
from tests.support.git_http import GitHTTPServer, in_remote, subjects
from tests.support.offline_values import offline_values

pytestmark = pytest.mark.slow

ENV = "local"
VALUES = offline_values(ENV)
NAMESPACE = VALUES["bookinfo"]["namespace"]
RUNBOOK = "playbooks/runbooks/bookinfo-traffic.yml"
HOST = f"reviews.{NAMESPACE}.svc.cluster.local"


def recap(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return next(line for line in result.stdout.splitlines() if line.startswith("localhost "))


def routes(virtualservice: dict) -> list[tuple]:
    """(match user or None, [(subset, weight)]) per HTTP route, in order."""
    found = []
    for route in virtualservice["spec"]["http"]:
        user = None
        for match in route.get("match", []):
            user = match["headers"]["end-user"]["exact"]
        found.append(
            (user, [(d["destination"]["subset"], d.get("weight")) for d in route["route"]])
        )
    return found


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    """A private cluster (Argo CD's controller reconciles every Application it
    sees), Istio's and the Prometheus Operator's CRDs, the repository seeded by
    playbooks/gitops.yml, and Argo CD syncing titanium-bookinfo."""
    work = tmp_path_factory.mktemp("bookinfo-traffic")
    username, password = "gitops", secrets.token_urlsafe(16)
    root = work / "git"
    root.mkdir()
    remote = root / "titanium.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    with (
        SimCluster.start() as cluster,
        GitHTTPServer(root, username, password) as server,
    ):
        cluster.install_crds(crds_dir() / "istio", crds_dir() / "prometheus-operator")
        repo_url = f"{server.url}/titanium.git"
        variables = {
            "titanium_environment": ENV,
            "titanium_environment_values": VALUES,
            "titanium_kubeconfig": cluster.kubeconfig,
            "gitserver_enabled": False,
            "gitops_repo_url": repo_url,
            "gitops_repo_username": username,
            "gitops_repo_token": password,
            "gitops_render_dir": str(work / "render"),
        }
        seed = run_on_localhost(
            "playbooks/gitops.yml",
            {**variables, "gitops_register_with_argocd": False},
            env=cluster.env(),
        )
        recap(seed)
        configured = run_on_localhost(
            "tests/integration/playbooks/argocd.yml",
            {
                **variables,
                "argocd_enabled": False,
                "argocd_kubeconfig": cluster.kubeconfig,
                "argocd_servicemonitors_enabled": False,
                # By its plain name: an inventory of hosts alone (-i localhost,)
                # has no directory, so the secrets vars plugin gives no names.
                "argocd_admin_password": secrets.token_urlsafe(18),
            },
            env=cluster.env(),
        )
        recap(configured)
        with ArgoCD.start(cluster.kubeconfig) as argocd:
            # What the gitops role applies (the identities and projects), and
            # Bookinfo's Application alone: the blog's would reconcile too.
            rendered = work / "render" / "argocd" / ENV
            for name in ("sync-identities.yaml", "projects.yaml", "apps/bookinfo.yaml"):
                cluster.kubectl("apply", "-f", str(rendered / name))
            yield {
                "cluster": cluster,
                "argocd": argocd,
                "remote": remote,
                "variables": variables,
            }


def live_reviews(cluster: SimCluster) -> dict | None:
    result = cluster.kubectl(
        "get", "virtualservice", "reviews", "-n", NAMESPACE, "-o", "json", check=False
    )
    return json.loads(result.stdout) if result.returncode == 0 else None


def test_each_step_is_a_commit_argo_cd_applies(platform):
    cluster, remote = platform["cluster"], platform["remote"]
    began = time.monotonic()
    while (live := live_reviews(cluster)) is None:
        if time.monotonic() - began > 180:
            app = cluster.kubectl("get", "application", "titanium-bookinfo", "-n", "argocd",
                                  "-o", "json", check=False).stdout  # fmt: skip
            pytest.fail(
                f"Bookinfo not synced in 180 s:\n{app[-4000:]}\n{platform['argocd'].logs()}"
            )
        time.sleep(1)
    synced = round(time.monotonic() - began, 1)
    assert routes(live) == [(None, [("v1", 100)])]
    productpage = json.loads(
        cluster.kubectl("get", "service", "productpage", "-n", NAMESPACE, "-o", "json").stdout
    )
    assert productpage["spec"]["type"] == "NodePort"

    # --check --diff shows the commit and makes none.
    before = subjects(remote)
    checked = run_on_localhost(
        RUNBOOK, {**platform["variables"], "step": "user-v2"}, "--check", "--diff",
        env=cluster.env(),
    )  # fmt: skip
    assert "changed=1" in recap(checked)
    assert "end-user:" in checked.stdout
    assert subjects(remote) == before
    assert routes(live_reviews(cluster)) == [(None, [("v1", 100)])]

    steps = [
        ("weighted", {"weight_v1": 70, "weight_v3": 30}, [(None, [("v1", 70), ("v3", 30)])]),
        ("user-v2", {"user": "ana"}, [("ana", [("v2", None)]), (None, [("v1", 100)])]),
        ("back-to-v1", {}, [(None, [("v1", 100)])]),
    ]
    timings = {"first sync": synced}
    for step, extra, expected in steps:
        before = subjects(remote)
        began = time.monotonic()
        result = run_on_localhost(
            RUNBOOK, {**platform["variables"], "step": step, **extra}, env=cluster.env()
        )
        assert "changed=1" in recap(result), result.stdout[-3000:]
        timings[step] = round(time.monotonic() - began, 1)
        # One commit, of the route alone; and the playbook returned only once
        # the cluster held it.
        assert subjects(remote) == [f"bookinfo traffic: {step} in {ENV}", *before]
        changed = in_remote(remote, "show", "--name-only", "--format=", "main").split()
        assert changed == [f"bookinfo/{ENV}/routing/reviews.yaml"]
        assert routes(live_reviews(cluster)) == expected
        assert {d["destination"]["host"] for r in live_reviews(cluster)["spec"]["http"]
                for d in r["route"]} == {HOST}  # fmt: skip

    again = run_on_localhost(
        RUNBOOK, {**platform["variables"], "step": "back-to-v1"}, env=cluster.env()
    )
    assert "changed=0" in recap(again)
    assert subjects(remote)[0] == f"bookinfo traffic: back-to-v1 in {ENV}"
    print(f"\nbookinfo-traffic timings (s): {json.dumps(timings)}")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"step": "all-v3"},
            "Give -e step=<one of all-v1, weighted, user-v2, back-to-v1>, not all-v3",
        ),
        (
            {"step": "weighted", "weight_v1": 60, "weight_v3": 50},
            "-e weight_v1 and -e weight_v3 are whole percentages that sum to 100, not 60 and 50",
        ),
        ({"step": "user-v2", "user": "a b"}, "-e user=a b is not a user name"),
    ],
)
def test_bad_input_stops_before_any_commit(tmp_path, extra, message):
    remote = tmp_path / "gitops.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    result = run_on_localhost(
        RUNBOOK,
        {
            "titanium_environment": ENV,
            "titanium_environment_values": VALUES,
            "gitserver_enabled": False,
            "gitops_repo_url": f"file://{remote}",
            **extra,
        },
    )
    assert result.returncode != 0
    assert message in " ".join(result.stdout.split()), result.stdout[-3000:]
    assert in_remote(remote, "for-each-ref") == ""
