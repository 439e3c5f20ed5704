"""The client's address survives the ingress, and the api-gateway trusts exactly
the hops in front of it, for every inventory and for any number of proxies in
front: both halves are rendered from the same inventory variables by the istio
and gitops roles (tests/support/ingress.py reads them). The header chain through
the real api-gateway: tests/integration/test_ingress_header_chain.py."""

from __future__ import annotations

import pytest
from api_gateway.clients import client_address

from ansible_collections.titanium.platform.plugins.module_utils import gitops_render as gitops
from tests.support.ingress import NODE_ADDRESS, ingress_of
from tests.unit.test_roles_platform import SOURCES, values

# The api-gateway's peer in the pod: its own sidecar.
SIDECAR = "127.0.0.6"


def client_as_seen(forwarded_for: str, hops: int) -> str:
    return client_address(SIDECAR, forwarded_for, hops)


@pytest.mark.parametrize("source", SOURCES)
def test_the_ingress_service_keeps_the_client_address(source):
    service = values("istio", "istio-gateway-values.yaml.j2", source)["service"]
    assert service["type"] in ("NodePort", "LoadBalancer")
    assert service.get("externalTrafficPolicy") == "Local"


def test_a_cluster_ip_gateway_sets_no_traffic_policy():
    extra = {"istio_gateway_service_type": "ClusterIP"}
    service = values("istio", "istio-gateway-values.yaml.j2", "defaults", extra)["service"]
    assert "externalTrafficPolicy" not in service


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("proxies", [None, 0, 1, 2])
def test_the_api_gateway_trusts_what_the_ingress_appends(source, proxies):
    extra = {} if proxies is None else {"titanium_ingress_trusted_proxies": proxies}
    ingress = ingress_of(source, extra)
    assert ingress.trusted_proxies == (proxies or 0)
    assert ingress.gateway_hops == ingress.trusted_proxies + 1
    front = [f"192.0.2.{n + 10}" for n in range(ingress.trusted_proxies)]
    header = ingress.forwarded_for("198.51.100.7", sent=["203.0.113.66"], proxies=front)
    assert client_as_seen(header, ingress.gateway_hops) == "198.51.100.7", header


@pytest.mark.parametrize("source", SOURCES)
def test_a_proxy_protocol_balancer_keeps_one_hop(source):
    extra = {"titanium_ingress_proxy_protocol": True}
    ingress = ingress_of(source, extra)
    assert ingress.proxy_protocol and ingress.trusted_proxies == 0
    assert ingress.gateway_hops == 1


def test_the_model_shows_what_cluster_traffic_policy_did():
    """With externalTrafficPolicy Cluster every client looks like the node."""
    ingress = ingress_of("defaults")
    masqueraded = type(ingress)("Cluster", 0, False, 1)
    header = masqueraded.forwarded_for("198.51.100.7", sent=[])
    assert client_as_seen(header, masqueraded.gateway_hops) == NODE_ADDRESS


def test_a_render_refuses_a_negative_or_fractional_proxy_count():
    for bad in (-1, 1.5, "two", True):
        with pytest.raises(gitops.RenderError, match="ingress_trusted_proxies"):
            gitops.render("local", overrides={"ingress_trusted_proxies": bad})
