"""user-service's argon2 memory budget, as each environment's overlay builds it,
fits the pod's memory limit."""

from __future__ import annotations

import subprocess

import pytest
import yaml
from user_service.passwords import hashing_slots
from user_service.settings import Settings

from plugins.module_utils import titanium_gitops_render as gitops

# What user-service needs besides argon2 (interpreter, libraries, pools).
PROCESS_MIB = 128


def mebibytes(quantity: str) -> int:
    units = {"Mi": 1, "Gi": 1024}
    return int(quantity[:-2]) * units[quantity[-2:]]


@pytest.mark.parametrize("env", gitops.ENVIRONMENTS)
def test_concurrent_hashes_fit_the_memory_limit(env, tmp_path):
    gitops.write_tree(gitops.render(env), tmp_path)
    built = subprocess.run(
        ["kubectl", "kustomize", str(tmp_path / "services/overlays" / env)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    objects = {(doc["kind"], doc["metadata"]["name"]): doc for doc in yaml.safe_load_all(built)}
    data = objects["ConfigMap", "user-service"]["data"]
    container = objects["Deployment", "user-service"]["spec"]["template"]["spec"]["containers"][0]
    limit = mebibytes(container["resources"]["limits"]["memory"])

    settings = Settings(**{key.removeprefix("USER_").lower(): value for key, value in data.items()})
    hash_mib = settings.argon2_memory_kib / 1024
    assert PROCESS_MIB + hashing_slots(settings) * hash_mib <= limit, (env, data, limit)
    assert "USER_ARGON2_MEMORY_BUDGET_MIB" in data, "sized by the limit, not by the default"
