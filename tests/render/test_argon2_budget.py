"""user-service's argon2 memory budget, as each environment's overlay builds it,
fits the pod's memory limit."""

from __future__ import annotations

import pytest
from user_service.passwords import hashing_slots
from user_service.settings import Settings

from titanium_tools import inventory
from titanium_tools.validate import built_overlay

# What user-service needs besides argon2 (interpreter, libraries, pools).
PROCESS_MIB = 128


def mebibytes(quantity: str) -> int:
    units = {"Mi": 1, "Gi": 1024}
    return int(quantity[:-2]) * units[quantity[-2:]]


@pytest.mark.parametrize("env", inventory.environments())
def test_concurrent_hashes_fit_the_memory_limit(env, tmp_path):
    objects = built_overlay(env, tmp_path)
    data = objects["ConfigMap", "user-service"]["data"]
    container = objects["Deployment", "user-service"]["spec"]["template"]["spec"]["containers"][0]
    limit = mebibytes(container["resources"]["limits"]["memory"])

    settings = Settings(**{key.removeprefix("USER_").lower(): value for key, value in data.items()})
    hash_mib = settings.argon2_memory_kib / 1024
    assert PROCESS_MIB + hashing_slots(settings) * hash_mib <= limit, (env, data, limit)
    assert "USER_ARGON2_MEMORY_BUDGET_MIB" in data, "sized by the limit, not by the default"
