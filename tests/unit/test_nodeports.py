"""NodePorts are named once, in the role that opens them; verify and the drills
reach them through that role's variables, so an inventory that moves one moves
every URL that points at it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.support.ansible_run import run_playbook

REPO_ROOT = Path(__file__).resolve().parents[2]
# Where NodePorts may be written as numbers: the roles that open them.
OWNERS = ("istio", "monitoring", "argocd", "gitserver")
OWNED = ("defaults", "meta", "README.md")
NODEPORT = re.compile(r"(?<![\d.])(3[0-2]\d{3})(?![\d.])")


def ansible_files() -> list[Path]:
    files = [REPO_ROOT / "site.yml", *(REPO_ROOT / "playbooks").rglob("*.yml")]
    for role in sorted((REPO_ROOT / "roles").iterdir()):
        for part in ("tasks", "defaults", "vars", "handlers", "meta"):
            files += sorted((role / part).rglob("*.yml"))
    return files


def owned(path: Path) -> bool:
    parts = path.relative_to(REPO_ROOT).parts
    return parts[0] == "roles" and parts[1] in OWNERS and parts[2] in OWNED


def test_no_nodeport_is_a_literal_outside_its_role():
    found = [
        f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}"
        for path in ansible_files()
        if not owned(path)
        for number, line in enumerate(path.read_text().splitlines(), 1)
        for port in NODEPORT.findall(line)
        if 30000 <= int(port) <= 32767
    ]
    assert not found, "NodePort literals outside their roles:\n" + "\n".join(found)


def test_an_inventory_nodeport_reaches_verify_and_the_drills(tmp_path):
    inventory = tmp_path / "inventory"
    (inventory / "group_vars" / "all").mkdir(parents=True)
    (inventory / "hosts.yml").write_text(
        yaml.safe_dump({"all": {"hosts": {"localhost": {"ansible_connection": "local"}}}})
    )
    (inventory / "group_vars" / "all" / "main.yml").write_text(
        yaml.safe_dump({"titanium_environment": "local", "istio_gateway_http_nodeport": 31999})
    )
    playbook = tmp_path / "urls.yml"
    # The same loading verify.yml and the drills do, then verify's own defaults.
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Render the URLs",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "ansible.builtin.import_tasks": str(
                                REPO_ROOT / "playbooks/runbooks/tasks/nodeport-defaults.yml"
                            )
                        },
                        {
                            "ansible.builtin.import_role": {
                                "name": "titanium.platform.verify",
                                "tasks_from": "main.yml",
                            },
                            "when": False,
                        },
                        {
                            "ansible.builtin.debug": {
                                "msg": "ingress={{ verify_ingress_url }} "
                                "prometheus={{ verify_prometheus_url }}"
                            }
                        },
                    ],
                }
            ]
        )
    )
    result = run_playbook("-i", str(inventory), str(playbook), check=True)
    assert "ingress=http://127.0.0.1:31999" in result.stdout
    # The defaults still come from the owning role where the inventory is silent.
    assert "prometheus=http://127.0.0.1:30090" in result.stdout
