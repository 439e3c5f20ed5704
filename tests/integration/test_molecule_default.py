"""`molecule test -s default`: site.yml end to end on the simulated cluster
(see molecule/default/README.md), as part of `make test`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_molecule_default_scenario_passes(capsys):
    env = {
        **os.environ,
        "PATH": f"{REPO_ROOT / 'build/bin'}:{Path(sys.executable).parent}:{os.environ['PATH']}",
        "NO_COLOR": "1",
        "ANSIBLE_NOCOLOR": "1",
    }
    started = time.monotonic()
    result = subprocess.run(
        ["molecule", "test", "-s", "default"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    took = time.monotonic() - started
    with capsys.disabled():
        print(f"\nmolecule test -s default: rc={result.returncode} in {took:.0f} s")
    output = result.stdout + result.stderr
    # The scenario asserts for itself (idempotence, verify.yml): its status is the result.
    assert result.returncode == 0, output[-6000:]
