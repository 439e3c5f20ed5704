"""The real-cluster job (.github/workflows/e2e.yml) as the build machines cannot
run it: started by hand or on a schedule, reading the repository only, running
the README's `make up` on the local inventory, then verify, and uploading what
an operator needs to see why it failed whatever happened."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
E2E = yaml.safe_load((REPO_ROOT / ".github/workflows/e2e.yml").read_text())


def test_e2e_runs_by_hand_or_on_a_schedule_with_read_only_access():
    triggers = E2E[True]  # YAML 1.1 reads the key `on` as true
    assert set(triggers) == {"workflow_dispatch", "schedule"}
    assert E2E["permissions"] == {"contents": "read"}


def test_e2e_runs_make_up_then_verify_and_always_uploads_the_evidence():
    steps = E2E["jobs"]["up"]["steps"]
    runs = [step.get("run", "") for step in steps]
    up = next(i for i, run in enumerate(runs) if "make up" in run.splitlines())
    verify = next(
        i for i, run in enumerate(runs) if "playbooks/verify.yml -i inventories/local" in run
    )
    assert up < verify
    upload = next(
        step for step in steps if step.get("uses", "").startswith("actions/upload-artifact@")
    )
    assert upload["if"] == "always()"
    paths = upload["with"]["path"].split()
    assert "build/status/local.html" in paths and "build/logs/" in paths
