"""Every chart a role installs goes through the air gap: declared once in the
role's vars (<role>_helm_charts, which playbooks/airgap.yml gathers), installed
from the directory's .tgz when titanium_airgap_dir is set, and its repository
left alone offline. A role that installs a chart any other way would send an
offline run to the internet, and its images would never be gathered."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]


def tasks(path: Path):
    for task in yaml.safe_load(path.read_text()) or []:
        yield task
        for key in ("block", "rescue", "always"):
            yield from task.get(key, [])


HELM_TASKS = [
    (path, task)
    for path in sorted(REPO_ROOT.glob("roles/*/tasks/*.yml"))
    for task in tasks(path)
    if "kubernetes.core.helm" in task or "kubernetes.core.helm_repository" in task
]


def test_the_roles_install_charts():
    assert len([t for _, t in HELM_TASKS if "kubernetes.core.helm" in t]) >= 6


@pytest.mark.parametrize(
    ("path", "task"),
    HELM_TASKS,
    ids=[f"{p.relative_to(REPO_ROOT)}:{t['name']}" for p, t in HELM_TASKS],
)
def test_each_chart_install_goes_through_the_air_gap(path, task):
    role = path.parts[-3]
    if "kubernetes.core.helm_repository" in task:
        assert task.get("when") == "titanium_airgap_dir | default('') | length == 0", (
            f"{path}: the repository must be skipped offline"
        )
        return
    declarations = path.parents[1] / "vars/main.yml"
    declared = yaml.safe_load(declarations.read_text()) if declarations.is_file() else {}
    loop = task.get("loop", "")
    looped = [name for name in declared if name.endswith("_helm_charts") and name in loop]
    assert len(looped) == 1 and looped[0].startswith(f"{role}_"), (
        f"{path}: install from a loop over the role's own <role>_helm_charts (vars/main.yml)"
    )
    charts = looped[0]
    helm = task["kubernetes.core.helm"]
    assert (
        helm["chart_ref"]
        == "{{ item | titanium.platform.chart_ref(titanium_airgap_dir | default('')) }}"
    )
    assert helm["chart_version"] == "{{ item.version }}"
    verified = [
        t
        for t in tasks(path)
        if t.get("ansible.builtin.include_role", {}).get("tasks_from") == "verify.yml"
        and charts in t.get("vars", {}).get("airgap_verify_files", "")
    ]
    assert verified, f"{path}: the charts of {charts} are not checked against SHA256SUMS first"
