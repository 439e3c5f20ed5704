"""Every pin, read the way scripts/setup/versions.sh reads it: the platform's
releases from the versions role's defaults (the one place each is pinned) and
the test toolchain's from tests/cluster/versions.env, under the shell's names."""

from __future__ import annotations

import re
from functools import cache

import yaml

from titanium_tools import REPO_ROOT

PLATFORM_FILE = REPO_ROOT / "roles/versions/defaults/main.yml"
TOOLCHAIN_FILE = REPO_ROOT / "tests/cluster/versions.env"

# The shell's name for each platform release.
SHELL_NAMES = {
    "K3S_VERSION": "k3s_version",
    "ISTIO_VERSION": "istio_version",
    "ARGOCD_VERSION": "argocd_version",
    "ARGOCD_CHART_VERSION": "argocd_chart_version",
    "PROMETHEUS_OPERATOR_VERSION": "monitoring_prometheus_operator_version",
    "ALERTMANAGER_VERSION": "monitoring_alertmanager_version",
    "GITEA_VERSION": "gitserver_gitea_version",
}


@cache
def platform() -> dict[str, str]:
    """The versions role's defaults: the platform's releases by variable name."""
    return {name: str(value) for name, value in yaml.safe_load(PLATFORM_FILE.read_text()).items()}


def kubernetes_of(k3s_version: str) -> str:
    """The Kubernetes release a k3s release ships: v1.36.3+k3s1 -> v1.36.3."""
    return k3s_version.split("+", 1)[0]


@cache
def pins() -> dict[str, str]:
    """Every pin under the setup scripts' names."""
    toolchain = dict(re.findall(r"^([A-Z0-9_]+)=(\S+)$", TOOLCHAIN_FILE.read_text(), re.M))
    released = {shell: platform()[name] for shell, name in SHELL_NAMES.items()}
    return {
        **toolchain,
        **released,
        "KUBERNETES_VERSION": kubernetes_of(released["K3S_VERSION"]),
    }
