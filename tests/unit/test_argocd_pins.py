"""Deploy what you test: the Argo CD the tests build and run, the CRDs they
install and the Helm chart the argocd role deploys are one release, pinned in
tests/cluster/versions.env. Each place that repeats a pin must agree with it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
GO = REPO_ROOT / "tests/cluster/go"


def pins() -> dict[str, str]:
    text = (REPO_ROOT / "tests/cluster/versions.env").read_text()
    return dict(re.findall(r"^([A-Z_]+)=(\S+)$", text, re.MULTILINE))


def required(module: str, path: str) -> str:
    match = re.search(
        rf"^\s*(?:require\s+)?{re.escape(path)} (\S+)", (GO / module / "go.mod").read_text(), re.M
    )
    assert match, f"{module}/go.mod requires no {path}"
    return match.group(1)


def test_the_role_deploys_the_pinned_chart():
    defaults = yaml.safe_load((REPO_ROOT / "roles/argocd/defaults/main.yml").read_text())
    specs = yaml.safe_load((REPO_ROOT / "roles/argocd/meta/argument_specs.yml").read_text())
    options = specs["argument_specs"]["main"]["options"]
    assert defaults["argocd_chart_version"] == pins()["ARGOCD_CHART_VERSION"]
    assert options["argocd_chart_version"]["default"] == pins()["ARGOCD_CHART_VERSION"]


def test_the_binary_and_the_crds_come_from_the_pinned_release():
    for module in ("argocd", "crds-argocd"):
        assert required(module, "github.com/argoproj/argo-cd/v3") == pins()["ARGOCD_VERSION"], (
            module
        )
