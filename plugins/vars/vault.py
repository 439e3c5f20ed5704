# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stops a run whose inventory holds a vault no given password opens, with a
message naming the file and the ways to pass its password.

Left alone, Ansible reports only "Attempting to decrypt but no vault secrets
found" (or "Decryption failed") while loading group_vars, before any task could
explain. This plugin runs ahead of host_group_vars (ansible.cfg lists it first)
and tries each whole-file vault of the inventory once per run."""

from __future__ import annotations

DOCUMENTATION = """
name: vault
short_description: Names an inventory vault that no given password opens, and how to pass one
description:
  - For each inventory directory, looks for files under C(group_vars/) and C(host_vars/)
    that are encrypted whole with ansible-vault and tries to open each with the vault
    passwords of the run.
  - One that does not open stops the run with a message naming the file and the ways to
    pass its password, instead of Ansible's bare decryption error.
  - Returns no variables.
options:
  stage:
    ini:
      - key: stage
        section: vars_titanium_vault
    env:
      - name: ANSIBLE_VARS_PLUGIN_STAGE
extends_documentation_fragment:
  - vars_plugin_staging
"""

import os

from ansible.errors import AnsibleError
from ansible.plugins.vars import BaseVarsPlugin

VAULT_HEADER = b"$ANSIBLE_VAULT"
VARS_DIRS = ("group_vars", "host_vars")

# One check per inventory directory and process: vars plugins run for every host.
_checked: set[str] = set()


def _vault_files(inventory_dir: str) -> list[str]:
    found = []
    for vars_dir in VARS_DIRS:
        for root, dirs, files in os.walk(os.path.join(inventory_dir, vars_dir)):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                with open(path, "rb") as handle:
                    if handle.read(len(VAULT_HEADER)) == VAULT_HEADER:
                        found.append(path)
    return found


def _vault_id(path: str) -> str | None:
    with open(path, "rb") as handle:
        fields = handle.readline().strip().split(b";")
    return fields[3].decode() if len(fields) > 3 else None


def _shown(path: str) -> str:
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def _message(path: str, inventory_dir: str) -> str:
    env = os.path.basename(os.path.normpath(inventory_dir))
    label = _vault_id(path) or env
    return (
        f"{path} is encrypted and none of this run's vault passwords opens it. "
        f"Pass its password with --vault-id {label}@<password file> "
        f"(e.g. --vault-id {label}@~/.titanium/{env}.pass), --vault-id {label}@prompt, "
        "--ask-vault-pass, or ANSIBLE_VAULT_PASSWORD_FILE=<password file>; "
        "inventories/README.md says where each environment's password lives."
    )


class VarsModule(BaseVarsPlugin):
    is_stateless = True

    def get_vars(self, loader, path, entities, cache=True):
        super().get_vars(loader, path, entities)
        inventory_dir = os.path.realpath(path)
        if inventory_dir in _checked:
            return {}
        _checked.add(inventory_dir)
        for vault_file in _vault_files(path):
            try:
                plain = loader.get_real_file(vault_file, decrypt=True)
            except AnsibleError:
                # Ansible's own error says only that decryption failed.
                raise AnsibleError(_message(_shown(vault_file), path)) from None
            loader.cleanup_tmp_file(plain)
        return {}
