"""How the modules name a Service to reach through the API server, and the path they
ask the API server for."""

from __future__ import annotations

import pytest

from ansible_collections.titanium.platform.plugins.module_utils.service_proxy import (
    ServiceNameError,
    parse,
    proxy_path,
)


def test_a_service_is_namespace_name_and_port():
    assert parse("monitoring/kube-prometheus-stack-prometheus:9090") == {
        "namespace": "monitoring",
        "name": "kube-prometheus-stack-prometheus",
        "port": "9090",
    }
    assert (
        proxy_path("istio-system/istio-ingressgateway:http2")
        == "/api/v1/namespaces/istio-system/services/http:istio-ingressgateway:http2/proxy"
    )


@pytest.mark.parametrize(
    "bad", ["kube-prometheus-stack-prometheus:9090", "monitoring/prometheus", "a/b/c:1", "/p:1"]
)
def test_anything_else_is_refused_with_the_form_to_use(bad):
    with pytest.raises(ServiceNameError, match=r"as <namespace>/<name>:<port>, e\.g\. monitoring/"):
        parse(bad)
