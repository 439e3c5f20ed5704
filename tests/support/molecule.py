"""Running a Molecule scenario from a test the way `make molecule-*` does: from
the repository root, with this virtualenv's tools and the built binaries first
on PATH, reporting how long it took."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def molecule_env(**extra: str) -> dict[str, str]:
    """The environment a scenario runs in; `extra` adds to it (e.g. CONTAINERS_CONF)."""
    path = f"{REPO_ROOT / 'build/bin'}:{Path(sys.executable).parent}:{os.environ['PATH']}"
    return {**os.environ, "PATH": path, "NO_COLOR": "1", "ANSIBLE_NOCOLOR": "1", **extra}


def assert_scenario_passes(
    scenario: str, figures: Callable[[str], None], env: dict[str, str] | None = None
) -> None:
    """`molecule test -s SCENARIO`, its duration among the run's figures.

    The scenario asserts for itself (idempotence, its verifier): its status is
    the result, and the end of its output the failure report.
    """
    started = time.monotonic()
    result = subprocess.run(
        ["molecule", "test", "-s", scenario],
        env=env or molecule_env(),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    took = time.monotonic() - started
    figures(f"molecule test -s {scenario}: rc={result.returncode} in {took:.0f} s")
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
