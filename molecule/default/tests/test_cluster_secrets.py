"""Namespaces and Secrets the roles created, read back through the Kubernetes API
and compared with the vault, field by field. Secret values are Hidden: failure
reports name the keys that differ, never a value."""

from __future__ import annotations

import re

import bcrypt

PART_OF = "app.kubernetes.io/part-of"


def assert_holds(secret, expected: dict[str, str]) -> None:
    where = f"Secret {secret.namespace}/{secret.name}"
    assert sorted(secret.data) == sorted(expected), f"{where} has keys {sorted(secret.data)}"
    wrong = sorted(key for key in expected if secret.data[key] != expected[key])
    assert not wrong, f"{where}: {wrong} do not hold the expected values"


def test_titanium_namespaces_are_active_and_the_blog_one_is_injected(
    scenario, core, titanium_namespaces
):
    namespaces = {
        namespace.metadata.name: namespace
        for namespace in core.list_namespace(label_selector=f"{PART_OF}=titanium").items
    }
    assert sorted(namespaces) == titanium_namespaces
    assert {namespace.status.phase for namespace in namespaces.values()} == {"Active"}
    injection = {name: ns.metadata.labels.get("istio-injection") for name, ns in namespaces.items()}
    assert {name: label for name, label in injection.items() if label} == {
        scenario.blog_namespace: "enabled"
    }


def test_blog_namespace_holds_only_the_catalogued_secrets(scenario, core, catalog):
    secrets = core.list_namespaced_secret(scenario.blog_namespace).items
    assert sorted(secret.metadata.name for secret in secrets) == sorted(
        secret["name"] for secret in catalog
    )


def test_blog_secret_holds_exactly_its_vaulted_values(scenario, read_secret, blog_secret):
    secret = read_secret(scenario.blog_namespace, blog_secret["name"])
    assert secret.type == "Opaque"
    assert secret.labels[PART_OF] == "titanium"
    assert secret.labels["app.kubernetes.io/managed-by"] == "ansible"
    assert_holds(
        secret,
        {entry["key"]: scenario.vaulted(entry["from"]) for entry in blog_secret["data"]},
    )


def test_grafana_admin_secret_comes_from_the_vault(scenario, read_secret, role_default):
    secret = read_secret(
        role_default("monitoring", "monitoring_namespace"),
        role_default("monitoring", "monitoring_grafana_admin_secret"),
    )
    assert secret.type == "Opaque"
    assert secret.labels[PART_OF] == "titanium"
    assert_holds(
        secret,
        {
            "admin-user": role_default("monitoring", "monitoring_grafana_admin_user"),
            "admin-password": scenario.vaulted("grafana_admin_password"),
        },
    )


def test_alertmanager_receivers_secret_is_empty_without_receivers(read_secret, role_default):
    assert role_default("monitoring", "monitoring_alertmanager_receivers") == []
    secret = read_secret(
        role_default("monitoring", "monitoring_namespace"),
        role_default("monitoring", "monitoring_alertmanager_secret"),
    )
    assert secret.labels[PART_OF] == "titanium"
    assert_holds(secret, {})


def test_argocd_secret_holds_a_bcrypt_hash_of_the_vaulted_password(
    scenario, read_secret, role_default
):
    secret = read_secret(role_default("argocd", "argocd_namespace"), "argocd-secret")
    assert sorted(secret.data) == ["admin.password", "admin.passwordMtime"]
    stored = secret.data["admin.password"].encode()
    is_bcrypt = re.match(rb"^\$2[aby]\$", stored) is not None
    assert is_bcrypt, "admin.password is not a bcrypt hash"
    matches = bcrypt.checkpw(scenario.vaulted("argocd_admin_password").encode(), stored)
    assert matches, "admin.password is not a hash of the vaulted argocd_admin_password"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", secret.data["admin.passwordMtime"])


def test_repository_secret_points_argocd_at_the_seeded_repository(
    scenario, read_secret, role_default
):
    secret = read_secret(
        role_default("argocd", "argocd_namespace"),
        role_default("argocd", "argocd_repository_secret"),
    )
    assert secret.type == "Opaque"
    assert secret.labels["argocd.argoproj.io/secret-type"] == "repository"
    assert secret.labels[PART_OF] == "titanium"
    assert_holds(
        secret,
        {
            "type": "git",
            "name": "titanium-gitops",
            "url": scenario.repo_url,
            "username": scenario.variables["gitops_repo_username"],
            "password": scenario.vaulted("gitops_repo_token"),
        },
    )
