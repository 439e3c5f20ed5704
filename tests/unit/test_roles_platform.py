"""What the platform roles' templates may read, read from the files alone: every
variable a template reads is a documented default (of the role or a role it
depends on) or a fact a role sets, every documented variable is in the role's
README, and Kiali's choices leave out anonymous access. The templates rendered by
ansible-playbook and checked: tests/render/test_roles_platform.py."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2
import jinja2.meta
import pytest
import yaml
from ansible.plugins.loader import lookup_loader

from tests.support.role_templates import ROLES

REPO_ROOT = Path(__file__).resolve().parents[2]
# Facts a role sets before it renders (or that an earlier role publishes).
RUNTIME_FACTS = {
    "argocd_admin_hash",
    "argocd_admin_mtime",
    "gitserver_repository",
    "blog_secrets_list",
    "blog_secrets_unset",
}


def dependency_names(role: str) -> set[str]:
    """The defaults' names of the roles a role depends on (its meta/main.yml)."""
    path = REPO_ROOT / "roles" / role / "meta/main.yml"
    meta = (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}
    names: set[str] = set()
    for dependency in meta.get("dependencies", []):
        name = dependency["role"].removeprefix("titanium.platform.")
        names |= set(yaml.safe_load((REPO_ROOT / "roles" / name / "defaults/main.yml").read_text()))
    return names


def test_kiali_refuses_anonymous_access():
    specs = yaml.safe_load((REPO_ROOT / "roles/istio/meta/argument_specs.yml").read_text())
    choices = specs["argument_specs"]["main"]["options"]["istio_kiali_auth_strategy"]["choices"]
    assert "anonymous" not in choices


class AnyName(dict):
    """Every filter or test name exists: Ansible's are not in a bare Environment."""

    def __contains__(self, name) -> bool:
        return True

    def get(self, name, default=None):
        return super().get(name) or (lambda *args, **kwargs: None)


@cache
def documented(role: str) -> set[str]:
    specs = yaml.safe_load((REPO_ROOT / "roles" / role / "meta/argument_specs.yml").read_text())
    return set(specs["argument_specs"]["main"]["options"])


@pytest.mark.parametrize("role", ROLES)
def test_every_variable_a_template_reads_is_a_documented_default(role):
    # Parsed, never rendered: autoescape is irrelevant.
    env = jinja2.Environment(extensions=["jinja2.ext.do"])  # noqa: S701
    env.filters = AnyName(env.filters)  # Ansible's filters: only the names matter here
    env.tests = AnyName(env.tests)
    defaults = yaml.safe_load((REPO_ROOT / "roles" / role / "defaults/main.yml").read_text())
    allowed = set(defaults) | dependency_names(role) | RUNTIME_FACTS
    allowed |= {"titanium_environment", "role_path"}
    allowed |= {"verify_degraded", "verify_signals", "verify_status_page"}
    allowed |= {"verify_checked", "verify_not_checked"}  # set by verify's checked.yml
    for template in (REPO_ROOT / "roles" / role / "templates").glob("*.j2"):
        used = jinja2.meta.find_undeclared_variables(env.parse(template.read_text()))
        used -= {"lookup", "now", "namespace", "range"}
        unknown = used - allowed
        assert not unknown, f"{role}/{template.name} reads undocumented {unknown}"
    assert set(defaults) <= documented(role)


@pytest.mark.parametrize("role", ROLES)
def test_readme_names_every_variable(role):
    readme = (REPO_ROOT / "roles" / role / "README.md").read_text()
    missing = [name for name in documented(role) if f"`{name}`" not in readme]
    assert not missing, f"roles/{role}/README.md does not mention {missing}"


def test_lookup_plugins_used_by_templates_exist():
    for name in ("ansible.builtin.file", "ansible.builtin.template"):
        assert lookup_loader.get(name) is not None
