"""The local inventory gives Gitea's push webhook and Argo CD the same secret, so a
push to the in-cluster repository is live in seconds (the rehearsal measures it),
not at Argo CD's next poll. Rendered by ansible-playbook from a copy of the local
inventory with a vault generated afresh, as on a new machine."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.support.ansible_run import fresh_local_inventory, run_with_env

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_local_inventory_signs_and_checks_the_push_webhook(tmp_path):
    inventory, env = fresh_local_inventory(tmp_path)
    playbook = tmp_path / "webhook.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Render both ends of the webhook",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [
                        *(
                            {
                                "ansible.builtin.import_role": {
                                    "name": f"titanium.platform.{role}",
                                    "tasks_from": "main.yml",
                                },
                                "when": False,
                            }
                            for role in ("argocd", "gitserver")
                        ),
                        {
                            "ansible.builtin.assert": {
                                "that": [
                                    "argocd_webhook_gogs_secret | length >= 32",
                                    "argocd_webhook_gogs_secret == gitserver_argocd_webhook_secret",
                                ],
                                "quiet": True,
                            }
                        },
                    ],
                }
            ]
        )
    )
    result = run_with_env(env, "-i", str(inventory), str(playbook))
    assert result.returncode == 0, result.stdout + result.stderr
