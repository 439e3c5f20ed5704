# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Kubernetes API client from the same inputs kubernetes.core takes."""

from __future__ import annotations

KUBERNETES_ARGS = {
    "kubeconfig": {"type": "path"},
    "context": {"type": "str"},
}


def api_client(kubeconfig: str | None = None, context: str | None = None):
    """A client for the kubeconfig and context given, else the environment's default
    (KUBECONFIG or ~/.kube/config), else the in-cluster service account."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    if kubeconfig or context:
        return config.new_client_from_config(config_file=kubeconfig, context=context)
    try:
        return config.new_client_from_config()
    except ConfigException:
        config.load_incluster_config()
        return client.ApiClient()
