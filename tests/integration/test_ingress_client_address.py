"""The api-gateway trusts exactly the hops in front of it, for every inventory and
for any number of proxies in front: the istio role's gateway values and the
gitops role's overlay, built with `kubectl kustomize` (tests/support/ingress.py),
agree. The gateway Service's traffic policy alone:
tests/render/test_ingress_client_address.py; the header chain through the real
api-gateway: tests/integration/test_ingress_header_chain.py."""

from __future__ import annotations

import pytest
from api_gateway.clients import client_address

from tests.support.ingress import NODE_ADDRESS, ingress_of
from tests.support.role_templates import SOURCES

# The api-gateway's peer in the pod: its own sidecar.
SIDECAR = "127.0.0.6"


def client_as_seen(forwarded_for: str, hops: int) -> str:
    return client_address(SIDECAR, forwarded_for, hops)


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
