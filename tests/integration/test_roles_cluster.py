"""The cluster phase's roles (preflight, k3s) driven by ansible-playbook itself:
templates rendered from the role defaults and from every inventory, preflight's
findings, and argument_specs stopping bad input by name.

Nothing here needs a cluster or a container: the k3s templates are rendered on
this machine into a temporary directory (connection local), and preflight runs
on localhost the way playbooks/cluster.yml runs it. The CIDR filters preflight
uses and the defaults it falls back to are unit-tested in tests/unit
(plugins/filter/test_cidr.py, test_roles_cluster.py).
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.ansible_run import BIN, REPO_ROOT, recap, run_playbook, write_vault_values
from tests.support.mirror import closed_port, mirror, source_variables
from titanium_tools.versions import platform as platform_versions

INVENTORIES = ["local", "staging", "production"]
K3S_DEFAULTS = yaml.safe_load((REPO_ROOT / "roles/k3s/defaults/main.yml").read_text())
# The pinned k3s, whose Kubernetes the pinned Istio supports
# (tests/unit/test_versions.py holds them to preflight's table).
FITTING_K3S = platform_versions()["k3s_version"]
# No task carries this tag, so only the `always` ones run: preflight and the
# roles' argument validation, as at the start of every real run.
ONLY_ALWAYS = ["--tags", "only-always"]


@pytest.fixture(scope="module")
def vault_values(tmp_path_factory) -> Path:
    path = write_vault_values(tmp_path_factory.mktemp("vault") / "values.json")
    assert "vault_k3s_token" in json.loads(path.read_text())
    return path


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict:
    """The k3s release and chart repositories, served on 127.0.0.1."""
    with mirror(tmp_path_factory.mktemp("mirror"), FITTING_K3S) as url:
        yield source_variables(url, FITTING_K3S)


@pytest.fixture(scope="module")
def encrypted_vault(tmp_path_factory) -> Path:
    """A vault file as an operator leaves it outside local: encrypted."""
    work = tmp_path_factory.mktemp("encrypted")
    (work / "pass").write_text("a test password\n")
    (work / "vault.yml").write_text("vault_note: sealed\n")
    subprocess.run(
        [
            str(BIN / "ansible-vault"),
            "encrypt",
            "--vault-id",
            f"staging@{work / 'pass'}",
            "--encrypt-vault-id",
            "staging",
            str(work / "vault.yml"),
        ],
        check=True,
        capture_output=True,
        cwd=REPO_ROOT,
    )
    return work / "vault.yml"


def run_preflight(inventory: str, vault_values: Path, *args: str, check: bool | None = None):
    """playbooks/cluster.yml's `always` tasks (preflight, argument validation)."""
    return run_playbook(
        "playbooks/cluster.yml",
        "-i",
        inventory,
        *ONLY_ALWAYS,
        "-e",
        f"@{vault_values}",
        *args,
        check=check,
    )


def overrides_file(path: Path, variables: dict) -> str:
    """Extra variables through a file (-e @FILE): JSON keeps their types."""
    path.write_text(json.dumps(variables))
    return f"@{path}"


# What a machine that can run k3s has and this one lacks: the sources served
# locally and no service to start (no systemd here).
def runnable(path: Path, sources: dict, **more) -> str:
    return overrides_file(path, {**sources, "k3s_start_service": False, **more})


def inventory_hosts(inventory: Path) -> dict:
    listing = subprocess.run(
        [
            str(BIN / "ansible-inventory"),
            "-i",
            str(inventory),
            "--list",
            "--vault-password-file",
            str(REPO_ROOT / "scripts/local-vault-pass.sh"),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    )
    return json.loads(listing.stdout)


# --- preflight on the shipped inventories -----------------------------------


@pytest.mark.parametrize("env", INVENTORIES)
def test_preflight_passes_on_each_inventory_and_changes_nothing(
    env, vault_values, sources, encrypted_vault, tmp_path
):
    overrides = {
        **sources,
        # No systemd on this machine: the nodes are prepared, k3s not started.
        "k3s_start_service": False,
    }
    if env != "local":
        # Their nodes are documentation addresses: this machine stands in for each.
        overrides |= {"ansible_connection": "local", "preflight_vault_file": str(encrypted_vault)}
    result = run_preflight(
        f"inventories/{env}",
        vault_values,
        "-e",
        overrides_file(tmp_path / "overrides.json", overrides),
        check=True,
    )
    assert f"preflight passed: environment {env}, provider k3s" in result.stdout
    servers = 1 if env == "local" else 3
    agents = 0 if env == "local" else 2
    assert f"{servers} server(s) and {agents} agent(s)" in result.stdout
    assert recap(result.stdout)["localhost"]["changed"] == 0


@pytest.mark.parametrize("env", ["staging", "production"])
def test_preflight_refuses_the_sample_vault_placeholders(env):
    result = run_playbook(
        "playbooks/cluster.yml", "-i", f"inventories/{env}", *ONLY_ALWAYS, check=False
    )
    output = result.stdout + result.stderr
    assert "nothing has been changed" in output
    # gitserver is off outside local: the Gitea password is not demanded, the
    # external repository's token is.
    for name in (
        "vault_k3s_token",
        "vault_postgres_password",
        "vault_auth_signing_key",
        "vault_grafana_admin_password",
        "vault_argocd_admin_password",
        "vault_gitops_repo_token",
    ):
        assert f"{name} (" in output and "still holds its placeholder" in output, name
    assert "vault_gitea_admin_password (" not in output
    assert f"inventories/{env}/group_vars/all/vault.yml and encrypt" in output
    # The sample is plain text, and its nodes are documentation addresses.
    assert f"inventories/{env}/group_vars/all/vault.yml is not encrypted: {env} keeps" in output
    assert re.search(r"\b\S+-server-1 cannot be reached \(", output), output[-3000:]


def test_preflight_refuses_a_next_signing_key_left_a_placeholder(vault_values, sources, tmp_path):
    """The next key is optional, but once given a value it must be a real one."""
    result = run_preflight(
        "inventories/staging",
        vault_values,
        "-e",
        runnable(tmp_path / "overrides.json", sources, ansible_connection="local"),
        "-e",
        json.dumps({"vault_auth_next_signing_key": "<the next Ed25519 private key, PEM>"}),
        check=False,
    )
    output = result.stdout + result.stderr
    assert "nothing has been changed" in output
    assert "vault_auth_next_signing_key (" in output and "still holds its placeholder" in output


def test_preflight_lists_every_inventory_problem_at_once(tmp_path, vault_values, sources):
    # Both nodes answer (connection local: this machine stands in for each); a
    # plain vault file beside the inventory; one chart repository and the k3s
    # release server behind a closed port.
    (tmp_path / "group_vars" / "all").mkdir(parents=True)
    (tmp_path / "group_vars" / "all" / "vault.yml").write_text("vault_note: not sealed\n")
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": {"localhost": {"ansible_connection": "local"}},
                    "vars": {
                        "titanium_environment": "Dev",
                        "k3s_cluster_cidr": "10.42.0.0/16",
                        "k3s_service_cidr": "10.42.128.0/17",
                        "titanium_node_cidr": "192.168.0.0/24",
                    },
                    "children": {
                        "k3s_servers": {
                            "hosts": {
                                "s1": {
                                    "ansible_host": "192.168.0.11",
                                    "ansible_connection": "local",
                                },
                                "s2": {"ansible_host": "10.42.3.4", "ansible_connection": "local"},
                            }
                        },
                        "k3s_agents": {"hosts": {"s1": {}}},
                    },
                }
            }
        )
    )
    closed = f"http://127.0.0.1:{closed_port()}"
    result = run_preflight(
        str(inventory),
        vault_values,
        "-e",
        overrides_file(
            tmp_path / "overrides.json",
            {
                **sources,
                "vault_redis_password": "<placeholder>",
                "k3s_release_url": f"{closed}/k3s",
                "logging_chart_repo_url": f"{closed}/charts",
                "istio_version": "1.27.3",
                "k3s_version": "v1.35.6+k3s1",
            },
        ),
        check=False,
    )
    output = result.stdout + result.stderr
    assert "Preflight found 14 problem(s); nothing has been changed" in output
    assert "environment name 'Dev' is not usable: lowercase letters, digits and '-'" in output
    assert 'titanium_environment is \\"Dev\\" with no values' in output
    assert "vault_redis_password (Redis AUTH password) still holds its placeholder" in output
    assert "k3s_servers has 2 hosts: embedded etcd needs an odd number" in output
    assert "hosts in both k3s_servers and k3s_agents: s1" in output
    assert "k3s_cluster_cidr (10.42.0.0/16) overlaps k3s_service_cidr (10.42.128.0/17)" in output
    assert "s2 (10.42.3.4) lies inside k3s_cluster_cidr" in output
    assert f"{tmp_path}/group_vars/all/vault.yml is not encrypted: Dev keeps its secrets" in output
    for node in ("s1", "s2"):
        assert f"{node} does not run systemd as PID 1" in output
        assert f"{node} cannot fetch k3s v1.35.6+k3s1 from k3s_release_url {closed}/k3s (" in output
    assert f"logging_chart_repo_url {closed}/charts does not serve its index.yaml (" in output
    assert "monitoring_chart_repo_url http" not in output  # served by the mirror
    assert (
        "istio_version 1.27.3 supports Kubernetes 1.29 to 1.33, but k3s_version v1.35.6+k3s1 "
        "is Kubernetes 1.35" in output
    )


def test_preflight_refuses_nodeports_claimed_twice(tmp_path, vault_values, sources):
    result = run_preflight(
        "inventories/local",
        vault_values,
        "-e",
        runnable(
            tmp_path / "overrides.json",
            sources,
            gitserver_http_nodeport=31304,
            # local runs Bookinfo: productpage's NodePort is claimed too.
            gitops_bookinfo_nodeport=30080,
        ),
        check=False,
    )
    output = result.stdout + result.stderr
    assert "Preflight found 2 problem(s); nothing has been changed" in output, output[-3000:]
    assert (
        "istio_gateway_http_nodeport and gitserver_http_nodeport are all 31304: "
        "give each its own NodePort" in output
    )
    assert (
        "argocd_server_nodeport and gitops_bookinfo_nodeport are all 30080: "
        "give each its own NodePort" in output
    )


def test_preflight_names_missing_tools_and_air_gap_directories(tmp_path, vault_values, sources):
    missing = tmp_path / "no-such-dir"
    result = run_preflight(
        "inventories/local",
        vault_values,
        "-e",
        runnable(
            tmp_path / "overrides.json",
            sources,
            preflight_tools=[
                {"name": "helm", "min_version": "99.0.0"},
                {"name": "titanium-no-such-tool", "min_version": "1.0", "why": "a test"},
            ],
            titanium_airgap_dir=str(missing),
            k3s_airgap_dir=str(missing),
        ),
        check=False,
    )
    output = result.stdout + result.stderr
    assert "Preflight found 4 problem(s); nothing has been changed" in output, output[-3000:]
    assert re.search(r"helm \d+\.\d+\.\d+ \(\S+/helm\) is older than 99\.0\.0", output)
    assert "titanium-no-such-tool >= 1.0 is not on the controller's PATH (a test): " in output
    assert f"titanium_airgap_dir {missing} is not a directory on the controller" in output
    assert f"k3s_airgap_dir {missing} is not a directory on the controller" in output


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("missing", "does not exist: point it at the kubeconfig of your cluster"),
        ("wrong-context", "k3s_context titanium-local is not a context in"),
        ("unreachable", "of context titanium-local is unreachable"),
    ],
)
def test_preflight_explains_an_unusable_existing_cluster(
    tmp_path, vault_values, sources, setup, expected
):
    kubeconfig = tmp_path / "kubeconfig.yaml"
    if setup != "missing":
        with socket.socket() as probe:  # a port nothing listens on
            probe.bind(("127.0.0.1", 0))
            closed_port = probe.getsockname()[1]
        context = "titanium-local" if setup == "unreachable" else "kind-other"
        kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {"name": "c", "cluster": {"server": f"https://127.0.0.1:{closed_port}"}}
                    ],
                    "users": [{"name": "u", "user": {"token": "not-a-real-token"}}],
                    "contexts": [{"name": context, "context": {"cluster": "c", "user": "u"}}],
                }
            )
        )
    result = run_preflight(
        "inventories/local",
        vault_values,
        "-e",
        runnable(tmp_path / "overrides.json", sources),
        "-e",
        f"k3s_provider=existing k3s_kubeconfig={kubeconfig} preflight_api_timeout=2",
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert expected in output, output[-3000:]
    if setup == "wrong-context":
        assert "it has: kind-other" in output


# --- argument_specs ----------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("k3s_api_port", "six-four-four-three"),
        ("preflight_api_timeout", "soon"),
    ],
)
def test_argument_specs_stop_bad_input_naming_the_variable(
    variable, value, vault_values, sources, tmp_path
):
    result = run_preflight(
        "inventories/local",
        vault_values,
        "-e",
        runnable(tmp_path / "overrides.json", sources),
        "-e",
        json.dumps({variable: value}),
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Validating arguments against arg spec" in output
    assert re.search(rf"argument '?{variable}'? is of type", output) or (
        f"{variable}" in output and "could not" in output.lower()
    ), output[-3000:]


def test_a_bad_provider_is_reported_by_its_inventory_name(vault_values, sources, tmp_path):
    result = run_preflight(
        "inventories/local",
        vault_values,
        "-e",
        runnable(tmp_path / "overrides.json", sources),
        "-e",
        "k3s_provider=kind",
        check=False,
    )
    assert 'k3s_provider is \\"kind\\": set it to k3s' in result.stdout + result.stderr


# --- the k3s role's templates -------------------------------------------------

RENDER_PLAYBOOK = """
- name: Render the k3s node files into a directory of this test
  hosts: k3s_servers:k3s_agents
  gather_facts: false
  vars:
    ansible_connection: local
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
    ansible_become: false
    k3s_config_dir: "{{ render_root }}/{{ inventory_hostname }}/etc/rancher/k3s"
    k3s_systemd_dir: "{{ render_root }}/{{ inventory_hostname }}/etc/systemd/system"
  tasks:
    - name: Render the configuration as the role does
      ansible.builtin.include_role:
        name: titanium.platform.k3s
        tasks_from: config.yml
"""

DEFAULTS_INVENTORY = {
    "all": {
        "children": {
            "k3s_servers": {"hosts": {"s1": {"ansible_host": "198.51.100.1"}}},
            "k3s_agents": {"hosts": {"a1": {"ansible_host": "198.51.100.2"}}},
        }
    }
}


@pytest.mark.parametrize("source", ["defaults", *INVENTORIES])
def test_k3s_files_render_from_defaults_and_each_inventory(source, tmp_path, vault_values):
    if source == "defaults":
        inventory = tmp_path / "hosts.yml"
        inventory.write_text(yaml.safe_dump(DEFAULTS_INVENTORY))
    else:
        inventory = REPO_ROOT / "inventories" / source
    playbook = tmp_path / "render.yml"
    playbook.write_text(RENDER_PLAYBOOK)
    token = json.loads(vault_values.read_text())["vault_k3s_token"]
    args = [str(playbook), "-i", str(inventory), "-e", f"@{vault_values}"]
    args += ["-e", json.dumps({"render_root": str(tmp_path / "nodes"), "k3s_token": token})]
    first = run_playbook(*args, check=True)

    listing = inventory_hosts(inventory)
    servers = listing["k3s_servers"].get("hosts", [])
    agents = listing.get("k3s_agents", {}).get("hosts", [])
    hostvars = listing["_meta"]["hostvars"]
    group_vars = hostvars.get(servers[0], {})
    endpoint = hostvars.get(servers[0], {}).get("ansible_host", servers[0])
    assert set(recap(first.stdout)) >= set(servers + agents)

    for host in servers + agents:
        root = tmp_path / "nodes" / host
        config_text = (root / "etc/rancher/k3s/config.yaml").read_text()
        config = yaml.safe_load(config_text)
        assert config["token-file"].endswith("/etc/rancher/k3s/token")
        assert token not in config_text, "the join token must stay out of config.yaml"
        assert (root / "etc/rancher/k3s/token").read_text() == token + "\n"
        assert (root / "etc/rancher/k3s/token").stat().st_mode & 0o777 == 0o600
        assert (root / "etc/rancher/k3s/config.yaml").stat().st_mode & 0o777 == 0o600
        is_server = host in servers
        unit_name = "k3s.service" if is_server else "k3s-agent.service"
        unit = (root / "etc/systemd/system" / unit_name).read_text()
        mode = "server" if is_server else "agent"
        assert re.search(
            rf"^ExecStart=/usr/local/bin/k3s {mode} --config \S+/config.yaml$", unit, re.M
        )
        if host == servers[0]:
            assert config["cluster-init"] is True and "server" not in config
        else:
            assert config["server"] == f"https://{endpoint}:6443" and "cluster-init" not in config
        if is_server:
            assert "traefik" in config["disable"]
            assert endpoint in config["tls-san"]
            expected_cidr = group_vars.get("k3s_cluster_cidr", K3S_DEFAULTS["k3s_cluster_cidr"])
            assert config["cluster-cidr"] == expected_cidr
            assert config["service-cidr"] == group_vars.get(
                "k3s_service_cidr", K3S_DEFAULTS["k3s_service_cidr"]
            )
        else:
            assert "disable" not in config and "cluster-cidr" not in config

    if source != "staging":  # the biggest inventory stands for all below
        return
    # Rendering again changes nothing; --check --diff agrees.
    second = run_playbook(*args, check=True)
    assert all(counts["changed"] == 0 for counts in recap(second.stdout).values()), second.stdout
    checked = run_playbook(*args, "--check", "--diff", check=True)
    assert all(counts["changed"] == 0 for counts in recap(checked.stdout).values())


def test_k3s_check_mode_shows_a_config_change_without_making_it(tmp_path, vault_values):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump(DEFAULTS_INVENTORY))
    playbook = tmp_path / "render.yml"
    playbook.write_text(RENDER_PLAYBOOK)
    args = [str(playbook), "-i", str(inventory), "-e", f"@{vault_values}"]
    args += ["-e", json.dumps({"render_root": str(tmp_path / "nodes"), "k3s_token": "t0ken"})]
    run_playbook(*args, check=True)
    config = tmp_path / "nodes/s1/etc/rancher/k3s/config.yaml"
    before = config.read_text()
    checked = run_playbook(
        *args, "--check", "--diff", "-e", "k3s_cluster_dns=10.43.0.53", check=True
    )
    assert "+cluster-dns: 10.43.0.53" in checked.stdout
    assert "-cluster-dns: 10.43.0.10" in checked.stdout
    assert "t0ken" not in checked.stdout
    assert config.read_text() == before


# --- playbooks/reset.yml --------------------------------------------------------


def test_reset_refuses_without_confirmation():
    result = run_playbook("playbooks/reset.yml", "-i", "inventories/staging", check=False)
    assert "re-run with -e titanium_reset_confirm=true" in result.stdout + result.stderr
    assert "Reset the node" not in result.stdout


def test_reset_never_touches_an_adopted_cluster(vault_values):
    # Provider existing: the node play must skip every host, so this is safe
    # to run on the local inventory (whose server is this machine).
    result = run_playbook(
        "playbooks/reset.yml",
        "-i",
        "inventories/local",
        "-e",
        "titanium_reset_confirm=true k3s_provider=existing",
        check=True,
    )
    assert "Remove the files" not in result.stdout
    assert all(counts["changed"] == 0 for counts in recap(result.stdout).values())


@pytest.mark.skipif(
    Path("/run/systemd/system").is_dir(), reason="this machine runs systemd, so k3s could start"
)
def test_preflight_stops_before_changing_a_node_without_systemd(vault_values, sources, tmp_path):
    # This machine is the local inventory's server; check mode on top, so
    # nothing could change even if the guard were gone. The k3s role refuses
    # such a node too (node.yml), but preflight comes first.
    result = run_playbook(
        "playbooks/cluster.yml",
        "-i",
        "inventories/local",
        "--check",
        "-e",
        f"@{vault_values}",
        "-e",
        overrides_file(tmp_path / "overrides.json", sources),
    )
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "Preflight found 1 problem(s); nothing has been changed" in output
    assert "localhost does not run systemd as PID 1 (found " in output
    assert "`make rehearsal` runs this site.yml against a simulated cluster" in output
    assert "PLAY [Bootstrap the k3s servers]" not in output
    assert recap(result.stdout)["localhost"]["changed"] == 0


# --- air-gap install -------------------------------------------------------------

AIRGAP_PLAYBOOK = """
- name: Install k3s from an air-gap directory into a directory of this test
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Install as the role does
      ansible.builtin.include_role:
        name: titanium.platform.k3s
        tasks_from: install_airgap.yml
"""


def make_airgap_dir(root: Path) -> Path:
    airgap = root / "airgap"
    airgap.mkdir()
    (airgap / "k3s").write_bytes(b"#!/bin/sh\necho stand-in\n")
    (airgap / "k3s-airgap-images-amd64.tar.zst").write_bytes(b"images" * 100)
    sums = subprocess.run(
        ["sha256sum", "k3s", "k3s-airgap-images-amd64.tar.zst"],
        cwd=airgap,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (airgap / "sha256sum-amd64.txt").write_text(sums)
    return airgap


def airgap_args(root: Path, airgap: Path) -> list[str]:
    playbook = root / "airgap.yml"
    playbook.write_text(AIRGAP_PLAYBOOK)
    variables = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "k3s_airgap_dir": str(airgap),
        "k3s_arch": "amd64",
        "k3s_binary_name": "k3s",
        "k3s_install_dir": str(root / "node/usr/local/bin"),
        "k3s_data_dir": str(root / "node/var/lib/rancher/k3s"),
    }
    (root / "node/usr/local/bin").mkdir(parents=True)
    return [str(playbook), "-i", "localhost,", "-e", json.dumps(variables)]


def test_airgap_install_copies_verified_files_once(tmp_path):
    airgap = make_airgap_dir(tmp_path)
    args = airgap_args(tmp_path, airgap)
    first = run_playbook(*args, check=True)
    assert recap(first.stdout)["localhost"]["changed"] == 3  # images dir, binary, images
    node = tmp_path / "node"
    assert (node / "usr/local/bin/k3s").read_bytes() == (airgap / "k3s").read_bytes()
    assert (node / "usr/local/bin/k3s").stat().st_mode & 0o777 == 0o755
    images = node / "var/lib/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar.zst"
    assert images.read_bytes() == (airgap / "k3s-airgap-images-amd64.tar.zst").read_bytes()
    second = run_playbook(*args, check=True)
    assert recap(second.stdout)["localhost"]["changed"] == 0


@pytest.mark.parametrize("tampered", ["k3s", "k3s-airgap-images-amd64.tar.zst"])
def test_airgap_install_refuses_a_file_that_fails_its_checksum(tmp_path, tampered):
    airgap = make_airgap_dir(tmp_path)
    with (airgap / tampered).open("ab") as file:
        file.write(b"tampered")
    result = run_playbook(*airgap_args(tmp_path, airgap), check=False)
    output = result.stdout + result.stderr
    assert "does not hold a verified k3s" in output and "nothing was installed" in output
    assert not (tmp_path / "node/usr/local/bin/k3s").exists()


# --- the kubeconfig fetched to the controller -------------------------------------

KUBECONFIG_PLAYBOOK = """
- name: Fetch the kubeconfig as the first server does
  hosts: k3s_servers
  gather_facts: false
  tasks:
    - name: Fetch as the role does
      ansible.builtin.include_role:
        name: titanium.platform.k3s
        tasks_from: kubeconfig.yml
"""


def kubeconfig_args(root: Path) -> list[str]:
    """A first server (this machine, connection local) whose k3s wrote an admin
    kubeconfig the way k3s does: everything named `default`, server 127.0.0.1."""
    etc = root / "etc/rancher/k3s"
    etc.mkdir(parents=True)
    (etc / "k3s.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "default",
                        "cluster": {
                            "certificate-authority-data": "Q0EtREFUQQ==",
                            "server": "https://127.0.0.1:6443",
                        },
                    }
                ],
                "users": [
                    {
                        "name": "default",
                        "user": {
                            "client-certificate-data": "Q0VSVA==",
                            "client-key-data": "S0VZ",
                        },
                    }
                ],
                "contexts": [
                    {"name": "default", "context": {"cluster": "default", "user": "default"}}
                ],
                "current-context": "default",
            }
        )
    )
    inventory = root / "hosts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "children": {
                        "k3s_servers": {
                            "hosts": {
                                "localhost": {
                                    "ansible_connection": "local",
                                    "ansible_python_interpreter": sys.executable,
                                    "ansible_host": "203.0.113.5",
                                }
                            }
                        }
                    }
                }
            }
        )
    )
    playbook = root / "kubeconfig.yml"
    playbook.write_text(KUBECONFIG_PLAYBOOK)
    variables = {
        "k3s_config_dir": str(etc),
        "k3s_kubeconfig": str(root / "kube/titanium-test.yaml"),
        "k3s_context": "titanium-test",
    }
    return [str(playbook), "-i", str(inventory), "-e", json.dumps(variables)]


def test_kubeconfig_is_written_as_a_named_context_once(tmp_path):
    args = kubeconfig_args(tmp_path)
    first = run_playbook(*args, check=True)
    assert "S0VZ" not in first.stdout, "the client key must never be logged"
    written = tmp_path / "kube/titanium-test.yaml"
    assert written.stat().st_mode & 0o777 == 0o600
    config = yaml.safe_load(written.read_text())
    assert [c["name"] for c in config["contexts"]] == ["titanium-test"]
    assert config["current-context"] == "titanium-test"
    assert config["contexts"][0]["context"] == {"cluster": "titanium-test", "user": "titanium-test"}
    assert config["clusters"][0]["cluster"] == {
        "certificate-authority-data": "Q0EtREFUQQ==",
        "server": "https://203.0.113.5:6443",
    }
    assert config["users"][0]["user"]["client-key-data"] == "S0VZ"
    assert recap(run_playbook(*args, check=True).stdout)["localhost"]["changed"] == 0


def test_kubeconfig_never_overwrites_a_file_with_other_contexts(tmp_path):
    args = kubeconfig_args(tmp_path)
    existing = tmp_path / "kube/titanium-test.yaml"
    existing.parent.mkdir()
    existing.write_text(
        yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "contexts": [{"name": "kind-dev"}]})
    )
    before = existing.read_text()
    result = run_playbook(*args, check=False)
    assert "already holds other contexts (kind-dev)" in result.stdout + result.stderr
    assert existing.read_text() == before
