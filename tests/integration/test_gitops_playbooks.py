"""playbooks/gitops.yml and the promote/rollback runbooks, run by ansible-playbook
against a real bare repository (the Kubernetes registration is switched off here;
test_gitops_apply.py covers the manifests against a real API server)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.ansible_run import run_on_localhost

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV = "staging"
IMAGES = f"services/overlays/{ENV}/images/kustomization.yaml"


@pytest.fixture
def remote(tmp_path) -> Path:
    path = tmp_path / "gitops.git"
    subprocess.run(["git", "init", "--quiet", "--bare", "-b", "main", str(path)], check=True)
    return path


def playbook(remote: Path, tmp_path: Path, name: str, *args: str) -> subprocess.CompletedProcess:
    extra = {
        "titanium_environment": ENV,
        "gitserver_enabled": False,
        "gitops_repo_url": f"file://{remote}",
        "gitops_register_with_argocd": False,
        "gitops_render_dir": str(tmp_path / "render"),
    }
    return run_on_localhost(name, extra, *args)


def recap(result) -> str:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    return next(line for line in result.stdout.splitlines() if line.startswith("localhost "))


def log(remote: Path) -> list[str]:
    out = subprocess.run(
        ["git", "--git-dir", str(remote), "log", "--format=%s", "main"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.splitlines()


@pytest.mark.slow
def test_gitops_phase_seeds_once_then_promote_and_rollback_go_through_git(remote, tmp_path):
    check = playbook(remote, tmp_path, "playbooks/gitops.yml", "--check", "--diff")
    assert "changed=1" in recap(check)
    assert "+kind: AppProject" in check.stdout
    assert subprocess.run(
        ["git", "--git-dir", str(remote), "rev-parse", "--verify", "main"], capture_output=True
    ).returncode, "check mode must not push"

    assert "changed=1" in recap(playbook(remote, tmp_path, "playbooks/gitops.yml"))
    assert "changed=0" in recap(playbook(remote, tmp_path, "playbooks/gitops.yml"))
    assert log(remote) == [f"Seed {ENV} from Titanium"]

    promote = ("-e", "service=blog-service", "-e", "image_tag=1.4.0")
    assert "changed=1" in recap(
        playbook(remote, tmp_path, "playbooks/runbooks/promote.yml", *promote)
    )
    assert "changed=0" in recap(
        playbook(remote, tmp_path, "playbooks/runbooks/promote.yml", *promote)
    )
    assert "changed=0" in recap(playbook(remote, tmp_path, "playbooks/gitops.yml"))
    assert log(remote)[0] == f"promote blog-service to 1.4.0 in {ENV}"

    assert "changed=1" in recap(playbook(remote, tmp_path, "playbooks/runbooks/rollback.yml"))
    assert "changed=0" in recap(playbook(remote, tmp_path, "playbooks/runbooks/rollback.yml"))
    assert log(remote)[0] == f"rollback: promote blog-service to 1.4.0 in {ENV}"
    shown = subprocess.run(
        ["git", "--git-dir", str(remote), "show", f"main:{IMAGES}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "1.4.0" not in shown


@pytest.mark.parametrize(
    "args, complaint",
    [
        (("-e", "service=blog-service", "-e", "image_tag=latest"), "image_tag"),
        (("-e", "service=search-service", "-e", "image_tag=1.0.0"), "service"),
        (("-e", '{"service": "blog-service", "image_tag": "1.0 beta"}'), "image_tag"),
    ],
)
def test_promote_refuses_bad_input_before_touching_git(remote, tmp_path, args, complaint):
    result = playbook(remote, tmp_path, "playbooks/runbooks/promote.yml", *args)
    assert result.returncode != 0
    assert complaint in result.stdout + result.stderr
    assert subprocess.run(
        ["git", "--git-dir", str(remote), "rev-parse", "--verify", "main"], capture_output=True
    ).returncode
