"""The client's address survives the ingress: the istio role's gateway Service,
rendered by ansible-playbook (tests/support/role_templates.py), keeps it
(externalTrafficPolicy Local) for every inventory. The render refusing a
nonsensical proxy count: tests/unit/test_ingress_client_address.py; that the
api-gateway trusts exactly the hops in front of it:
tests/integration/test_ingress_client_address.py."""

from __future__ import annotations

import pytest

from tests.support.role_templates import SOURCES, values


@pytest.mark.parametrize("source", SOURCES)
def test_the_ingress_service_keeps_the_client_address(source):
    service = values("istio", "istio-gateway-values.yaml.j2", source)["service"]
    assert service["type"] in ("NodePort", "LoadBalancer")
    assert service.get("externalTrafficPolicy") == "Local"


def test_a_cluster_ip_gateway_sets_no_traffic_policy():
    extra = {"istio_gateway_service_type": "ClusterIP"}
    service = values("istio", "istio-gateway-values.yaml.j2", "defaults", extra)["service"]
    assert "externalTrafficPolicy" not in service
