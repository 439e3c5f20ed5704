"""NodePorts are named once, in the role that opens them; verify and the drills
reach them through that role's variables, so an inventory that moves one moves
every URL that points at it."""

from __future__ import annotations

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# Where NodePorts may be written as numbers: the roles that open them.
OWNERS = ("istio", "monitoring", "argocd", "gitserver")
OWNED = ("defaults", "meta", "README.md")
NODEPORT = re.compile(r"(?<![\d.])(3[0-2]\d{3})(?![\d.])")


def ansible_files() -> list[Path]:
    files = [REPO_ROOT / "site.yml", *(REPO_ROOT / "playbooks").rglob("*.yml")]
    for role in sorted((REPO_ROOT / "roles").iterdir()):
        for part in ("tasks", "defaults", "vars", "handlers", "meta"):
            files += sorted((role / part).rglob("*.yml"))
    return files


def owned(path: Path) -> bool:
    parts = path.relative_to(REPO_ROOT).parts
    return parts[0] == "roles" and parts[1] in OWNERS and parts[2] in OWNED


def test_no_nodeport_is_a_literal_outside_its_role():
    found = [
        f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}"
        for path in ansible_files()
        if not owned(path)
        for number, line in enumerate(path.read_text().splitlines(), 1)
        for port in NODEPORT.findall(line)
        if 30000 <= int(port) <= 32767
    ]
    assert not found, "NodePort literals outside their roles:\n" + "\n".join(found)
