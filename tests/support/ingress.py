"""What reaches the api-gateway through the ingress, from what the roles render.

`ingress_of(inventory)` reads the two halves of the client-address contract
from one inventory: the ingress gateway's Helm values as the istio role renders
them (Service traffic policy, trusted proxies, PROXY protocol) and the
api-gateway's GATEWAY_TRUSTED_PROXY_HOPS as the gitops role renders it (the
overlay built with `kubectl kustomize`). `Ingress.forwarded_for()` then gives
the X-Forwarded-For header Envoy hands on, following Envoy's documented
behaviour for a gateway (use_remote_address: it appends the address of the
connection it accepted, after the entries the client and proxies sent).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from ansible_collections.titanium.platform.plugins.module_utils import gitops_render as gitops
from tests.support.role_templates import environment_of, prepare, resolve, values
from titanium_tools import inventory

# The address a node puts on a connection it forwards to a pod elsewhere
# (externalTrafficPolicy: Cluster masquerades the client behind it).
NODE_ADDRESS = "10.42.0.1"


@dataclass(frozen=True)
class Ingress:
    traffic_policy: str
    trusted_proxies: int
    proxy_protocol: bool
    gateway_hops: int

    def forwarded_for(self, client: str, sent: list[str], proxies: list[str] = ()) -> str:
        """X-Forwarded-For as the api-gateway receives it. `sent` is what the
        client wrote itself; `proxies` the HTTP proxies in front, in order, each
        appending the address it accepted the connection from."""
        chain, peer = list(sent), client
        for proxy in proxies:
            chain.append(peer)
            peer = proxy
        if self.traffic_policy != "Local" and not (self.proxy_protocol and not proxies):
            peer = NODE_ADDRESS
        return ", ".join([*chain, peer])


def gateway_hops(env: str, trusted_proxies: int) -> int:
    """GATEWAY_TRUSTED_PROXY_HOPS of the built overlay, rendered as the gitops role does."""
    files = inventory.render(env, overrides={"ingress_trusted_proxies": trusted_proxies})
    with tempfile.TemporaryDirectory() as tree:
        gitops.write_tree(files, Path(tree))
        built = subprocess.run(
            ["kubectl", "kustomize", f"{tree}/services/overlays/{env}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    (config,) = [
        doc
        for doc in yaml.safe_load_all(built)
        if doc and doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == "api-gateway"
    ]
    return int(config["data"]["GATEWAY_TRUSTED_PROXY_HOPS"])


def ingress_of(source: str, extra: dict | None = None) -> Ingress:
    prepare(source, extra, ["istio", "gitops"])
    gateway = values("istio", "istio-gateway-values.yaml.j2", source, extra)
    proxy_config = json.loads(gateway.get("podAnnotations", {}).get("proxy.istio.io/config", "{}"))
    topology = proxy_config.get("gatewayTopology", {})
    rendered = int(resolve("gitops", source, "gitops_ingress_trusted_proxies", extra))
    return Ingress(
        traffic_policy=gateway["service"].get("externalTrafficPolicy", "Cluster"),
        trusted_proxies=topology.get("numTrustedProxies", 0),
        proxy_protocol="proxyProtocol" in topology,
        gateway_hops=gateway_hops(environment_of(source), rendered),
    )
