"""The foundation's promises: pins are exact, collections never come from Galaxy,
and every role carries what DESIGN.md requires of it."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p for p in (REPO_ROOT / "roles").glob("*") if p.is_dir())


def installed_collections() -> dict[str, str]:
    listing = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-galaxy"),
            "collection",
            "list",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    )
    found: dict[str, str] = {}
    for collections in json.loads(listing.stdout).values():
        for name, info in collections.items():
            found.setdefault(name, info["version"])
    return found


def test_galaxy_dependencies_are_the_collections_the_ansible_package_carries():
    wanted = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())["dependencies"]
    installed = installed_collections()
    assert wanted, "galaxy.yml names no dependency"
    for name, version in wanted.items():
        assert name in installed, f"{name} is not installed"
        assert installed[name] == version, (
            f"galaxy.yml pins {name} {version} "
            f"but the pinned ansible package carries {installed[name]}"
        )


@pytest.mark.parametrize("lock", ["python.lock", "checkov.lock"])
def test_python_lock_pins_every_package_exactly_with_hashes(lock):
    text = (REPO_ROOT / "requirements" / lock).read_text()
    requirements = [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]
    assert requirements, f"{lock} lists no package"
    for line in requirements:
        assert re.match(r"^[A-Za-z0-9_.\-\[\],]+==[^\s]+ \\$", line), f"not an exact pin: {line}"
    assert text.count("--hash=sha256:") >= len(requirements)


def test_nothing_calls_galaxy():
    offenders = subprocess.run(
        ["git", "grep", "-lE", "ansible-galaxy (collection|role) install", "--", ":!*.md"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    ).stdout.split()
    assert offenders == []


def test_ci_entry_point_runs_the_readme_test_command():
    ci = (REPO_ROOT / ".ci/run").read_text()
    assert "make test" in ci
    readme = (REPO_ROOT / "README.md").read_text()
    assert "make test" in readme and "make up" in readme


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_every_role_has_defaults_argument_specs_and_readme(role):
    for required in ("defaults/main.yml", "meta/argument_specs.yml", "README.md"):
        assert (role / required).is_file(), f"{role.name} lacks {required}"
    defaults = yaml.safe_load((role / "defaults/main.yml").read_text()) or {}
    specs = yaml.safe_load((role / "meta/argument_specs.yml").read_text())["argument_specs"]
    documented = set()
    for entry in specs.values():
        for name, option in entry.get("options", {}).items():
            assert option.get("description"), f"{role.name}: {name} has no description"
            documented.add(name)
    undocumented = set(defaults) - documented
    assert not undocumented, f"{role.name}: defaults without argument_specs: {undocumented}"
    prefix = role.name.replace("-", "_")
    misnamed = [name for name in defaults if not name.startswith(prefix)]
    assert not misnamed, f"{role.name}: defaults not prefixed with {prefix}_: {misnamed}"
