"""The environments as the inventories state them, for the tools and the tests
that render without Ansible: inventories/<name>/group_vars/all/environment.yml
holds the values the gitops role hands to the renderer (titanium_environment_values).
An inventory whose values point at another's (the rehearsal renders local's) is
not an environment of its own."""

from __future__ import annotations

from pathlib import Path

import yaml

from ansible_collections.titanium.platform.plugins.module_utils import gitops_render
from titanium_tools import REPO_ROOT

INVENTORIES = REPO_ROOT / "inventories"
VALUES_FILE = Path("group_vars/all/environment.yml")


def _stated(inventory: Path) -> object:
    path = inventory / VALUES_FILE
    if not path.is_file():
        return None
    return (yaml.safe_load(path.read_text()) or {}).get(gitops_render.VALUES_VARIABLE)


def environments() -> tuple[str, ...]:
    """Every inventory that states its own environment values."""
    return tuple(
        inventory.name
        for inventory in sorted(INVENTORIES.iterdir())
        if isinstance(_stated(inventory), dict)
    )


def values(env: str) -> dict:
    stated = _stated(INVENTORIES / env)
    if not isinstance(stated, dict):
        raise gitops_render.RenderError(
            f"unknown environment {env!r}: choose one of {', '.join(environments())} "
            f"(an inventory with {gitops_render.VALUES_VARIABLE} in {VALUES_FILE})"
        )
    return stated


def load_values(env: str, source: Path = gitops_render.DEFAULT_SOURCE, overrides=None) -> dict:
    return gitops_render.load_values(env, values(env), source, overrides)


def render(env: str, source: Path = gitops_render.DEFAULT_SOURCE, overrides=None) -> dict:
    return gitops_render.render(env, values(env), source, overrides)
