"""The foundation's promises: pins are exact and every role carries what DESIGN.md
requires of it. That collections never come from Galaxy (ansible-galaxy, git
grep): tests/integration/test_foundation.py."""

import re
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p for p in (REPO_ROOT / "roles").glob("*") if p.is_dir())


@pytest.mark.parametrize("lock", ["python.lock", "checkov.lock"])
def test_python_lock_pins_every_package_exactly_with_hashes(lock):
    text = (REPO_ROOT / "requirements" / lock).read_text()
    requirements = [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]
    assert requirements, f"{lock} lists no package"
    for line in requirements:
        assert re.match(r"^[A-Za-z0-9_.\-\[\],]+==[^\s]+ \\$", line), f"not an exact pin: {line}"
    assert text.count("--hash=sha256:") >= len(requirements)


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
    # The versions role pins each release under the name of the role installing it.
    prefixes = tuple(
        dependent.parent.parent.name.replace("-", "_")
        for dependent in role.parent.glob("*/meta/main.yml")
        if f"titanium.platform.{role.name}" in dependent.read_text()
    ) or (role.name.replace("-", "_"),)
    misnamed = [name for name in defaults if not name.startswith(prefixes)]
    assert not misnamed, f"{role.name}: defaults not prefixed with {prefixes}: {misnamed}"
