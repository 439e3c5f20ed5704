"""What the verify tests read their expectations from: the scenario's inventory
(as Molecule wrote it, through testinfra's Ansible backend), the vault files
the `password` lookups generated, the roles' defaults and the Secret catalog;
and the cluster, through the Kubernetes client on the scenario's kubeconfig."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

REPO_ROOT = Path(__file__).resolve().parents[3]

# The titanium.platform.secrets vars plugin reads each plain variable from
# `vault_<name>`, which molecule.yml makes a `password` lookup of one file in
# molecule_vault_dir.
VAULT_LOOKUP = re.compile(r"molecule_vault_dir\s*~\s*'/(\w+)'")


class Hidden(str):
    """A secret value: compares as the string, prints as <hidden>, so that pytest's
    reports (argument values, assertion explanations) never show it."""

    def __repr__(self) -> str:
        return "<hidden>"


@dataclass(frozen=True)
class SecretView:
    """What a test may look at of a Secret; the V1Secret's own repr shows its data."""

    namespace: str
    name: str
    type: str
    labels: dict[str, str]
    data: dict[str, Hidden]


@cache
def role_defaults(role: str) -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / "roles" / role / "defaults/main.yml").read_text())


@cache
def blog_secret_catalog() -> list[dict[str, Any]]:
    """The one list of the blog's Secrets (roles/blog_secrets reads the same file),
    less the optional ones: the scenario rotates no key, so they do not exist."""
    catalog = yaml.safe_load((REPO_ROOT / "gitops/secrets.yml").read_text())["secrets"]
    return [secret for secret in catalog if not secret.get("optional")]


# The vaulted variables the roles read in this scenario, besides the blog's.
PLATFORM_VAULTED = ("grafana_admin_password", "argocd_admin_password", "gitops_repo_token")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "blog_secret" in metafunc.fixturenames:
        catalog = blog_secret_catalog()
        metafunc.parametrize("blog_secret", catalog, ids=[secret["name"] for secret in catalog])


@pytest.fixture(scope="session")
def role_default():
    """role_default(role, name): a literal default of a role, so that the tests
    follow the roles rather than copy their values."""
    return lambda role, name: role_defaults(role)[name]


@pytest.fixture(scope="session")
def catalog() -> list[dict[str, Any]]:
    return blog_secret_catalog()


@pytest.fixture(scope="session")
def vaulted_names() -> list[str]:
    """Every inventory variable whose value reaches the cluster in this scenario."""
    blog = {
        variable
        for secret in blog_secret_catalog()
        for variable in (entry["from"] for entry in secret["data"])
    }
    return sorted(blog | set(PLATFORM_VAULTED))


@dataclass(frozen=True)
class Scenario:
    """The inventory Molecule wrote for the converge (through testinfra's Ansible
    backend, so unrendered: literal values and the vault's lookup expressions)."""

    host: Any
    variables: dict[str, Any]

    @property
    def environment(self) -> str:
        return self.variables["titanium_environment"]

    @property
    def blog_namespace(self) -> str:
        return f"titanium-{self.environment}"

    @property
    def workload_namespaces(self) -> list[str]:
        """The blog's namespace, and Bookinfo's where the environment's values
        (the inventory's file molecule.yml reads) switch it on."""
        path = REPO_ROOT / f"inventories/{self.environment}/group_vars/all/environment.yml"
        bookinfo = yaml.safe_load(path.read_text())["titanium_environment_values"]["bookinfo"]
        return [self.blog_namespace] + ([bookinfo["namespace"]] if bookinfo["enabled"] else [])

    @property
    def kubeconfig(self) -> str:
        return self.variables["k3s_kubeconfig"]

    @property
    def context(self) -> str:
        return self.variables["k3s_context"]

    @property
    def repo_url(self) -> str:
        return self.variables["gitops_repo_url"]

    @property
    def repo_dir(self) -> str:
        return self.repo_url.removeprefix("file://")

    @property
    def vault_dir(self) -> str:
        return self.variables["molecule_vault_dir"]

    def vault_file(self, name: str) -> str:
        """The file behind inventory variable `name` (e.g. postgres_password)."""
        lookup = VAULT_LOOKUP.search(self.variables[f"vault_{name}"])
        assert lookup, f"vault_{name} is not a password lookup in molecule_vault_dir"
        return f"{self.vault_dir}/{lookup.group(1)}"

    def vaulted(self, name: str) -> Hidden:
        """The value Ansible saw for inventory variable `name`."""
        return Hidden(self.host.file(self.vault_file(name)).content_string.rstrip("\n"))

    def git(self, *args: str) -> str:
        return self.host.check_output(
            "git --git-dir %s " + " ".join(["%s"] * len(args)), self.repo_dir, *args
        )


@pytest.fixture(scope="module")
def scenario(host) -> Scenario:
    return Scenario(host, host.ansible.get_variables())


@pytest.fixture(scope="module")
def titanium_namespaces(scenario: Scenario, role_default) -> list[str]:
    """The namespaces the roles manage, charts on or off."""
    return sorted(
        [
            role_default("argocd", "argocd_namespace"),
            role_default("istio", "istio_namespace"),
            role_default("monitoring", "monitoring_namespace"),
            *scenario.workload_namespaces,
        ]
    )


@pytest.fixture(scope="module")
def kube(scenario: Scenario) -> client.ApiClient:
    api = config.new_client_from_config(config_file=scenario.kubeconfig, context=scenario.context)
    yield api
    api.close()


@pytest.fixture(scope="module")
def core(kube) -> client.CoreV1Api:
    return client.CoreV1Api(kube)


@pytest.fixture(scope="module")
def read_secret(core):
    """read_secret(namespace, name) -> SecretView, its data decoded."""

    def read(namespace: str, name: str) -> SecretView:
        secret = core.read_namespaced_secret(name, namespace)
        return SecretView(
            namespace,
            name,
            secret.type,
            secret.metadata.labels or {},
            {
                key: Hidden(base64.b64decode(value).decode())
                for key, value in (secret.data or {}).items()
            },
        )

    return read


@pytest.fixture(scope="module")
def argocd_objects(kube, role_default):
    """get(kind_plural, name) on the argoproj.io/v1alpha1 objects in Argo CD's namespace."""
    custom = client.CustomObjectsApi(kube)
    namespace = role_default("argocd", "argocd_namespace")

    def get(plural: str, name: str) -> dict[str, Any]:
        try:
            return custom.get_namespaced_custom_object(
                "argoproj.io", "v1alpha1", namespace, plural, name
            )
        except client.ApiException as error:
            if error.status != 404:
                raise
        pytest.fail(f"{plural} {namespace}/{name} does not exist")

    return get
