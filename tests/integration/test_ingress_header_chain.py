"""Per-address rate limits through the real api-gateway, with the header chain
the ingress produces.

The blog stack runs with the GATEWAY_TRUSTED_PROXY_HOPS the gitops role renders
for the inventory; each request carries X-Forwarded-For as the ingress gateway
the istio role configures would hand it on (tests/support/ingress.py): whatever
the client wrote, then the address the gateway accepted the connection from.
Two clients must be limited apart, and a forged left-most entry - even another
client's address - must not move a client's budget.
"""

from __future__ import annotations

import secrets

import httpx
import pytest

from tests.support.blog_stack import blog_stack
from tests.support.ingress import ingress_of

pytestmark = pytest.mark.slow
# The stack's login budget per address (tests/support/blog_stack.py).
LOGINS_PER_ADDRESS = 5
INVENTORY = "local"


@pytest.fixture(scope="module")
def ingress():
    return ingress_of(INVENTORY)


@pytest.fixture(scope="module")
def stack(ingress, tmp_path_factory):
    settings = {
        "GATEWAY_TRUSTED_PROXY_HOPS": str(ingress.gateway_hops),
        "GATEWAY_LOGIN_PER_ADDRESS": str(LOGINS_PER_ADDRESS),
    }
    with blog_stack(tmp_path_factory.mktemp("ingress-stack"), settings) as built:
        yield built


def login(stack, ingress, client: str, forged: str) -> int:
    header = ingress.forwarded_for(client, sent=[forged])
    response = httpx.post(
        f"{stack.gateway}/api/auth/login",
        # A fresh username each time: only the per-address budget is in play.
        json={"username": f"u{secrets.token_hex(6)}", "password": "wrong password 1"},
        headers={"X-Forwarded-For": header},
        timeout=10,
    )
    return response.status_code


def test_two_clients_are_limited_apart_and_forged_entries_are_ignored(stack, ingress):
    first, second = "198.51.100.7", "203.0.113.9"
    # The first client spends its budget while claiming to be the second.
    spent = [login(stack, ingress, first, forged=second) for _ in range(LOGINS_PER_ADDRESS)]
    assert 429 not in spent, spent
    # Over budget, whatever it forges.
    assert login(stack, ingress, first, forged=f"192.0.2.{secrets.randbelow(250) + 1}") == 429
    # The second client's budget is untouched by the first's use of its address.
    assert login(stack, ingress, second, forged=first) != 429
