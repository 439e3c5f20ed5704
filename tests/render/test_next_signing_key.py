"""During a signing-key rotation, and only then, auth-service mounts the next key
from its optional Secret and is told where it is (AUTH_NEXT_SIGNING_KEY_FILE),
as each environment's overlay builds it."""

from __future__ import annotations

import pytest

from ansible_collections.titanium.platform.plugins.module_utils import gitops_render as gitops
from titanium_tools import inventory
from titanium_tools.validate import (
    Report,
    built_overlay,
    kubernetes_version,
    scan_secrets,
    validate_builtin,
)

NEXT_KEY_SETTING = "AUTH_NEXT_SIGNING_KEY_FILE"
NEXT_KEY_SECRET = "titanium-auth-next-signing-key"


def built_auth_service(env: str, tmp_path, overrides: dict) -> dict:
    deployment = built_overlay(env, tmp_path / str(len(overrides)), overrides)[
        "Deployment", "auth-service"
    ]
    report = Report()
    validate_builtin([(env, deployment)], kubernetes_version(), report)
    assert not report.errors, report.errors
    return deployment["spec"]["template"]["spec"]


def mounted_secrets(pod: dict) -> dict[str, str]:
    """secretName -> where the auth-service container mounts it."""
    volumes = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    (container,) = pod["containers"]
    return {
        volumes[mount["name"]]: mount["mountPath"]
        for mount in container["volumeMounts"]
        if mount["name"] in volumes
    }


def settings(pod: dict) -> dict[str, str]:
    (container,) = pod["containers"]
    return {item["name"]: item.get("value") for item in container.get("env", [])}


@pytest.mark.parametrize("env", inventory.environments())
def test_the_next_key_is_mounted_only_during_a_rotation(env, tmp_path):
    (next_key,) = [s for s in gitops.common_values()["secrets"] if s["name"] == NEXT_KEY_SECRET]
    assert next_key["optional"], "without a rotation the Secret does not exist"

    quiet = built_auth_service(env, tmp_path, {})
    assert set(mounted_secrets(quiet)) == {"titanium-auth-signing-key"}
    assert NEXT_KEY_SETTING not in settings(quiet)

    rotating = built_auth_service(env, tmp_path, {"auth_next_signing_key": True})
    mounts = mounted_secrets(rotating)
    assert set(mounts) == {"titanium-auth-signing-key", next_key["name"]}
    (key,) = [item["key"] for item in next_key["data"]]
    assert settings(rotating)[NEXT_KEY_SETTING] == f"{mounts[next_key['name']]}/{key}"
    # Everything else about the pod stays as it was.
    assert settings(rotating).keys() - settings(quiet).keys() == {NEXT_KEY_SETTING}
    assert len(rotating["volumes"]) == len(quiet["volumes"]) + 1
    assert scan_secrets(inventory.render(env, overrides={"auth_next_signing_key": True})) == []
