"""Fixtures shared by every tier."""

from pathlib import Path

import pytest
from ansible.plugins.loader import init_plugin_loader

REPO_ROOT = Path(__file__).resolve().parent.parent

# Ansible's collection finder, installed before any test module imports
# ansible_collections.titanium.platform: the checkout is that collection through
# build/collections (make setup), and a test that starts Ansible's plugin loader
# later must find the collection's packages already loaded the same way.
init_plugin_loader([str(REPO_ROOT / "build" / "collections")])


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
