"""The README's command opens the local vault as written, and an environment's
vault that no given password opens stops the run with a message naming the file
and how to pass its password (not Ansible's bare "no vault secrets found")."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _run(*args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    # What an operator's shell has: the repository's ansible.cfg and no vault
    # password anywhere in the environment.
    env = {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        **(extra_env or {}),
    }
    return subprocess.run(
        list(args),
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _reads_a_vaulted_variable(inventory: Path | str, **kwargs) -> subprocess.CompletedProcess:
    return _run(
        str(BIN / "ansible"),
        "localhost",
        "-i",
        str(inventory),
        "-m",
        "ansible.builtin.debug",
        "-a",
        "msg={{ (vault_redis_password | length) > 0 }}",
        **kwargs,
    )


def test_readme_command_opens_the_local_vault_without_any_password_option():
    result = _reads_a_vaulted_variable("inventories/local")
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"msg": true' in result.stdout


def test_a_freshly_generated_local_vault_opens_without_any_password_option(tmp_path):
    inventory = tmp_path / "local"
    shutil.copytree(
        REPO_ROOT / "inventories/local", inventory, ignore=shutil.ignore_patterns("vault.yml")
    )
    env = {
        "TITANIUM_LOCAL_INVENTORY": str(inventory),
        "TITANIUM_LOCAL_VAULT_PASS": str(tmp_path / "local-vault.pass"),
    }
    made = _run("scripts/local-vault.sh", extra_env=env)
    assert made.returncode == 0, made.stderr
    vault = inventory / "group_vars/all/vault.yml"
    assert vault.read_text().startswith("$ANSIBLE_VAULT;1.2;AES256;local\n")

    result = _reads_a_vaulted_variable(inventory, extra_env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"msg": true' in result.stdout

    # What only an operator sets is never generated: set, it would switch things on
    # (a signing-key rotation, registry credentials local has no registry for).
    names = _run(str(BIN / "ansible-vault"), "view", str(vault), extra_env=env)
    assert names.returncode == 0, names.stderr
    generated = {
        line.split(":")[0] for line in names.stdout.splitlines() if line.startswith("vault_")
    }
    assert "vault_postgres_password" in generated
    assert not {"vault_auth_next_signing_key", "vault_image_registry_auth"} & generated


def _encrypted_staging(tmp_path: Path) -> tuple[Path, Path]:
    inventory = tmp_path / "staging"
    shutil.copytree(REPO_ROOT / "inventories/staging", inventory)
    password = tmp_path / "staging.pass"
    password.write_text("not-a-real-password\n")
    # The command inventories/staging's vault.yml documents.
    encrypted = _run(
        str(BIN / "ansible-vault"),
        "encrypt",
        "--vault-id",
        f"staging@{password}",
        "--encrypt-vault-id",
        "staging",
        str(inventory / "group_vars/all/vault.yml"),
    )
    assert encrypted.returncode == 0, encrypted.stderr
    return inventory, password


def test_staging_without_its_password_names_the_vault_and_how_to_pass_it(tmp_path):
    inventory, _ = _encrypted_staging(tmp_path)
    result = _run(str(BIN / "ansible-playbook"), "site.yml", "-i", str(inventory))
    assert result.returncode != 0
    output = " ".join((result.stdout + result.stderr).split())
    assert f"{inventory}/group_vars/all/vault.yml is encrypted" in output, output
    for way in ("--vault-id staging@", "--ask-vault-pass", "ANSIBLE_VAULT_PASSWORD_FILE"):
        assert way in output, output
    assert "TASK [" not in output


def test_staging_with_its_password_opens(tmp_path):
    inventory, password = _encrypted_staging(tmp_path)
    for option in (["--vault-id", f"staging@{password}"], ["--vault-password-file", str(password)]):
        result = _run(str(BIN / "ansible-inventory"), "-i", str(inventory), "--list", *option)
        assert result.returncode == 0, result.stderr


def test_encrypting_without_naming_the_environment_is_refused(tmp_path):
    # Else the local vault's password, the one identity ansible.cfg names, would
    # silently become staging's.
    sample = tmp_path / "vault.yml"
    shutil.copy(REPO_ROOT / "inventories/staging/group_vars/all/vault.yml", sample)
    result = _run(str(BIN / "ansible-vault"), "encrypt", str(sample))
    assert result.returncode != 0
    assert "--encrypt-vault-id=<env>" in result.stderr
    assert not sample.read_text().startswith("$ANSIBLE_VAULT")
