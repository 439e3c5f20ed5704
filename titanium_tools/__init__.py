"""The developer's command-line tools over the titanium.platform collection:
rendering the GitOps tree (`python -m titanium_tools.render`) and validating it
(`python -m titanium_tools.validate`). They import the collection's code the way
Ansible does, so they must be run after `make setup` linked the checkout into
build/collections."""

from __future__ import annotations

from pathlib import Path

from ansible.utils.collection_loader import AnsibleCollectionConfig

REPO_ROOT = Path(__file__).resolve().parent.parent

# Ansible's collection finder serves every ansible_collections import; a
# process that has one already (pytest's conftest, Ansible itself) keeps it.
if AnsibleCollectionConfig.collection_finder is None:
    from ansible.plugins.loader import init_plugin_loader

    init_plugin_loader([str(REPO_ROOT / "build" / "collections")])
