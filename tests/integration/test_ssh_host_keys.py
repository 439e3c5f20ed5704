"""Ansible's SSH to the nodes verifies host keys: ansible.cfg never turns the check
off, and the staging and production inventories read known hosts from a file an
inventory variable names, accepting a new key only where the operator says so.

Driven for real: `ansible -m ansible.builtin.ping` with each inventory's own
group_vars against an OpenSSH server on 127.0.0.1 (tests/support/git_ssh.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support.git_ssh import GitSSHServer, make_key

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SSH_INVENTORIES = ["staging", "production"]


def ansible_env(control_dir: Path | None = None) -> dict[str, str]:
    env = {
        "PATH": f"{BIN}:/usr/bin:/bin:/usr/sbin:/sbin",
        "HOME": str(Path.home()),
        "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
    }
    if control_dir is not None:
        # A master connection left by an earlier test would skip the host key check.
        env["ANSIBLE_SSH_CONTROL_PATH_DIR"] = str(control_dir)
    return env


def test_ansible_cfg_keeps_host_key_checking_on():
    dump = subprocess.run(
        [str(BIN / "ansible-config"), "dump", "--only-changed", "--format", "json"],
        env=ansible_env(),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    changed = {e["name"]: e["value"] for e in json.loads(dump.stdout) if "name" in e}
    assert changed.get("HOST_KEY_CHECKING", True) is True, (
        "ansible.cfg turns host key checking off: every SSH node would be trusted blindly"
    )


@pytest.mark.parametrize("inventory", SSH_INVENTORIES)
def test_every_ssh_node_checks_host_keys_against_the_inventorys_known_hosts(inventory):
    listing = subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", f"inventories/{inventory}", "--list"],
        env=ansible_env(),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    hostvars = json.loads(listing.stdout)["_meta"]["hostvars"]
    nodes = [h for h, v in hostvars.items() if v.get("ansible_connection") != "local"]
    assert nodes, f"{inventory} has no SSH node"
    for node in nodes:
        node_vars = hostvars[node]
        arguments = node_vars.get("ansible_ssh_common_args", "")
        assert "StrictHostKeyChecking=" in arguments, f"{inventory}/{node}: {arguments!r}"
        assert "UserKnownHostsFile=" in arguments, f"{inventory}/{node}: {arguments!r}"
        assert node_vars.get("titanium_ssh_accept_new_host_keys") is False, (
            f"{inventory}/{node}: a new host key must be trusted only when the operator says so"
        )


@pytest.fixture(scope="module")
def sshd(tmp_path_factory) -> Iterator[GitSSHServer]:
    with GitSSHServer(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture(scope="module")
def client_key(tmp_path_factory, sshd) -> Path:
    key = make_key(tmp_path_factory.mktemp("client") / "id_ed25519")
    sshd.authorize(Path(f"{key}.pub"))
    return key


def node_inventory(inventory: str, directory: Path, sshd: GitSSHServer, key: Path) -> Path:
    """The inventory's own group_vars, its nodes replaced by one node: the sshd."""
    copy = directory / inventory
    shutil.copytree(REPO_ROOT / "inventories" / inventory / "group_vars", copy / "group_vars")
    hosts = yaml.safe_load((REPO_ROOT / "inventories" / inventory / "hosts.yml").read_text())
    node_group = hosts["all"]["children"]["k3s_nodes"]
    node_group["vars"].update(
        ansible_user=sshd.user,
        ansible_python_interpreter=sys.executable,
        ansible_ssh_private_key_file=str(key),
    )
    hosts["all"]["children"]["k3s_servers"]["hosts"] = {
        "node-1": {"ansible_host": "127.0.0.1", "ansible_port": sshd.port}
    }
    hosts["all"]["children"]["k3s_agents"]["hosts"] = {}
    (copy / "hosts.yml").write_text(yaml.safe_dump(hosts))
    return copy


def ping(inventory: Path, known_hosts: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(BIN / "ansible"),
            "-i",
            str(inventory),
            "node-1",
            "-m",
            "ansible.builtin.ping",
            "-e",
            f"titanium_ssh_known_hosts_file={known_hosts}",
            *extra,
        ],
        env=ansible_env(inventory.parent / "cp"),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def refused(inventory: Path, known_hosts: Path, reason: str, *extra: str) -> None:
    """The connection is refused, and ssh says why. When ssh exits on a host key
    while Ansible is still writing to it, Ansible may report only its broken
    pipe (seen once on a loaded machine): every attempt must fail, and one of
    three must carry ssh's reason."""
    for _ in range(3):
        answer = ping(inventory, known_hosts, *extra)
        output = answer.stdout + answer.stderr
        assert answer.returncode != 0, f"the host key was trusted:\n{output}"
        if reason in output:
            return
        assert "Broken pipe" in output, output
    pytest.fail(f"no attempt said {reason!r}:\n{output}")


@pytest.mark.parametrize("inventory", SSH_INVENTORIES)
def test_an_unknown_host_key_is_refused_unless_the_operator_accepts_new_ones(
    inventory, sshd, client_key, tmp_path
):
    nodes = node_inventory(inventory, tmp_path, sshd, client_key)
    known_hosts = tmp_path / "known_hosts"

    refused(nodes, known_hosts, "Host key verification failed")

    accepted = ping(nodes, known_hosts, "-e", "titanium_ssh_accept_new_host_keys=true")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    recorded = subprocess.run(
        ["ssh-keygen", "-F", f"[127.0.0.1]:{sshd.port}", "-f", str(known_hosts)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert sshd.known_hosts_line.split()[2] in recorded, "the server's key was not recorded"

    # Recorded once, checked strictly from then on, accept-new off again.
    again = ping(nodes, known_hosts)
    assert again.returncode == 0, again.stdout + again.stderr


@pytest.mark.parametrize("inventory", SSH_INVENTORIES)
def test_a_changed_host_key_is_refused_even_with_accept_new(inventory, sshd, client_key, tmp_path):
    nodes = node_inventory(inventory, tmp_path, sshd, client_key)
    impostor = make_key(tmp_path / "impostor")
    algorithm, key = Path(f"{impostor}.pub").read_text().split()[:2]
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{sshd.port} {algorithm} {key}\n")

    refused(
        nodes,
        known_hosts,
        "REMOTE HOST IDENTIFICATION HAS CHANGED",
        "-e",
        "titanium_ssh_accept_new_host_keys=true",
    )
