"""An inventory that moves a NodePort moves every URL that points at it: verify's
and the drills' URLs rendered by ansible-playbook from an inventory override.
That no NodePort is written outside its role: tests/unit/test_nodeports.py."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.support.ansible_run import run_playbook

REPO_ROOT = Path(__file__).resolve().parents[2]


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
