"""Who may deploy what, from where, to where: Argo CD's AppProjects and root
Application as the gitops role applied them, and the Kubernetes RBAC the roles
grant (only the projects' sync identities while the charts are off)."""

from __future__ import annotations

import pytest
import yaml
from kubernetes import client

IN_CLUSTER = "https://kubernetes.default.svc"
FINALIZER = "resources-finalizer.argocd.argoproj.io"


@pytest.fixture(scope="module")
def project(argocd_objects):
    return argocd_objects("appprojects", "titanium")


@pytest.fixture(scope="module")
def root_project(argocd_objects, root):
    return argocd_objects("appprojects", root["spec"]["project"])


@pytest.fixture(scope="module")
def root(argocd_objects):
    return argocd_objects("applications", "titanium-root")


def committed_all(scenario, path: str) -> list[dict]:
    text = scenario.git("show", f"main:argocd/{scenario.environment}/{path}")
    return [doc for doc in yaml.safe_load_all(text) if doc]


def committed(scenario, path: str, name: str | None = None) -> dict:
    (doc,) = [d for d in committed_all(scenario, path) if name in (None, d["metadata"]["name"])]
    return doc


def test_project_confines_argocd_to_the_repository_and_the_environment(scenario, project):
    spec = project["spec"]
    assert spec["sourceRepos"] == [scenario.repo_url]
    # Never Argo CD's own namespace: a push must not reach Argo CD itself.
    assert spec["destinations"] == [
        {"server": IN_CLUSTER, "namespace": namespace} for namespace in scenario.workload_namespaces
    ]
    assert spec["clusterResourceWhitelist"] == [{"group": "", "kind": "Namespace"}]
    assert {"group": "apps", "kind": "Deployment"} in spec["namespaceResourceWhitelist"]
    # Argo CD may not grant Kubernetes RBAC, nor edit itself, through the project.
    granted = {entry["group"] for entry in spec["namespaceResourceWhitelist"]}
    assert not granted & {"rbac.authorization.k8s.io", "argoproj.io"}
    assert FINALIZER in project["metadata"]["finalizers"]


def test_root_project_holds_child_applications_only(root_project, role_default):
    spec = root_project["spec"]
    argocd = role_default("argocd", "argocd_namespace")
    assert spec["destinations"] == [{"server": IN_CLUSTER, "namespace": argocd}]
    assert spec["namespaceResourceWhitelist"] == [{"group": "argoproj.io", "kind": "Application"}]
    assert not spec.get("clusterResourceWhitelist")


def test_projects_are_what_the_render_holds_and_sync_as_their_own_identity(
    scenario, project, root_project
):
    for live in (project, root_project):
        expected = committed(scenario, "projects.yaml", live["metadata"]["name"])
        assert live["spec"] == expected["spec"]
        assert live["metadata"]["finalizers"] == expected["metadata"]["finalizers"]
        for identity in live["spec"]["destinationServiceAccounts"]:
            assert ":" in identity["defaultServiceAccount"]
    # The root Application syncs no project: only the gitops role applies them.
    apps = scenario.git("ls-tree", "--name-only", f"main:argocd/{scenario.environment}/apps")
    assert "project.yaml" not in apps.split()


def test_root_application_syncs_the_environment_apps_from_the_repository(
    scenario, root, role_default
):
    spec = root["spec"]
    assert spec["project"] == "titanium-root"
    assert spec["source"] == {
        "repoURL": scenario.repo_url,
        "targetRevision": "main",
        "path": f"argocd/{scenario.environment}/apps",
    }
    assert spec["destination"] == {
        "server": IN_CLUSTER,
        "namespace": role_default("argocd", "argocd_namespace"),
    }
    assert spec["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert root["metadata"]["labels"]["titanium.io/environment"] == scenario.environment
    assert FINALIZER in root["metadata"]["finalizers"]


def test_root_application_is_what_the_repository_holds(scenario, root):
    expected = committed(scenario, "root.yaml")
    assert root["spec"] == expected["spec"]
    assert root["metadata"]["labels"] == expected["metadata"]["labels"]


def test_roles_grant_only_the_sync_identities_while_their_charts_are_off(
    kube, scenario, titanium_namespaces
):
    # Nothing but the roles writes to these namespaces here: any Role or
    # RoleBinding in them is theirs, and only the gitops role's sync identities
    # may be there.
    expected = {
        (doc["kind"], doc["metadata"].get("namespace"), doc["metadata"]["name"])
        for doc in committed_all(scenario, "sync-identities.yaml")
        if doc["apiVersion"].startswith("rbac.authorization.k8s.io/")
    }
    rbac = client.RbacAuthorizationV1Api(kube)
    found = set()
    for namespace in titanium_namespaces:
        found |= {
            ("Role", namespace, r.metadata.name) for r in rbac.list_namespaced_role(namespace).items
        }
        found |= {
            ("RoleBinding", namespace, b.metadata.name)
            for b in rbac.list_namespaced_role_binding(namespace).items
        }
    titanium = "app.kubernetes.io/part-of=titanium"
    found |= {
        ("ClusterRole", None, r.metadata.name)
        for r in rbac.list_cluster_role(label_selector=titanium).items
    }
    found |= {
        ("ClusterRoleBinding", None, b.metadata.name)
        for b in rbac.list_cluster_role_binding(label_selector=titanium).items
    }
    assert expected and found == expected
