"""playbooks/reset.yml, run for real by ansible-playbook against aliases of this
machine: the agents go first, then the servers one at a time, the first server
last. k3s_provider `existing` skips the reset itself, so only the order is seen."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

INVENTORY = """
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: {python}
    k3s_provider: existing
  hosts:
    localhost:
  children:
    k3s_servers:
      hosts: {{server-1: , server-2: , server-3: }}
    k3s_agents:
      hosts: {{agent-1: , agent-2: }}
"""

TASK = re.compile(r"^TASK \[(?P<task>[^\]]*)\]", re.M)
HOST = re.compile(r"^(?:skipping|ok|changed): \[(?P<host>[^\]]+)\]", re.M)


def test_reset_goes_agents_first_then_servers_one_at_a_time(tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(INVENTORY.format(python=sys.executable))
    result = subprocess.run(
        [
            str(BIN / "ansible-playbook"),
            "playbooks/reset.yml",
            "-i",
            str(inventory),
            "-e",
            "titanium_reset_confirm=true",
            "--become-method=ansible.builtin.sudo",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            "PATH": f"{BIN}:/usr/bin:/bin",
            "HOME": str(Path.home()),
            "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
            "ANSIBLE_NOCOLOR": "1",
        },
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]

    # Each TASK header opens a batch; the hosts reported under it ran in it.
    headers = list(TASK.finditer(result.stdout))
    batches = []
    for header, following in zip(headers, [*headers[1:], None], strict=True):
        body = result.stdout[header.end() : following.start() if following else None]
        hosts = sorted(m["host"] for m in HOST.finditer(body))
        if hosts and header["task"].startswith("Reset"):
            batches.append(hosts)
    assert batches == [["agent-1", "agent-2"], ["server-3"], ["server-2"], ["server-1"]], (
        result.stdout
    )
