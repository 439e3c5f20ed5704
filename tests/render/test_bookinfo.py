"""Bookinfo's rendered tree, judged from the built manifests of every
environment that runs it: the mesh and network policy allow exactly the call
graph (reviews v1 never reaches ratings though it runs the same image), the
entry and Prometheus; the DestinationRule's subsets and the seeded route; the
NodePort; the image pinned by digest where the environment pins digests; and
the renderer's refusals. Its services running for real: services/bookinfo/tests;
the traffic runbook against Argo CD: tests/integration/test_bookinfo_traffic.py."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.titanium.platform.plugins.module_utils import gitops_render as gitops
from titanium_tools import inventory
from titanium_tools import validate as gitops_validate
from titanium_tools.istio_authz import Request, allowed

RUNNING = [
    env for env in inventory.environments() if inventory.load_values(env)["bookinfo"]["enabled"]
]
COMMON = gitops.common_values()["bookinfo"]


def test_bookinfo_runs_in_local_and_staging_and_not_in_production():
    assert RUNNING == ["local", "staging"]
    production = inventory.render("production")
    assert not [path for path in production if "bookinfo" in path]


@pytest.fixture(scope="module", params=RUNNING)
def bookinfo(request, tmp_path_factory):
    env = request.param
    objects = gitops_validate.built_environment(env, tmp_path_factory.mktemp(f"bookinfo-{env}"))
    namespace = inventory.load_values(env)["bookinfo"]["namespace"]
    return {
        "env": env,
        "namespace": namespace,
        "objects": [o for o in objects if o["metadata"].get("namespace") == namespace],
        "all": objects,
    }


def kind(tree, name: str) -> list[dict]:
    return [o for o in tree["objects"] if o["kind"] == name]


def pods(tree) -> dict[str, dict]:
    """Workload -> its pod template (labels, service account)."""
    return {d["metadata"]["name"]: d["spec"]["template"] for d in kind(tree, "Deployment")}


def may(tree, caller: str | None, callee: str, port: int, path="/", method="GET") -> bool:
    templates = pods(tree)
    account = templates[caller]["spec"]["serviceAccountName"] if caller else "outsider"
    namespace = tree["namespace"] if caller else "elsewhere"
    request = Request(f"cluster.local/ns/{namespace}/sa/{account}", port, path, method)
    labels = templates[callee]["metadata"]["labels"]
    return allowed(kind(tree, "AuthorizationPolicy"), labels, request)


WORKLOADS = ["productpage", "details", "reviews-v1", "reviews-v2", "reviews-v3", "ratings"]
CALLS = {
    ("productpage", "details"),
    ("productpage", "reviews-v1"),
    ("productpage", "reviews-v2"),
    ("productpage", "reviews-v3"),
    ("reviews-v2", "ratings"),
    ("reviews-v3", "ratings"),
}


def test_the_mesh_allows_exactly_the_call_graph(bookinfo):
    port = COMMON["port"]
    assert sorted(pods(bookinfo)) == sorted([*WORKLOADS, "bookinfo-loadgen"])
    for caller in [*WORKLOADS, "bookinfo-loadgen"]:
        for callee in WORKLOADS:
            expected = (caller, callee) in CALLS or callee == "productpage"
            assert may(bookinfo, caller, callee, port) == expected, (caller, callee)
    # The entry takes reads from outside the mesh (the NodePort), nothing else.
    assert may(bookinfo, None, "productpage", port, "/productpage")
    assert not may(bookinfo, None, "productpage", port, "/productpage", "POST")
    assert not may(bookinfo, None, "details", port, "/details/0")
    # Prometheus (no mesh identity) reads /metrics on the metrics port alone.
    for workload in WORKLOADS:
        assert may(bookinfo, None, workload, COMMON["metrics_port"], "/metrics")
        assert not may(bookinfo, None, workload, COMMON["metrics_port"], "/other")


def test_the_network_allows_exactly_the_call_graph(bookinfo):
    policies = {p["metadata"]["name"]: p["spec"] for p in kind(bookinfo, "NetworkPolicy")}
    templates = pods(bookinfo)

    def selected(selector: dict, workload: str) -> bool:
        labels = templates[workload]["metadata"]["labels"]
        return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())

    def egress(caller: str) -> set[str]:
        rules = [r for p in policies.values() if selected(p["podSelector"], caller)
                 for r in p.get("egress", [])]  # fmt: skip
        return {
            callee
            for rule in rules
            for peer in rule.get("to", [])
            if "namespaceSelector" not in peer
            for callee in WORKLOADS
            if selected(peer["podSelector"], callee)
        }

    def ingress(callee: str) -> set[str]:
        rules = [r for p in policies.values() if selected(p["podSelector"], callee)
                 for r in p.get("ingress", []) if {"port": COMMON["port"], "protocol": "TCP"}
                 in r.get("ports", [])]  # fmt: skip
        if any("from" not in rule for rule in rules):
            return {"anyone"}
        return {
            caller
            for rule in rules
            for peer in rule["from"]
            for caller in [*WORKLOADS, "bookinfo-loadgen"]
            if selected(peer["podSelector"], caller)
        }

    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for workload in WORKLOADS:
        assert egress(workload) == {callee for caller, callee in CALLS if caller == workload}
        expected = {caller for caller, callee in CALLS if callee == workload}
        assert ingress(workload) == ({"anyone"} if workload == "productpage" else expected)
    assert egress("bookinfo-loadgen") == {"productpage"}


def test_spans_leave_only_for_the_trace_store(bookinfo):
    """Where tracing is on, Bookinfo's sidecars report their spans (Telemetry)
    and every pod may reach the trace store's OTLP ports, and nothing else
    outside the namespace besides DNS and istiod (the baseline)."""
    tracing = inventory.load_values(bookinfo["env"])["tracing"]
    assert tracing["enabled"], "both environments running Bookinfo trace"
    (telemetry,) = kind(bookinfo, "Telemetry")
    assert telemetry["spec"]["tracing"] == [{"providers": [{"name": tracing["provider"]}]}]
    outside = [
        (peer, rule["ports"])
        for policy in kind(bookinfo, "NetworkPolicy")
        if policy["spec"]["podSelector"] == {}
        for rule in policy["spec"].get("egress", [])
        for peer in rule["to"]
        if "namespaceSelector" in peer
    ]
    (trace_store,) = [
        ports for peer, ports in outside
        if peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/instance": tracing["release"]}
    ]  # fmt: skip
    assert {p["port"] for p in trace_store} == {
        tracing["otlp_grpc_port"],
        tracing["otlp_http_port"],
    }
    for template in pods(bookinfo).values():
        (container,) = template["spec"]["containers"]
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        if "BOOKINFO_SERVICE" in env:
            assert env["OTEL_EXPORTER_OTLP_ENDPOINT"].endswith(f":{tracing['otlp_http_port']}")
            assert env["OTEL_SERVICE_NAME"] == env["BOOKINFO_SERVICE"]


def test_subsets_the_seeded_route_and_the_nodeport(bookinfo):
    (rule,) = [d for d in kind(bookinfo, "DestinationRule") if d["metadata"]["name"] == "reviews"]
    assert [(s["name"], s["labels"]) for s in rule["spec"]["subsets"]] == [
        (v, {"version": v}) for v in ("v1", "v2", "v3")
    ]
    versions = {
        pods(bookinfo)[f"reviews-{v}"]["metadata"]["labels"]["version"] for v in ("v1", "v2", "v3")
    }
    assert versions == {"v1", "v2", "v3"}
    (route,) = kind(bookinfo, "VirtualService")
    assert route["spec"]["http"] == [
        {
            "name": "weighted",
            "route": [
                {
                    "destination": {
                        "host": f"reviews.{bookinfo['namespace']}.svc.cluster.local",
                        "subset": "v1",
                    },
                    "weight": 100,
                }
            ],
        }
    ]
    (entry,) = [s for s in kind(bookinfo, "Service") if s["spec"]["type"] == "NodePort"]
    assert entry["metadata"]["name"] == "productpage"
    assert [p.get("nodePort") for p in entry["spec"]["ports"]] == [COMMON["nodeport"], None]
    # No other Service of the tree takes a NodePort.
    assert [s["metadata"]["name"] for s in bookinfo["all"] if s["kind"] == "Service"
            and s["spec"].get("type") == "NodePort"] == ["productpage"]  # fmt: skip


def test_every_workload_runs_locked_down_as_its_own_identity(bookinfo):
    for name, template in pods(bookinfo).items():
        spec = template["spec"]
        assert spec["serviceAccountName"] == name and spec["automountServiceAccountToken"] is False
        assert spec["securityContext"]["runAsNonRoot"] is True
        (container,) = spec["containers"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    namespaces = [
        o
        for o in bookinfo["all"]
        if o["kind"] == "Namespace" and o["metadata"]["name"] == bookinfo["namespace"]
    ]
    # The gitops role's sync identities make it bare; the application labels it.
    labels = [namespace["metadata"]["labels"] for namespace in namespaces]
    assert any(label.get("istio-injection") == "enabled" for label in labels), labels
    monitors = {
        o["kind"]: o for o in bookinfo["objects"] if o["kind"] in ("ServiceMonitor", "PodMonitor")
    }
    assert monitors["ServiceMonitor"]["spec"]["podTargetLabels"] == ["version"]
    assert set(monitors) == {"ServiceMonitor", "PodMonitor"}


def test_the_image_is_pinned_by_digest_where_the_environment_pins_digests():
    digest = "sha256:" + "ab" * 32
    files = inventory.render("staging", overrides={"image_digests": {"bookinfo": digest}})
    kustomization = yaml.safe_load(files["bookinfo/staging/kustomization.yaml"].split("\n", 1)[1])
    (image,) = kustomization["images"]
    assert image["newName"] == "ghcr.io/titanium-platform/titanium-bookinfo"
    assert image["digest"] == digest


@pytest.mark.parametrize(
    ("bookinfo", "message"),
    [
        ({"reviews_route": {"weights": {"v1": 50, "v3": 40}}}, "v1=50, v3=40 sum to 90, not 100"),
        (
            {"reviews_route": {"weights": {"v4": 100}}},
            "reviews has no version v4 (it has v1, v2, v3)",
        ),
        ({"reviews_route": {"user": "a b"}}, "end-user 'a b' is not a user name"),
        ({"namespace": "titanium-local"}, "bookinfo.namespace is the blog's namespace"),
        ({"namespace": "Book_Info"}, "bookinfo.namespace 'Book_Info' is not a namespace name"),
        ({"nodeport": 8080}, "Bookinfo's NodePort 8080 is outside 30000-32767"),
    ],
)
def test_the_renderer_refuses_bad_bookinfo_values(bookinfo, message):
    with pytest.raises(gitops.RenderError, match=message.replace("(", r"\(").replace(")", r"\)")):
        inventory.render("local", overrides={"bookinfo": bookinfo})


def test_weights_given_replace_the_seeded_ones():
    route = {"weights": {"v3": 100}}
    files = inventory.render("local", overrides={"bookinfo": {"reviews_route": route}})
    service = yaml.safe_load(files["bookinfo/local/routing/reviews.yaml"].split("\n", 1)[1])
    assert [d["destination"]["subset"] for d in service["spec"]["http"][0]["route"]] == ["v3"]
