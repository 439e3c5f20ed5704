"""The Argo CD binary the tests built reports the release pinned in
tests/cluster/versions.env (the pins' agreement: tests/unit/test_argocd_pins.py)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def pins() -> dict[str, str]:
    text = (REPO_ROOT / "tests/cluster/versions.env").read_text()
    return dict(re.findall(r"^([A-Z_]+)=(\S+)$", text, re.MULTILINE))


def test_the_built_binary_reports_the_pinned_release():
    binary = REPO_ROOT / "build/bin/argocd-server"
    assert binary.exists(), f"{binary} is missing: run `make setup-argocd`"
    out = subprocess.run(
        [str(binary), "version", "--short"], capture_output=True, text=True, check=True
    )
    assert out.stdout.split()[-1] == pins()["ARGOCD_VERSION"], out.stdout
