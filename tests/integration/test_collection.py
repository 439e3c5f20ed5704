"""The collection as its users get it: `ansible-galaxy collection build` makes an
artifact that installs without Galaxy, and the installed copy (not this checkout)
runs: its playbooks by FQCN, its roles, modules, module utilities, filters and the
GitOps source tree the roles render from."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from tests.support.ansible_run import BIN, REPO_ROOT
from tests.support.offline_values import offline_values

pytestmark = pytest.mark.slow

GALAXY = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())
FQCN = f"{GALAXY['namespace']}.{GALAXY['name']}"
# What a user's project needs besides the collection: nothing of this checkout.
USER_CONFIG = """\
[defaults]
collections_path = {collections}
vars_plugins_enabled = {fqcn}.vault, {fqcn}.secrets, ansible.builtin.host_group_vars
interpreter_python = auto_silent
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """The artifact, installed with --offline into a project that is not the checkout."""
    work = tmp_path_factory.mktemp("collection-user")
    collections = work / "collections"
    config = work / "ansible.cfg"
    config.write_text(USER_CONFIG.format(collections=collections, fqcn=FQCN))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["ANSIBLE_CONFIG"] = str(config)
    artifacts = work / "dist"
    subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(artifacts)],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    (artifact,) = artifacts.glob("*.tar.gz")
    # --offline: the dependencies are the ones the pinned ansible package carries.
    install = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "--offline", str(artifact)],
        cwd=work,
        env={**env, "ANSIBLE_COLLECTIONS_PATH": str(collections)},
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    root = collections / "ansible_collections" / GALAXY["namespace"] / GALAXY["name"]
    return {"work": work, "env": env, "artifact": artifact, "root": root}


def run(installed: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        list(args),
        cwd=installed["work"],
        env=installed["env"],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_artifact_holds_the_collection_and_none_of_the_developer_tree(installed):
    with tarfile.open(installed["artifact"]) as artifact:
        names = artifact.getnames()
    tops = {name.split("/")[0] for name in names}
    assert {"plugins", "roles", "playbooks", "meta", "gitops", "MANIFEST.json"} <= tops
    developer_tree = ("services", "molecule", "inventories", "build", "scripts", "titanium_tools")
    developer_tests = (
        "tests/unit",
        "tests/render",
        "tests/integration",
        "tests/support",
        "tests/cluster",
    )
    for absent in developer_tree + developer_tests:
        assert not any(n == absent or n.startswith(absent + "/") for n in names), absent
    manifest = json.loads((installed["root"] / "MANIFEST.json").read_text())
    assert manifest["collection_info"]["dependencies"] == GALAXY["dependencies"]


def test_the_user_project_resolves_the_collection_to_the_installed_copy(installed):
    doc = run(installed, str(BIN / "ansible-doc"), "-t", "module", f"{FQCN}.gitops_render")
    assert doc.returncode == 0, doc.stderr
    assert str(installed["root"] / "plugins/modules/gitops_render.py") in doc.stdout
    assert str(REPO_ROOT) + "/plugins" not in doc.stdout


def test_the_installed_site_playbook_is_found_by_its_fqcn(installed):
    inventory = installed["work"] / "hosts.yml"
    inventory.write_text("all:\n  hosts:\n    localhost:\n")
    result = run(
        installed,
        str(BIN / "ansible-playbook"),
        f"{FQCN}.site",
        "-i",
        str(inventory),
        "--list-tasks",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Every phase, with tasks from the installed roles.
    for play in ("Preflight checks", "Bootstrap the k3s servers", "Verify"):
        assert play in result.stdout
    assert f"{FQCN}.preflight" in result.stdout


def test_the_installed_role_renders_the_same_tree_as_the_checkout(installed, tmp_path):
    out = tmp_path / "from-installed"
    playbook = installed["work"] / "render.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Render staging from the installed collection",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "Render",
                            "ansible.builtin.include_role": {
                                "name": f"{FQCN}.gitops",
                                "tasks_from": "render.yml",
                            },
                        }
                    ],
                }
            ]
        )
    )
    variables = {
        "gitops_environment": "staging",
        # The tree alone: reading digests needs a registry (test_gitops_playbooks has one).
        "gitops_environment_values": offline_values("staging"),
        "gitops_render_dir": str(out),
        "gitops_clone_url": "https://git.example.com/titanium/gitops.git",
    }
    result = run(
        installed,
        str(BIN / "ansible-playbook"),
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        json.dumps({"ansible_python_interpreter": str(BIN / "python"), **variables}),
        str(playbook),
        "-v",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    checkout = tmp_path / "from-checkout"
    subprocess.run(
        [
            str(BIN / "python"),
            "-m",
            "titanium_tools.render",
            "staging",
            "--out",
            str(checkout),
        ],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    )

    def tree(root: Path) -> dict:
        return {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    rendered = tree(out)
    assert rendered, "the installed role rendered nothing"
    assert set(rendered) == set(tree(checkout))


def test_the_installed_preflight_stops_a_bad_inventory_with_its_filters(installed):
    inventory = installed["work"] / "bad"
    (inventory / "group_vars" / "all").mkdir(parents=True)
    (inventory / "hosts.yml").write_text(
        f"all:\n  hosts:\n    localhost:\n      ansible_python_interpreter: {BIN / 'python'}\n"
    )
    (inventory / "group_vars" / "all" / "cluster.yml").write_text(
        "k3s_cluster_cidr: 10.42.0.0/16\nk3s_service_cidr: 10.42.128.0/17\n"
    )
    result = run(
        installed,
        str(BIN / "ansible-playbook"),
        f"{FQCN}.cluster",
        "-i",
        str(inventory / "hosts.yml"),
        "-c",
        "local",
        "--tags",
        "always",
    )
    assert result.returncode != 0
    assert "overlaps" in result.stdout, result.stdout[-3000:]
    # The secret catalog travels with the collection: its vars plugin tells
    # preflight which vaulted variables the run needs.
    missing = "vault_postgres_password (PostgreSQL superuser) is not set"
    assert missing in result.stdout, result.stdout[-3000:]
