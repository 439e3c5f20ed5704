# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Service reached through the Kubernetes API server's service proxy
(C(/api/v1/namespaces/<ns>/services/<scheme>:<name>:<port>/proxy/)).

Where a Service has no NodePort (Prometheus outside `local`, a ClusterIP ingress
gateway), this is the way in that needs nothing but the kubeconfig: no
`kubectl port-forward` kept running beside the play, no port on the controller, and
the API server's own authentication and RBAC (C(services/proxy)) decide who may.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

# How a Service is named in the modules' options: <namespace>/<name>:<port>, the port
# by number or name (kubectl's notation).
SERVICE_FORMAT = "<namespace>/<name>:<port>"


class ServiceNameError(ValueError):
    """A Service named other than <namespace>/<name>:<port>."""


def parse(service: str) -> dict:
    namespace, slash, rest = service.partition("/")
    name, colon, port = rest.rpartition(":")
    if not (slash and colon and namespace and name and port) or "/" in rest:
        raise ServiceNameError(
            f"{service!r} does not name a Service as {SERVICE_FORMAT}, "
            "e.g. monitoring/kube-prometheus-stack-prometheus:9090"
        )
    return {"namespace": namespace, "name": name, "port": port}


@dataclass(frozen=True)
class Endpoint:
    """A base URL and what it takes to be let in there."""

    url: str
    ca_path: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    # The whole Authorization header value (C(Bearer ...)), or None.
    authorization: str | None = None
    validate_certs: bool = True


def proxy_path(service: str) -> str:
    """The API server's path to the Service's port, spoken to in plain HTTP."""
    parts = parse(service)
    target = f"http:{parts['name']}:{parts['port']}"
    return (
        f"/api/v1/namespaces/{quote(parts['namespace'], safe='')}/services/"
        f"{quote(target, safe=':')}/proxy"
    )


def through_api(
    service: str, kubeconfig: str | None = None, context: str | None = None
) -> Endpoint:
    """The Service's base URL through the API server, with the kubeconfig's TLS files and
    credentials (the environment's default kubeconfig, else the in-cluster account)."""
    path = proxy_path(service)
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    configuration = client.Configuration()
    try:
        config.load_kube_config(
            config_file=kubeconfig or None,
            context=context or None,
            client_configuration=configuration,
        )
    except (ConfigException, FileNotFoundError):
        if kubeconfig or context:
            raise
        config.load_incluster_config(client_configuration=configuration)
    token = configuration.api_key.get("BearerToken") or configuration.api_key.get("authorization")
    if token and not token.lower().startswith("bearer "):
        token = f"Bearer {token}"
    return Endpoint(
        url=configuration.host.rstrip("/") + path,
        ca_path=configuration.ssl_ca_cert,
        client_cert=configuration.cert_file,
        client_key=configuration.key_file,
        authorization=token,
        validate_certs=bool(configuration.verify_ssl),
    )


def describe(service: str) -> str:
    """How a message names the way in."""
    return f"{service} through the Kubernetes API server"
