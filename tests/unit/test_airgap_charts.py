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
CHARTS_ROLE = REPO_ROOT / "roles/charts/tasks/main.yml"
# Every include of the one way charts are installed.
INSTALLS = [
    (path, task)
    for path in sorted(REPO_ROOT.glob("roles/*/tasks/*.yml"))
    for task in tasks(path)
    if task.get("ansible.builtin.include_role", {}).get("name") == "titanium.platform.charts"
]


def test_charts_are_installed_in_one_place_only():
    assert {path for path, _ in HELM_TASKS} == {CHARTS_ROLE}


def test_the_roles_install_their_charts_through_it():
    assert len(INSTALLS) >= 7


@pytest.mark.parametrize(
    ("path", "task"), INSTALLS, ids=[str(p.relative_to(REPO_ROOT)) for p, _ in INSTALLS]
)
def test_each_role_installs_its_own_declared_charts(path, task):
    role = path.parts[-3]
    declarations = path.parents[1] / "vars/main.yml"
    declared = yaml.safe_load(declarations.read_text()) if declarations.is_file() else {}
    releases = task["vars"]["charts_releases"]
    looped = [name for name in declared if name.endswith("_helm_charts") and name in releases]
    assert len(looped) == 1 and looped[0].startswith(f"{role}_"), (
        f"{path}: install the role's own <role>_helm_charts (vars/main.yml)"
    )


def test_offline_the_repository_is_left_alone_and_each_chart_checked_first():
    by_module = {
        module: task
        for task in tasks(CHARTS_ROLE)
        for module in ("kubernetes.core.helm_repository", "kubernetes.core.helm")
        if module in task
    }
    assert by_module["kubernetes.core.helm_repository"]["when"] == "charts_airgap_dir | length == 0"
    helm = by_module["kubernetes.core.helm"]["kubernetes.core.helm"]
    assert helm["chart_ref"] == "{{ item | titanium.platform.chart_ref(charts_airgap_dir) }}"
    assert helm["chart_version"] == "{{ item.version }}"
    (verify,) = [
        t
        for t in tasks(CHARTS_ROLE)
        if t.get("ansible.builtin.include_role", {}).get("tasks_from") == "verify.yml"
    ]
    assert "charts_releases" in verify["vars"]["airgap_verify_files"]
    assert verify["when"] == "charts_airgap_dir | length > 0"
    defaults = yaml.safe_load((REPO_ROOT / "roles/charts/defaults/main.yml").read_text())
    assert defaults["charts_airgap_dir"] == "{{ titanium_airgap_dir | default('') }}"
