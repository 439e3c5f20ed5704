"""Every environment's rendered GitOps tree against the real API server.

What Argo CD would apply — each Application's kustomize build — and what the
gitops role applies — sync identities, AppProjects, root Application — go
through `kubectl apply --server-side --dry-run=server` with the CRDs installed:
admission, CRD structural schemas and field validation run for real, nothing
is persisted. The mesh manifests also pass `istioctl analyze`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from ansible_collections.titanium.platform.plugins.module_utils import gitops_render as gitops
from tests.cluster.sim import SimCluster, binary
from titanium_tools import inventory
from titanium_tools.validate import ANSIBLE_APPLIED, application_paths

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    rendered = {}
    for env in inventory.environments():
        out = tmp_path_factory.mktemp(f"gitops-{env}")
        gitops.write_tree(inventory.render(env), out)
        rendered[env] = out
    return rendered


def built_documents(cluster: SimCluster, env: str, tree: Path) -> list[dict]:
    documents = []
    for directory in application_paths(env, tree):
        built = cluster.kubectl("kustomize", str(directory)).stdout
        documents.extend(doc for doc in yaml.safe_load_all(built) if doc)
    for name in ANSIBLE_APPLIED:
        text = (tree / f"argocd/{env}/{name}").read_text()
        documents.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return documents


@pytest.mark.parametrize("env", inventory.environments())
def test_rendered_tree_applies_server_side(
    sim_cluster_with_crds: SimCluster, trees: dict[str, Path], env: str, tmp_path: Path
) -> None:
    cluster = sim_cluster_with_crds
    documents = built_documents(cluster, env, trees[env])
    assert documents, f"{env}: nothing rendered"
    with namespaces_of(cluster, documents):
        result = dry_run(cluster, documents, tmp_path / f"{env}.yaml")
    assert result.returncode == 0, f"{env}:\n{result.stderr}"
    applied = [line for line in result.stdout.splitlines() if "serverside-applied" in line]
    assert len(applied) == len(documents), result.stdout


@contextmanager
def namespaces_of(cluster: SimCluster, documents: list[dict]) -> Iterator[None]:
    """A dry run persists nothing, so objects of a namespace the same tree creates
    would find no namespace: create the missing ones for real, and remove them
    afterwards so later tests on the shared cluster find it as it was."""
    wanted = {d.get("metadata", {}).get("namespace") for d in documents} - {None}
    wanted |= {d["metadata"]["name"] for d in documents if d["kind"] == "Namespace"}
    created = [
        namespace
        for namespace in sorted(wanted)
        if cluster.kubectl("create", "namespace", namespace, check=False).returncode == 0
    ]
    try:
        yield
    finally:
        if created:
            cluster.kubectl("delete", "namespace", *created, "--wait=true", timeout=120)


def dry_run(cluster: SimCluster, documents: list[dict], manifest: Path):
    manifest.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return cluster.kubectl(
        "apply",
        "--server-side",
        "--dry-run=server",
        "--field-manager=argocd-controller",
        "-f",
        str(manifest),
        check=False,
        timeout=300,
    )


def test_a_broken_tree_is_rejected(
    sim_cluster_with_crds: SimCluster, trees: dict[str, Path], tmp_path: Path
) -> None:
    """The check above can fail: a misspelt field in one Deployment is refused."""
    env = inventory.environments()[0]
    documents = built_documents(sim_cluster_with_crds, env, trees[env])
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    deployment["spec"]["replica"] = 2
    with namespaces_of(sim_cluster_with_crds, documents):
        result = dry_run(sim_cluster_with_crds, documents, tmp_path / "broken.yaml")
    assert result.returncode != 0
    assert ".spec.replica" in result.stderr, result.stderr


@pytest.mark.parametrize("env", inventory.environments())
def test_mesh_manifests_pass_istioctl_analyze(
    sim_cluster: SimCluster, trees: dict[str, Path], env: str, tmp_path: Path
) -> None:
    mesh = trees[env] / f"platform/{env}/mesh"
    assert mesh.is_dir(), f"{env}: no mesh folder in the rendered tree"
    result = istioctl_analyze(sim_cluster, mesh, tmp_path / "mesh.yaml")
    assert result.returncode == 0, f"{env}:\n{result.stdout}\n{result.stderr}"


@pytest.mark.parametrize(
    "env", [e for e in inventory.environments() if inventory.load_values(e)["bookinfo"]["enabled"]]
)
def test_bookinfo_passes_istioctl_analyze(
    sim_cluster: SimCluster, trees: dict[str, Path], env: str, tmp_path: Path
) -> None:
    """Bookinfo's whole application: its reviews route names subsets its
    DestinationRule defines, for Services and pods it holds."""
    result = istioctl_analyze(sim_cluster, trees[env] / f"bookinfo/{env}", tmp_path / "b.yaml")
    assert result.returncode == 0, f"{env}:\n{result.stdout}\n{result.stderr}"


def istioctl_analyze(cluster: SimCluster, folder: Path, manifest: Path):
    manifest.write_text(cluster.kubectl("kustomize", str(folder)).stdout)
    return subprocess.run(
        [
            binary("istioctl"),
            "analyze",
            "--use-kube=false",
            # Without it only the namespace "default" is analysed: nothing here.
            "--all-namespaces",
            "--failure-threshold=Error",
            str(manifest),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
