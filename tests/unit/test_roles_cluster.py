"""The cluster phase's roles read without running them: preflight falls back to
the k3s role's own defaults. ansible-playbook runs of preflight and k3s live in
tests/integration/test_roles_cluster.py."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
K3S_DEFAULTS = yaml.safe_load((REPO_ROOT / "roles/k3s/defaults/main.yml").read_text())


def test_preflight_network_fallbacks_are_the_k3s_defaults():
    text = (REPO_ROOT / "roles/preflight/defaults/main.yml").read_text()
    for name in ("k3s_cluster_cidr", "k3s_service_cidr"):
        fallback = re.search(rf"{name} \| default\('([^']+)'\)", text)
        assert fallback, f"preflight no longer falls back for {name}"
        assert fallback.group(1) == K3S_DEFAULTS[name]
