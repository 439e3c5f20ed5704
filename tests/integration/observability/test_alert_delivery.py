"""Alerts reach someone: the local inventory's receiver, from a vault generated
afresh, rendered by ansible-playbook through the monitoring role, loaded into
the Alertmanager release the chart deploys, delivers to the alert inbox
(`make alert-inbox`) running as its own process.

The role's Alertmanager configuration and Secret are used as rendered; the test
only does what the Prometheus Operator would (mount the Secret's keys as files
where the configuration reads them) and shortens group_wait from 30 s."""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.support.alertmanager_server import running_alertmanager
from tests.support.ansible_run import fresh_local_inventory, run_with_env
from tests.support.servers import free_port

pytestmark = pytest.mark.slow
REPO_ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = REPO_ROOT / "roles/monitoring/templates"
# Where the Prometheus Operator mounts alertmanagerSpec.secrets.
MOUNTS = "/etc/alertmanager/secrets"


def render_local_monitoring(tmp_path: Path, inbox_url: str) -> tuple[dict, list[dict], str]:
    """(Helm values, Secrets, ansible-playbook -v output) for a copy of the local
    inventory whose vault scripts/local-vault.sh made just now."""
    inventory, env = fresh_local_inventory(tmp_path, TITANIUM_ALERT_INBOX_URL=inbox_url)
    vault = (inventory / "group_vars/all/vault.yml").read_text()
    assert vault.startswith("$ANSIBLE_VAULT;") and inbox_url not in vault
    out = tmp_path / "rendered"
    playbook = tmp_path / "render.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "The monitoring role's checks, its Alertmanager values and Secrets",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "ansible.builtin.import_role": {
                                "name": "titanium.platform.monitoring",
                                "tasks_from": "validate.yml",
                            }
                        },
                        *(
                            {
                                "ansible.builtin.copy": {
                                    "content": "{{ lookup('ansible.builtin.template', "
                                    f"'{TEMPLATES / name}') }}}}",
                                    "dest": str(out / name.removesuffix(".j2")),
                                    "mode": "0600",
                                },
                                "no_log": True,
                            }
                            for name in ("kube-prometheus-stack-values.yaml.j2", "secrets.yaml.j2")
                        ),
                    ],
                }
            ]
        )
    )
    out.mkdir()
    result = run_with_env(env, "-v", "-i", str(inventory), str(playbook))
    assert result.returncode == 0, result.stdout + result.stderr
    chart = yaml.safe_load((out / "kube-prometheus-stack-values.yaml").read_text())
    objects = list(yaml.safe_load_all((out / "secrets.yaml").read_text()))
    return chart, objects, result.stdout + result.stderr


def mount_secret(chart: dict, objects: list[dict], root: Path) -> dict:
    """The Alertmanager configuration with the Secret's keys as files under `root`,
    as the Operator mounts them, and group_wait shortened."""
    (name,) = chart["alertmanager"]["alertmanagerSpec"]["secrets"]
    (secret,) = [o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == name]
    folder = root / name
    folder.mkdir(parents=True)
    for key, value in (secret.get("data") or {}).items():
        (folder / key).write_bytes(base64.b64decode(value))
    text = yaml.safe_dump(chart["alertmanager"]["config"])
    assert f"{MOUNTS}/{name}/" in text, "the receivers read no file from the mounted Secret"
    config = yaml.safe_load(text.replace(f"{MOUNTS}/", f"{root}/"))
    config["route"]["group_wait"] = "1s"
    return config


def post_alerts(alertmanager_url: str, alerts: list[dict]) -> None:
    request = urllib.request.Request(  # noqa: S310  http only
        f"{alertmanager_url}/api/v2/alerts",
        data=json.dumps(alerts).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310  http only
        assert answer.status == 200


def read_until(process: subprocess.Popen, wanted: str, timeout: float) -> list[str]:
    lines, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line:
            lines.append(line.rstrip("\n"))
            if wanted in line:
                return lines
        elif process.poll() is not None:
            break
    raise AssertionError(f"the inbox never printed {wanted!r}; it printed {lines}")


def test_local_alerts_reach_the_inbox_from_the_vaulted_receiver(tmp_path):
    port = free_port()
    # A path no test or default would guess: proof the vault's URL is the one used.
    inbox_url = f"http://127.0.0.1:{port}/alerts/{secrets.token_hex(8)}"
    chart, objects, output = render_local_monitoring(tmp_path, inbox_url)
    assert inbox_url not in yaml.safe_dump(chart), "the receiver's URL is in the Helm values"
    assert inbox_url not in output, "ansible-playbook -v printed the receiver's URL"
    config = mount_secret(chart, objects, tmp_path / "mounts")
    assert config["route"]["receiver"] == "local-inbox"

    log = tmp_path / "inbox.jsonl"
    inbox = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "titanium_tools.alert_inbox",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log",
            str(log),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        read_until(inbox, "alert inbox on", 20)
        with running_alertmanager(tmp_path, config=config) as am:
            labels = {"namespace": "titanium-local", "service": "api-gateway"}
            post_alerts(
                am.url,
                [
                    {
                        "labels": {"alertname": "HighErrorRate", "severity": "critical", **labels},
                        "annotations": {
                            "summary": "api-gateway answers more than 5% of requests with 5xx",
                            "runbook_url": "https://runbooks.example/HighErrorRate",
                        },
                    },
                    {"labels": {"alertname": "Watchdog", "severity": "none"}},
                ],
            )
            (shown,) = [
                line for line in read_until(inbox, "HighErrorRate", 30) if "HighErrorRate" in line
            ]
            assert "FIRING | critical | HighErrorRate" in shown
            assert "service=api-gateway" in shown and "runbooks.example/HighErrorRate" in shown
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
                assert shown in page.read().decode()
            # The heartbeat goes to the null receiver; give it the same time to show up.
            time.sleep(3)
        notifications = [json.loads(line) for line in log.read_text().splitlines()]
        assert {n["receiver"] for n in notifications} == {"local-inbox"}
        names = {a["labels"]["alertname"] for n in notifications for a in n["alerts"]}
        assert names == {"HighErrorRate"}, names
    finally:
        inbox.terminate()
        inbox.wait(10)
