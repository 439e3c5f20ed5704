# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the modules that read Prometheus reach it: its URL, or its Service through
the Kubernetes API server."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  prometheus_url:
    description:
      - Base URL of Prometheus, e.g. C(http://127.0.0.1:30090).
      - Empty or unset reaches O(prometheus_service) through the Kubernetes API server.
    type: str
  prometheus_service:
    description:
      - Prometheus's Service as C(<namespace>/<name>:<port>) (the port by number or name),
        reached through the API server's service proxy
        (C(/api/v1/namespaces/<namespace>/services/<name>:<port>/proxy/)) with the credentials
        of O(kubeconfig); for clusters where Prometheus has no NodePort.
      - Used when O(prometheus_url) is empty. The user needs C(get) and C(create) on
        C(services/proxy) in that namespace.
    type: str
  kubeconfig:
    description:
      - Kubeconfig for O(prometheus_service); unset uses C(KUBECONFIG) or C(~/.kube/config),
        else the in-cluster service account.
    type: path
  context:
    description: Kubeconfig context for O(prometheus_service); unset uses the current one.
    type: str
  bearer_token:
    description: Token sent in the C(Authorization) header when Prometheus sits behind a proxy.
    type: str
  timeout:
    description: Seconds to wait for each query.
    type: float
    default: 10
requirements:
  - kubernetes (Python client), for O(prometheus_service)
"""
