"""What a push to the GitOps repository can reach, judged by Argo CD's own rules.

Every environment is rendered and each Application's path built with `kubectl
kustomize`; every object is then checked against the AppProject its Application
names (titanium_tools/argocd_project.py), as are planted objects a hostile push
would add. The same limits are enforced a second time by Kubernetes RBAC on the
identity each project syncs as: tests/integration/test_cluster_gitops_access.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.titanium.platform.plugins.module_utils import gitops_render as gitops
from titanium_tools import inventory
from titanium_tools import validate as gitops_validate
from titanium_tools.argocd_project import (
    CLUSTER_SCOPED,
    UnsupportedProject,
    group_kind,
    kind_permitted,
    refusal,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


class Tree:
    """One environment's render: projects, the root, and what each Application syncs."""

    def __init__(self, env: str, out: Path):
        self.env = env
        self.values = inventory.load_values(env)
        files = inventory.render(env)
        gitops.write_tree(files, out)
        self.documents = {
            path: [doc for doc in yaml.safe_load_all(text) if doc]
            for path, text in files.items()
            if path.startswith(f"argocd/{env}/")
        }
        self.projects = {
            doc["metadata"]["name"]: doc
            for docs in self.documents.values()
            for doc in docs
            if doc["kind"] == "AppProject"
        }
        (self.root,) = self.documents[f"argocd/{env}/root.yaml"]
        self.synced_by_root = self.build(out / self.root["spec"]["source"]["path"])
        self.children = [doc for doc in self.synced_by_root if doc["kind"] == "Application"]
        self.synced = {
            child["metadata"]["name"]: self.build(out / child["spec"]["source"]["path"])
            for child in self.children
        }

    @staticmethod
    def build(directory: Path) -> list[dict]:
        result = gitops_validate.run(["kubectl", "kustomize", str(directory)])
        assert result.returncode == 0, result.stderr
        return [doc for doc in yaml.safe_load_all(result.stdout) if doc]

    def project_of(self, application: dict) -> dict:
        name = application["spec"]["project"]
        assert name in self.projects, f"{application['metadata']['name']}: no AppProject {name}"
        return self.projects[name]


@pytest.fixture(scope="module", params=inventory.environments())
def tree(request, tmp_path_factory) -> Tree:
    return Tree(request.param, tmp_path_factory.mktemp(f"access-{request.param}"))


def planted(kind: str, namespace: str | None, api_version: str = "v1", name: str = "x") -> dict:
    metadata = {"name": name} | ({"namespace": namespace} if namespace else {})
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata}


def hostile(argocd: str, blog: str) -> dict[str, dict]:
    """Objects a push could add to give itself more than the blog's namespace."""
    return {
        "Deployment in argocd": planted("Deployment", argocd, "apps/v1"),
        "argocd-cm": planted("ConfigMap", argocd, name="argocd-cm"),
        "ServiceAccount in argocd": planted("ServiceAccount", argocd),
        "Secret in argocd": planted("Secret", argocd),
        "AppProject": planted("AppProject", argocd, "argoproj.io/v1alpha1", "titanium"),
        "Application": planted("Application", argocd, "argoproj.io/v1alpha1"),
        "AppProject in the blog's namespace": planted("AppProject", blog, "argoproj.io/v1alpha1"),
        "Role": planted("Role", blog, "rbac.authorization.k8s.io/v1"),
        "RoleBinding": planted("RoleBinding", blog, "rbac.authorization.k8s.io/v1"),
        "ClusterRoleBinding": planted("ClusterRoleBinding", None, "rbac.authorization.k8s.io/v1"),
        "CRD": planted("CustomResourceDefinition", None, "apiextensions.k8s.io/v1"),
        "Deployment in kube-system": planted("Deployment", "kube-system", "apps/v1"),
    }


def test_every_application_syncs_only_what_its_project_permits(tree):
    assert tree.children, f"{tree.env}: the root syncs no Application"
    for obj in tree.synced_by_root:
        assert refusal(tree.project_of(tree.root), tree.root, obj) is None, obj["metadata"]
    for child in tree.children:
        project = tree.project_of(child)
        for obj in tree.synced[child["metadata"]["name"]]:
            why = refusal(project, child, obj)
            assert why is None, f"{child['metadata']['name']}: {obj['kind']}: {why}"


def test_the_workloads_project_refuses_argocd_projects_and_rbac(tree):
    argocd = tree.values["platform_namespaces"]["argocd"]
    for child in tree.children:
        project = tree.project_of(child)
        for what, obj in hostile(argocd, tree.values["namespace"]).items():
            assert refusal(project, child, obj), f"{child['metadata']['name']} may deploy {what}"


def workload_namespaces(values: dict) -> list[str]:
    """The blog's namespace, and Bookinfo's where the environment runs it."""
    bookinfo = values["bookinfo"]
    return [values["namespace"]] + ([bookinfo["namespace"]] if bookinfo["enabled"] else [])


def test_the_workloads_project_targets_only_the_workload_namespaces(tree):
    for child in tree.children:
        destinations = tree.project_of(child)["spec"]["destinations"]
        assert [d["namespace"] for d in destinations] == workload_namespaces(tree.values)


def test_the_root_project_may_manage_applications_and_nothing_else(tree):
    argocd = tree.values["platform_namespaces"]["argocd"]
    project = tree.project_of(tree.root)
    application = planted("Application", argocd, "argoproj.io/v1alpha1")
    assert refusal(project, tree.root, application) is None
    for what, obj in hostile(argocd, tree.values["namespace"]).items():
        if what != "Application":
            assert refusal(project, tree.root, obj), f"the root may deploy {what}"
    assert refusal(project, tree.root, planted("ConfigMap", tree.values["namespace"]))
    # Cluster-scoped kinds: none.
    for group, kind in CLUSTER_SCOPED:
        assert not kind_permitted(project, group, kind), kind


def test_no_project_is_synced_from_git_and_no_project_manages_itself(tree):
    synced = tree.synced_by_root + [o for objs in tree.synced.values() for o in objs]
    assert not [o for o in synced if o["kind"] == "AppProject"]
    root_project = tree.root["spec"]["project"]
    assert all(child["spec"]["project"] != root_project for child in tree.children)
    for project in tree.projects.values():
        assert not kind_permitted(project, "argoproj.io", "AppProject"), project["metadata"]


def ansible_applied(tree: Tree) -> list[dict]:
    """What the gitops role applies: every argocd/<env> file the root does not sync."""
    synced_prefix = f"argocd/{tree.env}/{Path(tree.root['spec']['source']['path']).name}/"
    return [
        doc
        for path, docs in tree.documents.items()
        if not path.startswith(synced_prefix)
        for doc in docs
    ]


def test_each_project_syncs_as_its_own_namespaced_service_account(tree):
    settings = yaml.safe_load((REPO_ROOT / "gitops/argocd-cm.yml").read_text())
    assert settings.get("application.sync.impersonation.enabled") == "true"
    applied = ansible_applied(tree)
    accounts = {
        f"{o['metadata']['namespace']}:{o['metadata']['name']}"
        for o in applied
        if o["kind"] == "ServiceAccount"
    }
    used = set()
    for application in [tree.root, *tree.children]:
        project = tree.project_of(application)
        destination = application["spec"]["destination"]
        matching = [
            entry
            for entry in project["spec"].get("destinationServiceAccounts", [])
            if entry["server"] == destination["server"]
            and entry["namespace"] == destination["namespace"]
        ]
        assert len(matching) == 1, f"{application['metadata']['name']}: no sync identity"
        account = matching[0]["defaultServiceAccount"]
        assert account in accounts, f"{account} is not among the rendered identities"
        used.add((project["metadata"]["name"], account))
    # One identity per project: the root's cannot be borrowed by the workloads.
    assert len({account for _, account in used}) == len(used) == len(tree.projects)


def test_only_the_workload_namespace_objects_are_reachable_outside_namespaces(tree):
    """The one cluster-scoped grant: the workloads' own Namespaces, by name."""
    cluster_rules = [
        rule
        for o in ansible_applied(tree)
        if o["kind"] == "ClusterRole"
        for rule in o.get("rules", [])
    ]
    for rule in cluster_rules:
        assert rule["resources"] == ["namespaces"] and rule["apiGroups"] == [""], rule
        assert rule["resourceNames"] == workload_namespaces(tree.values), rule
        assert "delete" not in rule["verbs"] and "create" not in rule["verbs"], rule


def test_the_evaluator_refuses_what_it_cannot_judge():
    project = {"spec": {"destinations": [{"server": "*", "namespace": "!argocd"}]}}
    application = {
        "spec": {"destination": {"server": "s", "namespace": "n"}, "source": {"repoURL": "r"}}
    }
    with pytest.raises(UnsupportedProject):
        refusal(project, application, planted("ConfigMap", "n"))
    assert group_kind(planted("Role", "n", "rbac.authorization.k8s.io/v1")) == (
        "rbac.authorization.k8s.io",
        "Role",
    )


def test_the_gitops_role_applies_every_file_the_root_does_not_sync(tree):
    register = yaml.safe_load((REPO_ROOT / "roles/gitops/tasks/register.yml").read_text())
    (task,) = [t for t in register if "AppProjects" in t["name"]]
    assert tuple(task["loop"]) == gitops_validate.ANSIBLE_APPLIED
    top_level = {Path(path).name for path in tree.documents if Path(path).parent.name == tree.env}
    assert top_level == set(gitops_validate.ANSIBLE_APPLIED)
