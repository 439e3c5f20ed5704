"""verify judges the Golden Signals by the service level objectives the alerts
render from (slo in gitops/values/common.yml), as ansible-playbook resolves the
role's defaults."""

from __future__ import annotations

import json

import yaml

from ansible_collections.titanium.platform.plugins.module_utils import gitops_render as gitops
from tests.support.ansible_run import REPO_ROOT, run_on_localhost


def test_verify_thresholds_are_the_slo(tmp_path):
    playbook = tmp_path / "slo.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Resolve verify's thresholds",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "ansible.builtin.import_role": {
                                "name": "titanium.platform.verify",
                                "tasks_from": "main.yml",
                            },
                            "when": False,
                        },
                        {
                            "ansible.builtin.debug": {
                                "msg": "SLO {{ [verify_max_error_5xx_percent | float,"
                                " verify_max_p95_ms | float] | to_json }}"
                            },
                            # Where the role's own tasks resolve its defaults: role_path
                            # is the role's directory there, undefined here.
                            "vars": {"role_path": str(REPO_ROOT / "roles/verify")},
                        },
                    ],
                }
            ]
        )
    )
    result = run_on_localhost(str(playbook), {})
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(line for line in result.stdout.splitlines() if "SLO [" in line)
    thresholds = json.loads(line.split("SLO ", 1)[1].strip().rstrip('"'))
    slo = gitops.common_values()["slo"]
    assert thresholds == [slo["max_error_5xx_percent"], slo["max_latency_ms"]]
