"""`molecule test -s k3s`: the k3s role's host side in Debian containers under
podman (see molecule/k3s/README.md), as part of `make test`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCENARIO = REPO_ROOT / "molecule/k3s"


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_molecule_k3s_scenario_passes(capsys):
    if shutil.which("podman") is None:
        pytest.skip("podman is missing: `make setup` installs it (requirements/apt.txt)")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "CONTAINERS_CONF": str(SCENARIO / "containers.conf"),
        "NO_COLOR": "1",
        "ANSIBLE_NOCOLOR": "1",
    }
    subprocess.run(
        [str(REPO_ROOT / "scripts/molecule/debian-image.sh")], env=env, check=True, cwd=REPO_ROOT
    )
    started = time.monotonic()
    result = subprocess.run(
        ["molecule", "test", "-s", "k3s"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    took = time.monotonic() - started
    with capsys.disabled():
        print(f"\nmolecule test -s k3s: rc={result.returncode} in {took:.0f} s")
    output = result.stdout + result.stderr
    # The scenario asserts for itself (idempotence, verify.yml): its status is the result.
    assert result.returncode == 0, output[-6000:]
