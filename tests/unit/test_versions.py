"""Deploy what you test: every platform release is pinned once, in the versions
role's defaults, and everything else that names one agrees with it: the roles
(which take it from there), the Go modules the tests build the simulated
cluster, its CRDs, Argo CD and Gitea from, the shell's reading of the file, and
Istio's support for the Kubernetes that k3s ships."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from titanium_tools.versions import PLATFORM_FILE, kubernetes_of, pins, platform

REPO_ROOT = Path(__file__).resolve().parents[2]
GO = REPO_ROOT / "tests/cluster/go"
# Where a pin could be restated: every YAML file Ansible reads.
ANSIBLE_YAML = [
    path
    for top in ("roles", "inventories", "playbooks", "molecule")
    for path in (REPO_ROOT / top).rglob("*.yml")
    if path != PLATFORM_FILE
]


def required(module: str, path: str) -> str:
    match = re.search(
        rf"^\s*(?:require\s+)?{re.escape(path)} (\S+)", (GO / module / "go.mod").read_text(), re.M
    )
    assert match, f"{module}/go.mod requires no {path}"
    return match.group(1)


def minor(version: str) -> tuple[int, int]:
    major, minor_ = re.match(r"v?(\d+)\.(\d+)", version).groups()
    return int(major), int(minor_)


@pytest.mark.parametrize("name", sorted(platform()))
def test_no_other_file_states_a_platform_version(name):
    stated = re.compile(rf"^\s*{name}:\s*(?![\"']?\{{\{{)\S", re.M)
    restated = []
    for path in ANSIBLE_YAML:
        text = path.read_text()
        if stated.search(text) and not (
            path.name == "argument_specs.yml" and "default" not in option(path, name)
        ):
            restated.append(str(path.relative_to(REPO_ROOT)))
    assert not restated, (
        f"{name} is pinned in {PLATFORM_FILE.relative_to(REPO_ROOT)} only: {restated}"
    )


def option(specs: Path, name: str) -> dict:
    """An argument_specs option names a variable without pinning it."""
    for entry in yaml.safe_load(specs.read_text())["argument_specs"].values():
        if name in entry.get("options", {}):
            return entry["options"][name]
    return {}


def test_the_simulated_cluster_runs_the_kubernetes_k3s_ships():
    kubernetes = kubernetes_of(platform()["k3s_version"])
    assert re.fullmatch(r"v\d+\.\d+\.\d+", kubernetes), platform()["k3s_version"]
    for module in ("kube", "node"):
        assert required(module, "k8s.io/kubernetes") == kubernetes, module


def test_argo_cd_binary_and_crds_are_the_release_the_chart_deploys():
    for module in ("argocd", "crds-argocd"):
        assert required(module, "github.com/argoproj/argo-cd/v3") == platform()["argocd_version"]


def test_the_prometheus_operator_crds_are_the_release_the_chart_deploys():
    assert (
        required(
            "crds-prometheus-operator",
            "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring",
        )
        == platform()["monitoring_prometheus_operator_version"]
    )


def test_the_tests_build_the_gitea_the_chart_deploys():
    assert required("gitea", "code.gitea.io/gitea") == "v" + platform()["gitserver_gitea_version"]


def test_the_pinned_istio_supports_the_kubernetes_k3s_ships():
    preflight = yaml.safe_load((REPO_ROOT / "roles/preflight/defaults/main.yml").read_text())
    istio = "{}.{}".format(*minor(platform()["istio_version"]))
    support = preflight["preflight_istio_kubernetes_support"].get(istio)
    assert support, f"Istio {istio} has no row in preflight_istio_kubernetes_support"
    kubernetes = minor(platform()["k3s_version"])
    assert minor(support["min"]) <= kubernetes <= minor(support["max"]), (istio, support)


def test_istioctl_analyzes_with_a_snapshot_no_older_than_the_deployed_istio():
    # No Istio release builds from the Go module proxy (tests/cluster/versions.env):
    # `istioctl analyze` runs a development snapshot, which must not predate the
    # minor the istio role deploys, or it would miss that release's API fields.
    assert minor(pins()["ISTIO_RELEASE"]) >= minor(platform()["istio_version"])
