"""The README's first command, `make up`, on a machine that cannot run k3s: it
installs only the operator's tools (make setup-operator), then site.yml stops in
preflight with every problem listed and nothing changed.

The k3s release server and the chart repositories are pointed at a closed port
(UP_ARGS), so the run stops in preflight on any machine, a connected one with
systemd included; whether this machine lacks systemd decides one more problem."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.support.ansible_run import recap
from tests.support.mirror import CHART_REPOSITORY_VARIABLES, closed_port, source_variables
from titanium_tools.versions import platform as platform_versions

REPO_ROOT = Path(__file__).resolve().parents[2]
K3S_VERSION = platform_versions()["k3s_version"]
# What a k3s install or a Helm release would leave on this machine.
FOOTPRINT = [
    Path("/usr/local/bin/k3s"),
    Path("/etc/rancher/k3s"),
    Path("/etc/systemd/system/k3s.service"),
    Path.home() / ".kube/titanium-local.yaml",
]


def test_make_up_stops_in_preflight_listing_every_problem_and_changes_nothing(tmp_path):
    closed = f"http://127.0.0.1:{closed_port()}"
    overrides = tmp_path / "sources.json"
    overrides.write_text(json.dumps(source_variables(closed)))
    before = {path: path.exists() for path in FOOTPRINT}
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    result = subprocess.run(
        ["make", "up", f"UP_ARGS=-e @{overrides}"],
        cwd=REPO_ROOT,
        env={**env, "ANSIBLE_NOCOLOR": "1"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0, output[-3000:]
    # The operator's setup only: nothing of the developer's toolchain.
    for developer_only in ("setup-cluster", "setup-checkov", "setup-services", "setup: ready"):
        assert developer_only not in output
    assert "setup-operator: ready" in output

    systemd = Path("/proc/1/comm").read_text().strip() == "systemd"
    expected = [
        f"localhost cannot fetch k3s {K3S_VERSION} from k3s_release_url {closed}/k3s (",
        *(
            f"{name} {closed}/charts/{name} does not serve its index.yaml ("
            for name in CHART_REPOSITORY_VARIABLES
        ),
    ]
    if not systemd:
        expected.append("localhost does not run systemd as PID 1 (found ")
    missing = [problem for problem in expected if problem not in output]
    assert not missing, missing
    # The pinned Istio supports the pinned k3s's Kubernetes: no problem there.
    assert " supports Kubernetes " not in output
    assert f"Preflight found {len(expected)} problem(s); nothing has been changed" in output, (
        output[-3000:]
    )

    # It stopped in preflight: no later play started, nothing changed.
    assert "PLAY [Bootstrap the k3s servers]" not in output
    assert "PLAY [Platform phase]" not in output
    assert recap(result.stdout)["localhost"]["changed"] == 0
    assert {path: path.exists() for path in FOOTPRINT} == before
