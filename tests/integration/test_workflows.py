"""The GitHub workflows' cache keys: every hashFiles() pattern matches a file Git
tracks (git ls-files). The workflows' security promises: tests/unit/test_workflows.py."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO_ROOT / ".github/workflows").glob("*.yml"))


HASH_FILES = re.compile(r"hashFiles\((?P<args>[^)]*)\)")


def _tracked_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    return listed.stdout.splitlines()


def _glob_regex(pattern: str) -> re.Pattern:
    # hashFiles' globs: `**` crosses folders, `*` and `?` stay within one.
    parts = re.split(r"(\*\*/?|\*|\?)", pattern)
    words = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(words.get(p, re.escape(p)) for p in parts))


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=[w.name for w in WORKFLOWS])
def test_every_hashfiles_pattern_matches_a_tracked_file(workflow):
    # A pattern that matches nothing hashes to the same key whatever changes, so
    # the cache is restored stale forever.
    tracked = _tracked_files()
    for call in HASH_FILES.finditer(workflow.read_text()):
        for pattern in re.findall(r"'([^']*)'", call["args"]):
            regex = _glob_regex(pattern)
            assert any(regex.fullmatch(path) for path in tracked), (
                f"{workflow.name}: hashFiles pattern {pattern!r} matches no tracked file"
            )
