"""The client's address survives the ingress: the istio role's gateway Service
keeps it (externalTrafficPolicy Local) for every inventory, and the render
refuses a nonsensical proxy count. That the api-gateway trusts exactly the hops
in front of it (the gitops overlay built with kubectl kustomize):
tests/integration/test_ingress_client_address.py."""

from __future__ import annotations

import pytest

from ansible_collections.titanium.platform.plugins.module_utils import gitops_render as gitops
from tests.support.role_templates import SOURCES, values
from titanium_tools import inventory


@pytest.mark.parametrize("source", SOURCES)
def test_the_ingress_service_keeps_the_client_address(source):
    service = values("istio", "istio-gateway-values.yaml.j2", source)["service"]
    assert service["type"] in ("NodePort", "LoadBalancer")
    assert service.get("externalTrafficPolicy") == "Local"


def test_a_cluster_ip_gateway_sets_no_traffic_policy():
    extra = {"istio_gateway_service_type": "ClusterIP"}
    service = values("istio", "istio-gateway-values.yaml.j2", "defaults", extra)["service"]
    assert "externalTrafficPolicy" not in service


def test_a_render_refuses_a_negative_or_fractional_proxy_count():
    for bad in (-1, 1.5, "two", True):
        with pytest.raises(gitops.RenderError, match="ingress_trusted_proxies"):
            inventory.render("local", overrides={"ingress_trusted_proxies": bad})
