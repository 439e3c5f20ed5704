"""Who may deploy what, from where, to where: Argo CD's AppProject and root
Application as the gitops role applied them, and the Kubernetes RBAC the roles
grant (none while their charts are off)."""

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
def root(argocd_objects):
    return argocd_objects("applications", "titanium-root")


def committed(scenario, path: str) -> dict:
    return yaml.safe_load(scenario.git("show", f"main:argocd/{scenario.environment}/{path}"))


def test_project_confines_argocd_to_the_repository_and_the_environment(
    scenario, project, role_default
):
    spec = project["spec"]
    assert spec["sourceRepos"] == [scenario.repo_url]
    assert spec["destinations"] == [
        {"server": IN_CLUSTER, "namespace": scenario.blog_namespace},
        {"server": IN_CLUSTER, "namespace": role_default("argocd", "argocd_namespace")},
    ]
    assert spec["clusterResourceWhitelist"] == [{"group": "", "kind": "Namespace"}]
    assert {"group": "apps", "kind": "Deployment"} in spec["namespaceResourceWhitelist"]
    # Argo CD may not grant Kubernetes RBAC through the project.
    granted = {entry["group"] for entry in spec["namespaceResourceWhitelist"]}
    assert "rbac.authorization.k8s.io" not in granted
    assert FINALIZER in project["metadata"]["finalizers"]


def test_project_is_what_the_repository_holds(scenario, project):
    expected = committed(scenario, "apps/project.yaml")
    assert project["spec"] == expected["spec"]
    assert project["metadata"]["finalizers"] == expected["metadata"]["finalizers"]


def test_root_application_syncs_the_environment_apps_from_the_repository(
    scenario, root, role_default
):
    spec = root["spec"]
    assert spec["project"] == "titanium"
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


def test_roles_grant_no_kubernetes_rbac_while_their_charts_are_off(kube, titanium_namespaces):
    # Nothing but the roles writes to these namespaces here: any Role or
    # RoleBinding in them would be theirs.
    rbac = client.RbacAuthorizationV1Api(kube)
    for namespace in titanium_namespaces:
        assert rbac.list_namespaced_role(namespace).items == [], namespace
        assert rbac.list_namespaced_role_binding(namespace).items == [], namespace
    titanium = "app.kubernetes.io/part-of=titanium"
    assert rbac.list_cluster_role(label_selector=titanium).items == []
    assert rbac.list_cluster_role_binding(label_selector=titanium).items == []
