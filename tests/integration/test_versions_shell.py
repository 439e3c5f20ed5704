"""The setup scripts read the pins (scripts/setup/versions.sh) exactly as the
Python side does (titanium_tools/versions.py): one reading of one file."""

from __future__ import annotations

import subprocess
from pathlib import Path

from titanium_tools.versions import SHELL_NAMES, pins, platform

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_shell_reads_the_pins_as_python_does():
    names = sorted(pins())
    shell = subprocess.run(
        [
            "bash",
            "-c",
            'set -euo pipefail; source scripts/setup/versions.sh; pin_lines "$@"',
            "-",
            *names,
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert dict(line.split("=", 1) for line in shell.splitlines()) == pins()
    assert set(SHELL_NAMES.values()) <= set(platform())
