"""The foundation's promises that need a tool to check: the collections galaxy.yml
depends on are the ones installed (ansible-galaxy), and nothing tracked installs
from Galaxy (git grep). The rest: tests/unit/test_foundation.py."""

import json
import subprocess
import sys
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]


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


def test_nothing_calls_galaxy():
    # Installing an artifact built here (`make sanity`) is offline by its flag.
    found = subprocess.run(
        ["git", "grep", "-nE", "ansible-galaxy (collection|role) install", "--", ":!*.md"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    ).stdout.splitlines()
    offenders = [line for line in found if "--offline" not in line]
    assert offenders == []
