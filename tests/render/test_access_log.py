"""Which requests the services write their own access line for, as rendered:
only errors and slow ones where the mesh's sidecars log every request."""

from __future__ import annotations

import pytest
import yaml

from titanium_tools import inventory


def access_logs(env: str, rendered: dict[str, str]) -> dict[str, str]:
    """service -> its <PREFIX>ACCESS_LOG as the environment's overlay sets it."""
    overlay = yaml.safe_load(rendered[f"services/overlays/{env}/kustomization.yaml"])
    found = {}
    for patch in overlay["patches"]:
        for op in yaml.safe_load(patch["patch"]):
            if op["path"].endswith("ACCESS_LOG"):
                found[patch["target"]["name"]] = op["value"]
    return found


@pytest.mark.parametrize("env", inventory.environments())
def test_with_the_mesh_every_service_logs_only_errors_and_slow_requests(env):
    values = inventory.load_values(env)
    rendered = inventory.render(env)
    assert access_logs(env, rendered) == dict.fromkeys(values["services"], "errors-and-slow")
    for service, settings in values["services"].items():
        base = yaml.safe_load(rendered[f"services/base/{service}/configmap.yaml"])
        # The base leaves it to the service's default (all), for a run without a mesh.
        assert f"{settings['env_prefix']}ACCESS_LOG" not in base["data"]


def test_without_the_mesh_every_service_logs_every_request():
    """What the gitops role renders where istio_enabled is off (the rehearsal)."""
    rendered = inventory.render("local", overrides={"mesh_access_log": False})
    assert access_logs("local", rendered) == {}
