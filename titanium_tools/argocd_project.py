"""What an Argo CD AppProject lets its Applications deploy, as Argo CD decides it.

A test helper covering the fields Titanium's projects use: source repositories,
destinations, cluster- and namespace-scoped resource white- and blacklists.
Semantics from Argo CD's project reference: a cluster-scoped kind must be
whitelisted (an empty whitelist allows none); a namespaced kind must be
whitelisted when a whitelist is given and never blacklisted; the namespace of
every namespaced object (the Application's when the object names none) must be
one of the project's destinations. Deny patterns ("!ns") are refused, so a
project this helper cannot judge fails the test instead of being judged wrongly.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

# Kinds the API serves without a namespace, among those a tree could hold.
CLUSTER_SCOPED = {
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("storage.k8s.io", "StorageClass"),
    ("scheduling.k8s.io", "PriorityClass"),
}


class UnsupportedProject(ValueError):
    """The project uses a pattern this helper does not evaluate."""


def group_kind(obj: dict) -> tuple[str, str]:
    api_version = obj["apiVersion"]
    group = api_version.split("/")[0] if "/" in api_version else ""
    return group, obj["kind"]


def _glob(pattern: str, value: str) -> bool:
    if pattern.startswith("!"):
        raise UnsupportedProject(f"deny pattern {pattern!r}")
    return fnmatchcase(value, pattern)


def _listed(entries: list[dict] | None, group: str, kind: str) -> bool:
    return any(_glob(e["group"], group) and _glob(e["kind"], kind) for e in entries or [])


def destination_permitted(project: dict, server: str, namespace: str) -> bool:
    return any(
        _glob(d.get("server", ""), server) and _glob(d.get("namespace", ""), namespace)
        for d in project["spec"].get("destinations", [])
    )


def source_permitted(project: dict, repo_url: str) -> bool:
    return any(_glob(pattern, repo_url) for pattern in project["spec"].get("sourceRepos", []))


def kind_permitted(project: dict, group: str, kind: str) -> bool:
    spec = project["spec"]
    if (group, kind) in CLUSTER_SCOPED:
        return _listed(spec.get("clusterResourceWhitelist"), group, kind) and not _listed(
            spec.get("clusterResourceBlacklist"), group, kind
        )
    whitelist = spec.get("namespaceResourceWhitelist")
    if whitelist and not _listed(whitelist, group, kind):
        return False
    return not _listed(spec.get("namespaceResourceBlacklist"), group, kind)


def refusal(project: dict, application: dict, obj: dict) -> str | None:
    """Why the project refuses `obj` in `application`, or None if it permits it."""
    destination = application["spec"]["destination"]
    if not destination_permitted(project, destination["server"], destination["namespace"]):
        return f"application destination {destination['namespace']} not permitted"
    if not source_permitted(project, application["spec"]["source"]["repoURL"]):
        return "source repository not permitted"
    group, kind = group_kind(obj)
    if not kind_permitted(project, group, kind):
        return f"{group or 'core'}/{kind} not permitted"
    if (group, kind) not in CLUSTER_SCOPED:
        namespace = obj.get("metadata", {}).get("namespace") or destination["namespace"]
        if not destination_permitted(project, destination["server"], namespace):
            return f"namespace {namespace} not permitted"
    return None
