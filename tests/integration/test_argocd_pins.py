"""The Argo CD binary the tests built reports argocd_version, the release the
versions role pins (the pins' agreement: tests/unit/test_versions.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from titanium_tools.versions import pins

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_built_binary_reports_the_pinned_release():
    binary = REPO_ROOT / "build/bin/argocd-server"
    assert binary.exists(), f"{binary} is missing: run `make setup-argocd`"
    out = subprocess.run(
        [str(binary), "version", "--short"], capture_output=True, text=True, check=True
    )
    assert out.stdout.split()[-1] == pins()["ARGOCD_VERSION"], out.stdout
