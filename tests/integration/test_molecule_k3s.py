"""`molecule test -s k3s`: the k3s role's host side in Debian containers under
podman (see molecule/k3s/README.md), as part of `make test`."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support.molecule import REPO_ROOT, assert_scenario_passes, molecule_env

SCENARIO = REPO_ROOT / "molecule/k3s"


@pytest.mark.slow
@pytest.mark.long(380)
@pytest.mark.timeout(1500)
def test_molecule_k3s_scenario_passes(figures):
    if shutil.which("podman") is None:
        pytest.skip("podman is missing: `make setup` installs it (requirements/apt.txt)")
    env = molecule_env(CONTAINERS_CONF=str(SCENARIO / "containers.conf"))
    subprocess.run(
        [str(REPO_ROOT / "scripts/molecule/debian-image.sh")], env=env, check=True, cwd=REPO_ROOT
    )
    assert_scenario_passes("k3s", figures, env=env)
