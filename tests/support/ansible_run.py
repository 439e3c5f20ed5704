"""Running ansible-playbook from tests the way an operator does: from the
repository root, with its ansible.cfg, the local vault's password script and
the interpreter of this virtualenv."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ansible_collections.titanium.platform.plugins.vars.secrets import catalog as secret_catalog

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run_playbook(
    *args: str, check: bool | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """ansible-playbook ARGS; with `check`, assert it succeeded (True) or failed (False).
    `env` adds to the environment (e.g. ANSIBLE_STDOUT_CALLBACK)."""
    result = subprocess.run(
        [
            str(BIN / "ansible-playbook"),
            "--vault-password-file",
            str(REPO_ROOT / "scripts/local-vault-pass.sh"),
            *args,
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={
            # build/bin: the kubectl and helm `make setup-operator` builds.
            "PATH": f"{BIN}:{REPO_ROOT / 'build/bin'}:/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME": str(Path.home()),
            "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
            "ANSIBLE_NOCOLOR": "1",
            **(env or {}),
        },
        timeout=300,
    )
    if check is not None:
        assert (result.returncode == 0) is check, result.stdout[-4000:] + result.stderr[-2000:]
    return result


def run_on_localhost(
    playbook: str,
    variables: dict,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """A playbook against localhost only (not an inventory, whose vault would need
    a password), with `variables` as extra vars and this virtualenv's Python.
    The variables go through a file: they may hold test credentials, which have
    no business on a command line."""
    base = env if env is not None else dict(os.environ)
    with tempfile.NamedTemporaryFile("w", suffix=".json") as extra_vars:
        json.dump({"ansible_python_interpreter": sys.executable, **variables}, extra_vars)
        extra_vars.flush()
        return subprocess.run(
            [
                str(BIN / "ansible-playbook"),
                "-i",
                "localhost,",
                "-c",
                "local",
                "-e",
                f"@{extra_vars.name}",
                str(REPO_ROOT / playbook),
                *args,
            ],
            env={
                **base,
                "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
                "PATH": f"{BIN}:{base['PATH']}",
            },
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO_ROOT,
            check=False,
        )


def run_module(
    name: str,
    args: dict,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 180,
    flags: tuple[str, ...] = (),
) -> tuple[int, dict]:
    """One module on localhost through `ansible -m`, the way a task runs it: its
    return code and the module's result. `flags` go to the command line (--check,
    --diff)."""
    result = subprocess.run(
        [
            str(BIN / "ansible"),
            # Not the default inventory: its vault would need a password.
            "-i",
            "localhost,",
            "-c",
            "local",
            "localhost",
            "-m",
            name,
            "-a",
            json.dumps(args),
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            *flags,
        ],
        env={
            **(env if env is not None else os.environ),
            "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
            "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
            "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
        },
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
        check=False,
    )
    # The profile_tasks callback prints timings around the JSON document.
    document, _ = json.JSONDecoder().raw_decode(result.stdout[result.stdout.index("\n{") + 1 :])
    return result.returncode, document["plays"][0]["tasks"][0]["hosts"]["localhost"]


def recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP counters per host, summed over every play of the run."""
    counts: dict[str, dict[str, int]] = {}
    for host, fields in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.MULTILINE):
        host_counts = counts.setdefault(host, {})
        for key, value in re.findall(r"(\w+)=(\d+)", fields):
            host_counts[key] = host_counts.get(key, 0) + int(value)
    return counts


def write_vault_values(path: Path) -> Path:
    """A vars file with every vaulted variable of the catalog but the optional
    ones, as a vault holds them, made for this run (pass it with -e @PATH);
    never the local vault's real secrets."""
    names = [f"vault_{entry['name']}" for entry in secret_catalog() if not entry.get("optional")]
    path.write_text(json.dumps({name: secrets.token_hex(16) for name in names}))
    return path


def fresh_local_inventory(tmp_path: Path, **extra_env: str) -> tuple[Path, dict[str, str]]:
    """A copy of inventories/local whose vault scripts/local-vault.sh makes now,
    as on a new machine, and the environment that opens it (`extra_env` is
    passed to the script too, e.g. TITANIUM_ALERT_INBOX_URL)."""
    inventory = tmp_path / "local"
    shutil.copytree(
        REPO_ROOT / "inventories/local", inventory, ignore=shutil.ignore_patterns("vault.yml")
    )
    env = {
        **os.environ,
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "TITANIUM_LOCAL_INVENTORY": str(inventory),
        "TITANIUM_LOCAL_VAULT_PASS": str(tmp_path / "vault.pass"),
        **extra_env,
    }
    subprocess.run([str(REPO_ROOT / "scripts/local-vault.sh")], check=True, env=env, cwd=REPO_ROOT)
    return inventory, env


def run_with_env(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """ansible-playbook ARGS in `env` (fresh_local_inventory's, which opens that
    inventory's vault), from the checkout."""
    return subprocess.run(
        [str(BIN / "ansible-playbook"), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=300,
    )
