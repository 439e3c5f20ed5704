# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gives every inventory the plain names of its vaulted secrets, from the one
catalog (gitops/secrets.yml `variables`), so no inventory restates them.

Each inventory's group_vars/all/vault.yml holds vault_<name>; roles and
inventories read <name>. The catalog travels with the collection, so the names
and the vault are joined the same way from a checkout and from an installed
collection. The catalog itself is published too (titanium_secret_variables),
for preflight to demand each secret the run needs."""

from __future__ import annotations

DOCUMENTATION = """
name: secrets
short_description: The plain names of the vaulted secrets, from the collection's catalog
description:
  - For the group C(all) of every inventory, defines each variable the catalog
    (C(gitops/secrets.yml), C(variables)) lists as C({{ vault_<name> }}); an
    C(optional) one reads as empty while C(vault_<name>) is unset.
  - Also defines C(titanium_secret_variables), the catalog's entries (name, purpose,
    needed), which the preflight role checks against the vault. An C(optional) one
    without C(needed) is never demanded.
  - Runs before C(ansible.builtin.host_group_vars) (list it first in
    C(vars_plugins_enabled)), so an inventory's own group_vars still override a name.
  - Runs beside inventory sources only, so an inventory given as a host list
    (C(-i host1,host2)) gets no names; such a run passes them as extra vars.
options:
  stage:
    # Only beside inventory sources: run for a playbook's directory too, the
    # names would sit at playbook group_vars precedence, above an inventory's
    # own group_vars, which must be able to override them.
    default: inventory
    ini:
      - key: stage
        section: vars_titanium_secrets
    env:
      - name: ANSIBLE_VARS_PLUGIN_STAGE
extends_documentation_fragment:
  - vars_plugin_staging
"""

import functools
import os

import yaml
from ansible.inventory.group import Group
from ansible.plugins.vars import BaseVarsPlugin
from ansible.template import trust_as_template

CATALOG = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    "gitops",
    "secrets.yml",
)


@functools.lru_cache(maxsize=1)
def catalog(path: str = CATALOG) -> tuple[dict, ...]:
    """The catalog's `variables` entries."""
    with open(path, encoding="utf-8") as handle:
        return tuple(yaml.safe_load(handle)["variables"])


def plain_names(entries: tuple[dict, ...]) -> dict[str, str]:
    """name -> the expression that reads it from the vault (not yet templated)."""
    return {
        entry["name"]: (
            f"{{{{ vault_{entry['name']} | default('') }}}}"
            if entry.get("optional")
            else f"{{{{ vault_{entry['name']} }}}}"
        )
        for entry in entries
    }


def published(entries: tuple[dict, ...]) -> dict:
    """Every variable the plugin defines for the group `all`, trusted for templating."""
    variables = {name: trust_as_template(value) for name, value in plain_names(entries).items()}
    variables["titanium_secret_variables"] = [
        {
            "name": "vault_" + entry["name"],
            "purpose": entry["purpose"],
            # An optional one is only demanded where its `needed` says so.
            "needed": (
                trust_as_template(entry["needed"])
                if "needed" in entry
                else not entry.get("optional", False)
            ),
        }
        for entry in entries
    ]
    return variables


class VarsModule(BaseVarsPlugin):
    is_stateless = True

    def get_vars(self, loader, path, entities, cache=True):
        super().get_vars(loader, path, entities)
        if not any(isinstance(entity, Group) and entity.name == "all" for entity in entities):
            return {}
        return published(catalog())
