"""A push to the GitOps repository against the real API server's RBAC.

The rendered sync identities and AppProjects are applied for real, in
namespaces of this test's own; then every write the projects' Applications
could ask for goes through `kubectl apply --server-side --dry-run=server
--as=system:serviceaccount:<ns>:<account>`, the identity Argo CD impersonates
when it syncs. The blog's whole tree applies; Argo CD's namespace, AppProjects,
RBAC and other namespaces are Forbidden. The same limits, read from the
AppProjects themselves: tests/render/test_gitops_access.py.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ansible_collections.titanium.platform.plugins.module_utils import gitops_render as gitops
from tests.cluster.sim import SimCluster
from titanium_tools import inventory
from titanium_tools.validate import application_paths

pytestmark = pytest.mark.slow
ENV = "production"


class Access:
    def __init__(self, cluster: SimCluster, tree: Path, work: Path, blog: str, argocd: str):
        self.cluster, self.tree, self.work = cluster, tree, work
        self.blog, self.argocd = blog, argocd
        projects = self.documents(f"argocd/{ENV}/projects.yaml")
        self.projects = {p["metadata"]["name"]: p for p in projects}
        (self.root,) = self.documents(f"argocd/{ENV}/root.yaml")

    def documents(self, relative: str) -> list[dict]:
        text = (self.tree / relative).read_text()
        return [doc for doc in yaml.safe_load_all(text) if doc]

    def identity(self, project: str) -> str:
        entries = self.projects[project]["spec"]["destinationServiceAccounts"]
        (entry,) = entries
        return f"system:serviceaccount:{entry['defaultServiceAccount']}"

    def built(self, directory: Path) -> list[dict]:
        text = self.cluster.kubectl("kustomize", str(directory)).stdout
        return [doc for doc in yaml.safe_load_all(text) if doc]

    def apply_as(self, user: str, documents: list[dict]):
        manifest = self.work / f"{secrets.token_hex(4)}.yaml"
        manifest.write_text(yaml.safe_dump_all(documents, sort_keys=False))
        return self.cluster.kubectl(
            "apply",
            "--server-side",
            "--dry-run=server",
            "--field-manager=argocd-controller",
            f"--as={user}",
            "-f",
            str(manifest),
            check=False,
            timeout=300,
        )


@pytest.fixture(scope="module")
def access(sim_cluster_with_crds: SimCluster, tmp_path_factory) -> Iterator[Access]:
    cluster = sim_cluster_with_crds
    suffix = secrets.token_hex(3)
    blog, argocd = f"titanium-access-{suffix}", f"argocd-access-{suffix}"
    tree = tmp_path_factory.mktemp("access-tree")
    overrides = {"namespace": blog, "platform_namespaces": {"argocd": argocd}}
    gitops.write_tree(inventory.render(ENV, overrides=overrides), tree)
    cluster.kubectl("create", "namespace", argocd)
    state = Access(cluster, tree, tmp_path_factory.mktemp("access-work"), blog, argocd)
    try:
        for name in ("sync-identities.yaml", "projects.yaml"):
            cluster.kubectl("apply", "--server-side", "-f", str(tree / f"argocd/{ENV}/{name}"))
        yield state
    finally:
        for project in state.projects:
            cluster.kubectl(
                "patch",
                "appproject",
                project,
                "-n",
                argocd,
                "--type=merge",
                "-p",
                '{"metadata":{"finalizers":null}}',
                check=False,
            )
        for document in state.documents(f"argocd/{ENV}/sync-identities.yaml"):
            if "namespace" not in document["metadata"] and document["kind"] != "Namespace":
                kind, name = document["kind"], document["metadata"]["name"]
                cluster.kubectl("delete", kind, name, "--ignore-not-found", check=False)
        cluster.kubectl("delete", "namespace", blog, argocd, "--wait=true", timeout=120)


def deployment(namespace: str) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "planted", "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": {"app": "planted"}},
            "template": {
                "metadata": {"labels": {"app": "planted"}},
                "spec": {"containers": [{"name": "c", "image": "registry.invalid/x:1"}]},
            },
        },
    }


def forbidden(result) -> bool:
    return result.returncode != 0 and "forbidden" in result.stderr


def test_the_workloads_identity_applies_the_whole_blog_tree(access: Access):
    user = access.identity("titanium")
    children = application_paths(ENV, access.tree)[1:]
    documents = [doc for directory in children for doc in access.built(directory)]
    assert documents
    result = access.apply_as(user, documents)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("serverside-applied") == len(documents), result.stdout


def test_the_workloads_identity_deploys_into_the_blog_namespace_only(access: Access):
    user = access.identity("titanium")
    assert access.apply_as(user, [deployment(access.blog)]).returncode == 0
    into_argocd = access.apply_as(user, [deployment(access.argocd)])
    assert forbidden(into_argocd), into_argocd.stderr
    assert forbidden(access.apply_as(user, [deployment("default")]))


def test_the_workloads_identity_cannot_edit_a_project_rbac_or_namespaces(access: Access):
    user = access.identity("titanium")
    widened = access.projects["titanium"] | {}
    widened["spec"] = widened["spec"] | {
        "destinations": [{"server": "*", "namespace": "*"}],
        "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
    }
    attempts = {
        "AppProject": widened,
        "Application": access.root,
        "ClusterRoleBinding": {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"planted-{access.blog}"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "cluster-admin",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": access.blog}],
        },
        "RoleBinding": {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "planted", "namespace": access.blog},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "admin",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": access.blog}],
        },
        "another Namespace": {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": access.argocd, "labels": {"planted": "yes"}},
        },
        "Secret in argocd": {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "planted", "namespace": access.argocd},
        },
    }
    for what, document in attempts.items():
        result = access.apply_as(user, [document])
        assert forbidden(result), f"{what}: {result.stdout}{result.stderr}"


def test_the_root_identity_manages_child_applications_and_nothing_else(access: Access):
    user = access.identity("titanium-root")
    children = access.built(access.tree / access.root["spec"]["source"]["path"])
    assert {doc["kind"] for doc in children} == {"Application"}
    result = access.apply_as(user, children)
    assert result.returncode == 0, result.stderr
    for what, document in {
        "AppProject": access.projects["titanium"],
        "its own AppProject": access.projects["titanium-root"],
        "Deployment in argocd": deployment(access.argocd),
        "Deployment in the blog namespace": deployment(access.blog),
    }.items():
        result = access.apply_as(user, [document])
        assert forbidden(result), f"{what}: {result.stdout}{result.stderr}"


def test_the_identities_are_not_the_controllers(access: Access):
    """Without impersonation Argo CD writes as its controller: cluster-admin.
    The projects must name identities that are not."""
    for project in access.projects:
        user = access.identity(project)
        result = access.cluster.kubectl(
            "auth", "can-i", "*", "*", "--all-namespaces", f"--as={user}", check=False
        )
        assert result.stdout.strip() == "no", f"{project}: {user} is cluster-admin"
