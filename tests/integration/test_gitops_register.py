"""The gitops role's Kubernetes side against the real API server of the simulated
cluster: the sync identities, the AppProjects, the root Application and the
repository Secret are applied through kubernetes.core.k8s, and a second run
changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.cluster.sim import SimCluster
from tests.support.ansible_run import run_on_localhost
from tests.support.offline_values import offline_values

REPO_ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def run_phase(cluster: SimCluster, tmp_path: Path, remote: Path, token: str) -> str:
    extra = {
        "titanium_environment": "production",
        # No registry here: digests are read and pinned in test_gitops_playbooks.
        "titanium_environment_values": offline_values("production"),
        "gitserver_enabled": False,
        "gitops_repo_url": f"file://{remote}",
        "gitops_repo_username": "titanium",
        "gitops_repo_token": token,
        "gitops_manage_repository_secret": True,
        # Not the argocd role's Secret: other tests on the shared cluster use that one.
        "gitops_repository_secret": "titanium-gitops-repository-under-test",
        "gitops_kubeconfig": str(cluster.kubeconfig),
        "gitops_render_dir": str(tmp_path / "render"),
    }
    result = run_on_localhost("playbooks/gitops.yml", extra)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert token not in result.stdout + result.stderr
    return next(line for line in result.stdout.splitlines() if line.startswith("localhost "))


def get(cluster: SimCluster, kind: str, name: str) -> dict:
    return json.loads(cluster.kubectl("get", kind, name, "-n", "argocd", "-o", "json").stdout)


def test_root_application_project_and_repository_secret_are_registered_once(
    sim_cluster_with_crds: SimCluster, tmp_path: Path
):
    cluster = sim_cluster_with_crds
    remote = tmp_path / "gitops.git"
    subprocess.run(["git", "init", "--quiet", "--bare", "-b", "main", str(remote)], check=True)
    cluster.kubectl("create", "namespace", "argocd", check=False)
    token = os.urandom(12).hex()
    try:
        assert "changed=0" not in run_phase(cluster, tmp_path, remote, token)
        root = get(cluster, "application", "titanium-root")
        assert root["spec"]["source"]["repoURL"] == f"file://{remote}"
        assert root["spec"]["source"]["path"] == "argocd/production/apps"
        project = get(cluster, "appproject", "titanium")
        assert project["spec"]["destinations"] == [
            {"server": "https://kubernetes.default.svc", "namespace": "titanium-production"}
        ]
        assert get(cluster, "appproject", root["spec"]["project"])
        for entry in project["spec"]["destinationServiceAccounts"]:
            namespace, account = entry["defaultServiceAccount"].split(":")
            assert get(cluster, "serviceaccount", account)["metadata"]["namespace"] == namespace
        secret = get(cluster, "secret", "titanium-gitops-repository-under-test")
        assert secret["metadata"]["labels"]["argocd.argoproj.io/secret-type"] == "repository"
        assert "changed=0" in run_phase(cluster, tmp_path, remote, token)
    finally:
        # The identities first: they include cluster-wide RBAC and a namespace.
        identities = tmp_path / "render/argocd/production/sync-identities.yaml"
        if identities.exists():
            cluster.kubectl("delete", "-f", str(identities), "--ignore-not-found", check=False)
        # No Argo CD controller runs here to honour the finalizers: drop them,
        # so the objects really go and later tests on the shared cluster start clean.
        for kind, name in (
            ("application", "titanium-root"),
            ("appproject", "titanium"),
            ("appproject", "titanium-root"),
            ("secret", "titanium-gitops-repository-under-test"),
        ):
            cluster.kubectl(
                "patch",
                kind,
                name,
                "-n",
                "argocd",
                "--type=merge",
                "-p",
                '{"metadata":{"finalizers":null}}',
                check=False,
            )
            cluster.kubectl(
                "delete",
                kind,
                name,
                "-n",
                "argocd",
                "--ignore-not-found",
                "--wait=true",
                check=False,
            )
