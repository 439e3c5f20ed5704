"""manifest_images: the images rendered manifests make a node run, found where
charts and operators put them, fully qualified, each once."""

from __future__ import annotations

import json

import pytest
import yaml

from ansible_collections.titanium.platform.plugins.filter.airgap import (
    chart_archive,
    chart_ref,
    image_archive_name,
    manifest_images,
    normalize_image,
    recorded_digests,
    tagged_reference,
)

DIGEST = "sha256:" + "ab" * 32


def documents(*objects) -> str:
    return yaml.safe_dump_all(objects)


def pod_template(**spec) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"template": {"spec": spec}},
    }


@pytest.mark.parametrize(
    ("reference", "normalized"),
    [
        ("redis:7", "docker.io/library/redis:7"),
        ("grafana/loki:3.5.0", "docker.io/grafana/loki:3.5.0"),
        ("quay.io/prometheus/prometheus:v3.7.0", "quay.io/prometheus/prometheus:v3.7.0"),
        ("127.0.0.1:5000/t/probe", "127.0.0.1:5000/t/probe:latest"),
        ("localhost/titanium-blog:dev", "localhost/titanium-blog:dev"),
        (f"ghcr.io/t/api:0.1.0@{DIGEST}", f"ghcr.io/t/api@{DIGEST}"),
    ],
)
def test_references_are_fully_qualified(reference, normalized):
    assert normalize_image(reference) == normalized


def test_not_a_reference_is_refused():
    with pytest.raises(ValueError, match="not an image reference"):
        normalize_image("Quay.io/UPPER CASE")


def test_containers_init_containers_and_custom_resources():
    text = documents(
        pod_template(
            containers=[{"name": "a", "image": "grafana/loki:3.5.0"}],
            initContainers=[{"name": "b", "image": "busybox:1.37"}],
        ),
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {"name": "c", "image": "registry.k8s.io/certgen:v1.6@" + DIGEST}
                        ]
                    }
                }
            },
        },
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "Prometheus",
            "spec": {"image": "quay.io/prometheus/prometheus:v3.7.0"},
        },
        None,
    )
    assert manifest_images(text) == [
        "docker.io/grafana/loki:3.5.0",
        "docker.io/library/busybox:1.37",
        "quay.io/prometheus/prometheus:v3.7.0",
        "registry.k8s.io/certgen@" + DIGEST,
    ]


def test_images_an_operator_is_told_through_arguments_and_environment():
    text = documents(
        pod_template(
            containers=[
                {
                    "name": "operator",
                    "image": "quay.io/prometheus-operator/prometheus-operator:v0.86.0",
                    "args": [
                        "--prometheus-config-reloader=quay.io/prometheus-operator/prometheus-config-reloader:v0.86.0",
                        "--log-level=info",
                        "--web.listen-address=:8080",
                    ],
                    "env": [
                        {"name": "SIDECAR", "value": "docker.io/kiwigrid/k8s-sidecar:1.30.0"},
                        {"name": "MODE", "value": "debug"},
                    ],
                }
            ]
        )
    )
    assert manifest_images(text) == [
        "docker.io/kiwigrid/k8s-sidecar:1.30.0",
        "quay.io/prometheus-operator/prometheus-config-reloader:v0.86.0",
        "quay.io/prometheus-operator/prometheus-operator:v0.86.0",
    ]


def istio_values(variant: str = "", proxy_init: str = "proxyv2") -> dict:
    """The settings Istio's injector ConfigMap carries, as JSON, in its `values`."""
    return {
        "global": {
            "hub": "docker.io/istio",
            "tag": "1.27.3",
            "variant": variant,
            "proxy": {"image": "proxyv2"},
            "proxy_init": {"image": proxy_init},
        }
    }


def test_istio_sidecar_and_gateway_image_from_the_injector_settings():
    injector = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "istio-sidecar-injector"},
        "data": {
            "config": "policy: enabled",
            "values": json.dumps(istio_values()),
        },
    }
    gateway = pod_template(containers=[{"name": "istio-proxy", "image": "auto"}])
    istiod = pod_template(
        containers=[{"name": "discovery", "image": "docker.io/istio/pilot:1.27.3"}]
    )
    assert manifest_images([documents(injector, gateway), documents(istiod)]) == [
        "docker.io/istio/pilot:1.27.3",
        "docker.io/istio/proxyv2:1.27.3",
    ]


def test_istio_variant_and_whole_reference():
    values = istio_values(variant="distroless", proxy_init="mirror.example/istio/proxyv2:1.27.3")
    text = documents({"kind": "ConfigMap", "data": {"values": json.dumps(values)}})
    assert manifest_images(text) == [
        "docker.io/istio/proxyv2:1.27.3-distroless",
        "mirror.example/istio/proxyv2:1.27.3",
    ]


def test_words_that_are_not_images_are_ignored():
    text = documents(
        pod_template(
            containers=[{"name": "a", "image": "auto", "args": ["--mode=fast", "--x=y:1"]}]
        ),
        {"kind": "ConfigMap", "data": {"values": '{"hub": broken'}},
        {"kind": "Dashboard", "spec": {"image": {"repository": "x"}}},
    )
    assert manifest_images(text) == []


def test_archive_names_are_files_and_distinct():
    first = image_archive_name("docker.io/a/b_c:1")
    second = image_archive_name("docker.io/a/b/c:1")
    assert first != second
    assert "/" not in first and first.endswith(".oci.tar")
    assert image_archive_name("redis:7") == image_archive_name("docker.io/library/redis:7")


def test_charts_come_from_the_air_gap_directory_when_one_is_set():
    chart = {"chart": "base", "version": "1.27.3", "repo_name": "istio"}
    assert chart_archive(chart) == "charts/base-1.27.3.tgz"
    assert chart_ref(chart) == "istio/base"
    assert chart_ref(chart, "/srv/airgap/") == "/srv/airgap/charts/base-1.27.3.tgz"
    with pytest.raises(ValueError, match="has no version"):
        chart_archive({"chart": "base", "version": ""})


def test_offline_digests_are_the_ones_recorded_when_gathering():
    recorded = {"r.example/t/titanium-api:0.1.0": DIGEST}
    tagged = {"titanium-api": "0.1.0", "titanium-blog": "0.2.0"}
    assert (
        tagged_reference("titanium-api", "0.1.0", "r.example/t/")
        == "r.example/t/titanium-api:0.1.0"
    )
    assert recorded_digests(tagged, "r.example/t", recorded) == {
        "digests": {"titanium-api": DIGEST},
        "missing": ["r.example/t/titanium-blog:0.2.0"],
    }
