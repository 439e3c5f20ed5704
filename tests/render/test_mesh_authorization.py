"""Who may call what inside the mesh, judged from the built manifests.

Every environment's tree is rendered and built with `kubectl kustomize`; the
AuthorizationPolicies are then evaluated (titanium_tools/istio_authz.py) for
requests made with the identities the Deployments really run as. The schema
check of the same policies is the render tier's (test_gitops_validate.py).
"""

from __future__ import annotations

import pytest

from titanium_tools import inventory
from titanium_tools import validate as gitops_validate
from titanium_tools.istio_authz import Request, UnsupportedPolicy, allowed

INGRESS = "cluster.local/ns/{namespace}/sa/{service_account}"


@pytest.fixture(scope="module", params=inventory.environments())
def mesh(request, tmp_path_factory):
    env = request.param
    return Mesh(env, gitops_validate.built_environment(env, tmp_path_factory.mktemp(f"mesh-{env}")))


class Mesh:
    def __init__(self, env: str, objects: list[dict]):
        values = inventory.load_values(env)
        self.namespace = values["namespace"]
        self.ports = {name: svc["port"] for name, svc in values["services"].items()}
        # A policy applies in its own namespace only (Bookinfo's are judged in
        # test_bookinfo.py).
        objects = [o for o in objects if o["metadata"].get("namespace") == self.namespace]
        self.policies = [o for o in objects if o["kind"] == "AuthorizationPolicy"]
        self.deployments = {
            o["metadata"]["name"]: o["spec"]["template"]
            for o in objects
            if o["kind"] == "Deployment"
        }
        assert self.policies and self.deployments
        ingress = values["ingress_gateway"]
        self.ingress_principal = INGRESS.format(**ingress)

    def principal(self, caller: str) -> str:
        account = self.deployments[caller]["spec"]["serviceAccountName"]
        return f"cluster.local/ns/{self.namespace}/sa/{account}"

    def may(self, caller: str, callee: str, path: str, method: str = "POST") -> bool:
        principal = self.ingress_principal if caller == "ingress" else self.principal(caller)
        labels = self.deployments[callee]["metadata"]["labels"]
        request = Request(principal, self.ports[callee], path, method)
        return allowed(self.policies, labels, request)


INTERNAL_PATHS = ["/internal/users", "/internal/credentials/verify", "/internal", "/internal/"]


@pytest.mark.parametrize("path", INTERNAL_PATHS)
def test_only_auth_service_reaches_user_service_internal_api(mesh, path):
    assert mesh.may("auth-service", "user-service", path)
    for caller in ("api-gateway", "blog-service", "ingress"):
        assert not mesh.may(caller, "user-service", path), f"{caller} -> user-service {path}"


@pytest.mark.parametrize("path", ["/users/me", "/users/alice", "/health/ready"])
def test_api_gateway_keeps_user_service_public_api(mesh, path):
    assert mesh.may("api-gateway", "user-service", path, "GET")
    # auth-service only ever calls the internal API.
    assert not mesh.may("auth-service", "user-service", path, "GET")


def test_no_service_reaches_the_internal_api_of_any_other_service(mesh):
    for callee in mesh.ports:
        for caller in (*mesh.ports, "ingress"):
            if caller == callee or (caller, callee) == ("auth-service", "user-service"):
                continue
            assert not mesh.may(caller, callee, "/internal/users"), f"{caller} -> {callee}"


def test_the_ingress_reaches_api_gateway_and_nothing_else(mesh):
    assert mesh.may("ingress", "api-gateway", "/api/posts", "GET")
    for callee in mesh.ports:
        if callee != "api-gateway":
            assert not mesh.may("ingress", callee, "/api/posts", "GET"), callee


def test_only_the_gateway_reaches_the_rate_limit_store(mesh):
    labels = mesh.deployments["redis-ratelimit"]["metadata"]["labels"]
    for caller in ("api-gateway", "auth-service", "blog-service", "user-service"):
        request = Request(mesh.principal(caller), 6379, "", "")
        assert allowed(mesh.policies, labels, request) is (caller == "api-gateway"), caller


def test_the_evaluator_refuses_what_it_cannot_judge():
    policy = {
        "metadata": {"name": "by-header"},
        "spec": {"rules": [{"when": [{"key": "request.headers[x]", "values": ["y"]}]}]},
    }
    with pytest.raises(UnsupportedPolicy):
        allowed([policy], {}, Request("cluster.local/ns/a/sa/b", 80, "/"))
