"""The CRDs made at build time (build/crds) install server-side and enforce
their schemas: custom resources are checked by the real API server."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.cluster.sim import SimCluster
from titanium_tools.versions import pins

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

EXPECTED = {
    "applications.argoproj.io",
    "applicationsets.argoproj.io",
    "appprojects.argoproj.io",
    "servicemonitors.monitoring.coreos.com",
    "podmonitors.monitoring.coreos.com",
    "prometheusrules.monitoring.coreos.com",
    "prometheuses.monitoring.coreos.com",
    "alertmanagers.monitoring.coreos.com",
    "virtualservices.networking.istio.io",
    "destinationrules.networking.istio.io",
    "gateways.networking.istio.io",
    "peerauthentications.security.istio.io",
    "authorizationpolicies.security.istio.io",
}


def test_crds_are_established(sim_cluster_with_crds: SimCluster) -> None:
    out = sim_cluster_with_crds.kubectl("get", "crds", "-o", "json").stdout
    names = {item["metadata"]["name"] for item in json.loads(out)["items"]}
    assert names >= EXPECTED, sorted(EXPECTED - names)


def test_the_istio_crds_are_those_of_the_deployed_release() -> None:
    """build/crds/istio holds exactly the CRDs istio.io/api publishes for the Istio
    the istio role deploys (istio_version in the versions role)."""
    module = f"istio.io/api@v{pins()['ISTIO_VERSION']}"
    download = subprocess.run(
        ["go", "mod", "download", "-json", module],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "GOFLAGS": "-mod=mod"},
    )
    published = (
        Path(json.loads(download.stdout)["Dir"]) / "kubernetes/customresourcedefinitions.gen.yaml"
    )
    expected = {
        doc["metadata"]["name"]: doc["spec"]
        for doc in yaml.safe_load_all(published.read_text())
        if doc and doc.get("kind") == "CustomResourceDefinition"
    }
    built = {}
    for path in (REPO_ROOT / "build/crds/istio").glob("*.yaml"):
        doc = yaml.safe_load(path.read_text())
        built[doc["metadata"]["name"]] = doc["spec"]
    assert expected, f"{module} publishes no CRD"
    assert built == expected, sorted(set(built) ^ set(expected))


def application(destination: object) -> dict:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "probe", "namespace": "default"},
        "spec": {
            "project": "default",
            "source": {
                "repoURL": "https://git.example/repo.git",
                "path": "apps",
                "targetRevision": "main",
            },
            "destination": destination,
        },
    }


def service_monitor(port: object) -> dict:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "probe", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "probe"}}, "endpoints": [{"port": port}]},
    }


@pytest.mark.parametrize(
    ("good", "bad", "bad_field"),
    [
        (
            application({"server": "https://kubernetes.default.svc", "namespace": "apps"}),
            application("not-an-object"),
            "spec.destination",
        ),
        (service_monitor("http"), service_monitor({"no": "string"}), "spec.endpoints[0].port"),
    ],
    ids=["argocd-application", "servicemonitor"],
)
def test_custom_resources_are_validated_server_side(
    sim_cluster_with_crds: SimCluster, good: dict, bad: dict, bad_field: str
) -> None:
    cluster = sim_cluster_with_crds
    cluster.kubectl("apply", "--server-side", "--dry-run=server", "-f", "-", input=json.dumps(good))
    rejected = cluster.kubectl(
        "apply", "--server-side", "--dry-run=server", "-f", "-", input=json.dumps(bad), check=False
    )
    assert rejected.returncode != 0
    # Rejected by the CRD's schema, naming the offending field.
    assert bad_field in rejected.stderr, rejected.stderr
