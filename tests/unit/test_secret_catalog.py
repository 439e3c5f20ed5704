"""The one secret catalog (gitops/secrets.yml): everything that names a vaulted
variable names one the catalog lists, and nothing restates the catalog."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ansible_collections.titanium.platform.plugins.vars.secrets import catalog, plain_names

REPO_ROOT = Path(__file__).resolve().parents[2]
VAULT_NAME = re.compile(r"\bvault_([a-z0-9_]+)")
LOCAL_KINDS = {"random", "ed25519", "empty", "alert-inbox", "none"}
# Where a vault_* name may be written: the project's own text, not build output.
SEARCHED = ["roles", "playbooks", "inventories", "molecule", "scripts", "docs", "site.yml"]
SOURCE_SUFFIXES = {".yml", ".yaml", ".j2", ".sh", ".py"}
# Ansible settings (vault_identity_list) and the tests' own names, not vaulted variables.
NOT_VARIABLES = {
    "identity_list",
    "encrypt_identity",
    "file",
    "placeholder_pattern",
    "variables",
    "dir",
}


def names() -> set[str]:
    return {entry["name"] for entry in catalog()}


def test_every_entry_says_what_it_is_for_and_how_local_gets_it():
    for entry in catalog():
        assert entry["purpose"], entry
        assert entry["local"] in LOCAL_KINDS, entry
    assert len(names()) == len(catalog()), "a variable is listed twice"


def test_every_kubernetes_secret_is_made_of_catalog_variables():
    secrets = yaml.safe_load((REPO_ROOT / "gitops/secrets.yml").read_text())["secrets"]
    used = {item["from"] for secret in secrets for item in secret["data"]}
    assert used - names() == set()


def test_every_vault_name_written_anywhere_is_in_the_catalog():
    unknown = {}
    for top in SEARCHED:
        root = REPO_ROOT / top
        for path in [root] if root.is_file() else sorted(root.rglob("*")):
            # Markdown is left out: its examples show an operator's own vaulted
            # variables (a second receiver's URL), which need no catalog entry.
            if not path.is_file() or path.suffix not in SOURCE_SUFFIXES:
                continue
            text = path.read_text(errors="replace")
            if text.startswith("$ANSIBLE_VAULT"):
                continue
            for found in VAULT_NAME.findall(text):
                # preflight's messages name the prefix, e.g. "the vault_ variable".
                if found not in names() and found not in NOT_VARIABLES and found.rstrip("_"):
                    unknown.setdefault(found, str(path.relative_to(REPO_ROOT)))
    assert unknown == {}


def test_no_inventory_sets_a_secret_outside_its_vault():
    for path in sorted((REPO_ROOT / "inventories").glob("*/group_vars/all/*.yml")):
        if path.name == "vault.yml":
            continue
        data = yaml.safe_load(path.read_text()) or {}
        assert set(data) & names() == set(), f"{path}: a secret belongs in vault.yml"


def test_the_plain_names_read_the_vault_and_only_optional_ones_default_to_empty():
    aliases = plain_names(catalog())
    assert aliases["postgres_password"] == "{{ vault_postgres_password }}"
    assert aliases["auth_next_signing_key"] == "{{ vault_auth_next_signing_key | default('') }}"
    assert set(aliases) == names()


def test_molecule_vault_holds_only_catalog_variables():
    molecule = yaml.safe_load((REPO_ROOT / "molecule/default/molecule.yml").read_text())
    group = molecule["provisioner"]["inventory"]["group_vars"]["all"]
    vaulted = {name.removeprefix("vault_") for name in group if name.startswith("vault_")}
    assert vaulted and vaulted <= names()
    assert set(group) & names() == set(), "molecule restates a plain name the plugin gives"
