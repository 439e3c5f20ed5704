"""The GitOps render refuses a nonsensical proxy count in front of the ingress.
The istio role's gateway Service keeping the client's address (rendered by
ansible-playbook): tests/render/test_ingress_client_address.py; that the
api-gateway trusts exactly the hops in front of it (the gitops overlay built with
kubectl kustomize): tests/integration/test_ingress_client_address.py."""

from __future__ import annotations

import pytest

from ansible_collections.titanium.platform.plugins.module_utils import gitops_render as gitops
from titanium_tools import inventory


def test_a_render_refuses_a_negative_or_fractional_proxy_count():
    for bad in (-1, 1.5, "two", True):
        with pytest.raises(gitops.RenderError, match="ingress_trusted_proxies"):
            inventory.render("local", overrides={"ingress_trusted_proxies": bad})
