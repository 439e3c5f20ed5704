"""The platform roles' templates rendered, and their defaults evaluated, by a
real ansible-playbook run (tests/support/playbooks/render.yml), so Ansible
itself decides every variable: the roles' defaults and their dependencies', an
inventory's group_vars and hosts, the collection's vars plugins, the facts the
roles' own task files set where they need no cluster, then fake vault values
and the test's extra vars (-e). A source is "defaults" (the roles with an
inventory of only localhost) or an inventory's name.

`render(role, template, source, extra)` returns the YAML documents a template
makes, `values(...)` its one document, `text(...)` the text;
`resolve(role, source, name, extra)` a variable as the role's tasks see it (one
of the role's defaults, or of ALSO_RESOLVED). Runs are cached per process: one for every role and
source; a call with `extra` costs a run of its own, of that role only, unless
prepare() rendered several roles for those extra vars at once.
"""

from __future__ import annotations

import functools
import json
import secrets
import tempfile
from pathlib import Path

import yaml

from ansible_collections.titanium.platform.plugins.filter.crypto import bcrypt_hash
from ansible_collections.titanium.platform.plugins.vars.secrets import catalog as secret_catalog
from tests.support.ansible_run import run_playbook

REPO_ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = "tests/support/playbooks/render.yml"
# An inventory of the controller alone: the "defaults" source.
ALONE = "tests/support/playbooks/alone"

ROLES = [
    "blog_secrets", "istio", "monitoring", "logging", "tracing", "argocd", "gitserver", "verify",
]  # fmt: skip
# Every role the playbook renders: gitops has no templates, only variables.
RENDERED = [*ROLES, "gitops"]

INVENTORIES = sorted(p.name for p in (REPO_ROOT / "inventories").iterdir() if p.is_dir())

SOURCES = ["defaults", *INVENTORIES]

# Variables that are no role's default but tests read: an inventory's own, and
# the fact the gitserver role publishes for argocd and gitops.
ALSO_RESOLVED = ["gitops_repo_url", "gitserver_repository"]

# Fresh for every test run: the checks look for these strings where they must not be.
FAKE_SECRETS = {
    f"vault_{entry['name']}": (
        "https://hooks.example/" + secrets.token_hex(8)
        if entry["name"].endswith("_url")
        else f"{entry['name']}-{secrets.token_hex(8)}"
    )
    for entry in secret_catalog()
    if not entry.get("optional")
}

# What scripts/rehearsal.py writes to build/rehearsal/endpoints.json, which the
# rehearsal inventory reads; given instead, so no rehearsal need be up.
REHEARSAL_ENDPOINTS = {
    "kubeconfig": "/nonexistent/build/rehearsal/kubeconfig",
    "gitea_url": "http://127.0.0.1:3000",
    "argocd_url": "http://127.0.0.1:8080",
    "gateway_url": "http://127.0.0.1:8000",
    "prometheus_url": "http://127.0.0.1:9090",
    "alertmanager_url": "http://127.0.0.1:9093",
    "node_address": "127.0.0.1",
    "containerd_socket": "/nonexistent/build/rehearsal/containerd.sock",
    "data_images": {},
}


@functools.cache
def first_run_facts() -> dict:
    """What the argocd role's "Decide the admin password hash" sets on a first
    run (no argocd-secret yet): it reads the cluster, so the render is given the
    result. The decision itself runs for real in tests/integration/test_platform_roles.py."""
    return {
        "argocd_admin_hash": bcrypt_hash(FAKE_SECRETS["vault_argocd_admin_password"]),
        "argocd_admin_mtime": "2026-01-01T00:00:00Z",
    }


def _frozen(value):
    """A hashable stand-in for extra vars, for the cache key."""
    return json.dumps(value, sort_keys=True)


def _run(source: str, frozen_extra: str, roles: tuple[str, ...]) -> dict[str, dict]:
    inventory = ALONE if source == "defaults" else f"inventories/{source}"
    variables = {
        **FAKE_SECRETS,
        **first_run_facts(),
        **({"rehearsal": REHEARSAL_ENDPOINTS} if source == "rehearsal" else {}),
        "render_roles": list(roles),
        "render_also": ALSO_RESOLVED,
        **json.loads(frozen_extra),
    }
    # Through a file: the vault values have no business on a command line.
    with tempfile.NamedTemporaryFile("w", suffix=".json") as extra_vars:
        json.dump(variables, extra_vars)
        extra_vars.flush()
        result = run_playbook(
            "-i",
            inventory,
            "-e",
            f"@{extra_vars.name}",
            PLAYBOOK,
            "--tags",
            "render",
            env={"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"},
        )
    # The profile_tasks callback prints timings around the JSON document.
    start = result.stdout.find("\n{")
    assert start >= 0, result.stdout[-4000:] + result.stderr[-4000:]
    document, _ = json.JSONDecoder().raw_decode(result.stdout[start + 1 :])
    rendered, failed = {}, []
    for play in document["plays"]:
        for task in play["tasks"]:
            outcome = task["hosts"].get("localhost", {})
            for item in outcome.get("results", [outcome]):
                if item.get("failed"):
                    failed.append(f"{task['task']['name']}: {item.get('msg')}")
                elif task["task"]["name"] == "Render" and "ansible_facts" in item:
                    facts = item["ansible_facts"]
                    rendered[item["item"]] = {
                        "templates": facts["render_templates"],
                        "variables": facts["render_variables"],
                    }
    assert result.returncode == 0 and not failed, (source, failed, result.stderr[-4000:])
    return rendered


# (source, extra) -> role -> what a run rendered for it; a run adds its roles.
_RENDERED: dict[tuple[str, str], dict[str, dict]] = {}


def prepare(source: str, extra: dict | None, roles: list[str]) -> None:
    """Render these roles in one run for (source, extra), when a test will ask for
    several with the same extra vars: each role asked alone would cost a run."""
    key = (source, _frozen(extra or {}))
    missing = [role for role in roles if role not in _RENDERED.get(key, {})]
    if missing:
        _RENDERED.setdefault(key, {}).update(_run(source, key[1], tuple(missing)))


def run(role: str, source: str, extra: dict | None = None) -> dict:
    """The role's rendered templates and variables from a run for this source:
    the one every role shares without `extra`, a run of this role alone with it
    (unless prepare() rendered it already)."""
    prepare(source, extra, [role] if extra else RENDERED)
    return _RENDERED[(source, _frozen(extra or {}))][role]


def text(role: str, template: str, source: str, extra: dict | None = None) -> str:
    return run(role, source, extra)["templates"][template]


def render(role: str, template: str, source: str, extra: dict | None = None) -> list[dict]:
    rendered = text(role, template, source, extra)
    return [doc for doc in yaml.safe_load_all(rendered) if doc is not None]


def values(role: str, template: str, source: str, extra: dict | None = None) -> dict:
    (document,) = render(role, template, source, extra)
    return document


def resolve(role: str, source: str, name: str, extra: dict | None = None):
    return run(role, source, extra)["variables"][name]


def environment_of(source: str) -> str:
    """The environment an inventory deploys (the rehearsal deploys local's overlay)."""
    return resolve("verify", source, "verify_environment")
