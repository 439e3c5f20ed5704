"""The platform roles' templates rendered in this process, with Ansible's own
templating (Templar) over variables gathered the way a run would gather them:
the role's defaults (and, for verify, the NodePort owners' defaults, as
playbooks/runbooks/tasks/nodeport-defaults.yml loads them), then an
inventory's group_vars, then fake vault values, then the facts the role or an
earlier one would have set. `values(role, template, source)` and
`render(...)` return what the template makes; `resolve(templar_for(...), expr)`
evaluates an expression. A source is "defaults" (the role alone) or an
inventory's name.

This is a model of Ansible's variable precedence, not ansible-playbook: the
tests that must see a real run (bad input stopping it, an inventory's NodePort
reaching verify) run ansible-playbook in tests/integration.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.titanium.platform.plugins.vars.secrets import catalog as secret_catalog
from ansible_collections.titanium.platform.plugins.vars.secrets import plain_names

REPO_ROOT = Path(__file__).resolve().parents[2]

ROLES = [
    "blog_secrets", "istio", "monitoring", "logging", "tracing", "argocd", "gitserver", "verify",
]  # fmt: skip


INVENTORIES = sorted(p.name for p in (REPO_ROOT / "inventories").iterdir() if p.is_dir())


SOURCES = ["defaults", *INVENTORIES]


LOADER = DataLoader()


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

# The plain names, as the titanium.platform.secrets vars plugin gives every inventory.
PLAIN_SECRETS = plain_names(secret_catalog())


REHEARSAL_ENDPOINTS = {
    "kubeconfig": "/nonexistent/build/rehearsal/kubeconfig",
    "gitea_url": "http://127.0.0.1:3000",
    "argocd_url": "http://127.0.0.1:8080",
    "gateway_url": "http://127.0.0.1:8000",
    "prometheus_url": "http://127.0.0.1:9090",
}


def inventory_hosts(name: str) -> tuple[dict, dict]:
    """groups and hostvars from hosts.yml, without the vars plugins (no vault needed)."""
    data = yaml.safe_load((REPO_ROOT / "inventories" / name / "hosts.yml").read_text())
    groups: dict[str, list[str]] = {}
    hostvars: dict[str, dict] = {}

    def walk(group: str, node: dict | None) -> list[str]:
        node = node or {}
        members = []
        for host, hvars in (node.get("hosts") or {}).items():
            hostvars.setdefault(host, {}).update(hvars or {})
            members.append(host)
        for child, child_node in (node.get("children") or {}).items():
            members += walk(child, child_node)
        groups[group] = sorted(set(groups.get(group, []) + members))
        return members

    walk("all", data["all"])
    return groups, hostvars


def inventory_vars(name: str) -> dict:
    merged: dict = {}
    for path in sorted((REPO_ROOT / "inventories" / name / "group_vars" / "all").glob("*.yml")):
        if path.name == "vault.yml":
            continue  # encrypted or placeholders: the test brings its own values
        merged.update(LOADER.load_from_file(str(path), trusted_as_template=True) or {})
    return merged


# verify.yml loads these roles' defaults before verify's (their NodePorts).
NODEPORT_OWNERS = [
    task["ansible.builtin.import_role"]["name"].removeprefix("titanium.platform.")
    for task in yaml.safe_load(
        (REPO_ROOT / "playbooks/runbooks/tasks/nodeport-defaults.yml").read_text()
    )
]


def dependency_defaults(role: str) -> dict:
    """The defaults of the roles a role depends on (its meta/main.yml), which
    Ansible loads below the role's own."""
    meta = REPO_ROOT / "roles" / role / "meta/main.yml"
    found: dict = {}
    for dependency in (
        (yaml.safe_load(meta.read_text()) or {}).get("dependencies", []) if meta.is_file() else ()
    ):
        name = dependency["role"].removeprefix("titanium.platform.")
        path = REPO_ROOT / "roles" / name / "defaults/main.yml"
        found.update(LOADER.load_from_file(str(path), trusted_as_template=True) or {})
    return found


def variables(role: str, source: str, extra: dict | None = None) -> dict:
    role_dir = REPO_ROOT / "roles" / role
    found: dict = dependency_defaults(role)
    for owner in NODEPORT_OWNERS if role == "verify" else ():
        owner_defaults = REPO_ROOT / "roles" / owner / "defaults/main.yml"
        found.update(LOADER.load_from_file(str(owner_defaults), trusted_as_template=True) or {})
    defaults = role_dir / "defaults/main.yml"
    found.update(LOADER.load_from_file(str(defaults), trusted_as_template=True) or {})
    groups, hostvars = {"all": ["localhost"]}, {"localhost": {}}
    if source != "defaults":
        found.update({name: trust_as_template(value) for name, value in PLAIN_SECRETS.items()})
        found.update(inventory_vars(source))
        groups, hostvars = inventory_hosts(source)
        if "rehearsal" in found:
            # What scripts/rehearsal.py writes to build/rehearsal/endpoints.json.
            found["rehearsal"] = REHEARSAL_ENDPOINTS
    else:
        found.update(
            {
                name: FAKE_SECRETS[f"vault_{name}"]
                for name in PLAIN_SECRETS
                if f"vault_{name}" in FAKE_SECRETS
            }
        )
    found.update(FAKE_SECRETS)
    found.update(role_path=str(role_dir), groups=groups, hostvars=hostvars)
    found.update(extra or {})
    return found


def templar_for(role: str, source: str, extra: dict | None = None) -> Templar:
    return Templar(loader=LOADER, variables=variables(role, source, extra))


def resolve(templar: Templar, name: str):
    return templar.template(trust_as_template("{{ " + name + " }}"))


def render(role: str, template: str, source: str, extra: dict | None = None) -> list[dict]:
    templar = templar_for(role, source, extra)
    if role == "argocd":
        # What tasks/config.yml decides before it renders the Secret (first run), and
        # what the gitserver role, run before, publishes where Gitea is in the cluster.
        password = resolve(templar, "argocd_admin_password")
        templar = templar_for(
            role,
            source,
            {
                "gitserver_repository": published_repository(source),
                "argocd_admin_hash": resolve(
                    templar_for(role, source, {"argocd_admin_password": password}),
                    argocd_decision("argocd_new_hash"),
                ),
                "argocd_admin_mtime": "2026-01-01T00:00:00Z",
                **(extra or {}),
            },
        )
    if role == "blog_secrets":
        catalog = resolve(templar, "blog_secrets_catalog")
        listing = yaml.safe_load(Path(catalog).read_text())["secrets"]
        templar = templar_for(role, source, {"blog_secrets_list": listing, **(extra or {})})
        templar = templar_for(
            role,
            source,
            {
                "blog_secrets_list": listing,
                "blog_secrets_unset": blog_secrets_unset(templar),
                **(extra or {}),
            },
        )
    text = (REPO_ROOT / "roles" / role / "templates" / template).read_text()
    rendered = templar.template(trust_as_template(text))
    return [doc for doc in yaml.safe_load_all(rendered) if doc is not None]


def blog_secrets_unset(templar: Templar) -> list[str]:
    """The optional Secrets left out, decided as tasks/validate.yml decides it."""
    tasks = yaml.safe_load((REPO_ROOT / "roles/blog_secrets/tasks/validate.yml").read_text())
    (decide,) = [t for t in tasks if t["name"].startswith("Set aside the optional Secrets")]
    for name, expression in decide["vars"].items():
        templar.available_variables = {
            **templar.available_variables,
            name: templar.template(trust_as_template(expression)),
        }
    expression = decide["ansible.builtin.set_fact"]["blog_secrets_unset"]
    return templar.template(trust_as_template(expression))


def argocd_decision(name: str) -> str:
    """An expression of the argocd role's password-hash decision, as tasks/config.yml has it."""
    tasks = yaml.safe_load((REPO_ROOT / "roles/argocd/tasks/config.yml").read_text())
    (decide,) = [task for task in tasks if task["name"] == "Decide the admin password hash"]
    expression = decide["vars"][name]
    assert expression.startswith("{{ ") and expression.endswith(" }}"), expression
    return expression[3:-3]


def values(role: str, template: str, source: str, extra: dict | None = None) -> dict:
    (document,) = render(role, template, source, extra)
    return document


def environment_of(source: str) -> str:
    """The environment an inventory deploys (the rehearsal deploys local's overlay)."""
    if source == "defaults":
        return "local"
    main = REPO_ROOT / "inventories" / source / "group_vars/all/main.yml"
    return yaml.safe_load(main.read_text())["titanium_environment"]


def published_repository(source: str) -> dict:
    """gitserver_repository as the gitserver role's tasks/facts.yml publishes it
    for this source (the role runs before argocd and gitops)."""
    (publish,) = LOADER.load_from_file(
        str(REPO_ROOT / "roles/gitserver/tasks/facts.yml"), trusted_as_template=True
    )
    templar = templar_for("gitserver", source, publish.get("vars"))
    return templar.template(publish["ansible.builtin.set_fact"]["gitserver_repository"])
