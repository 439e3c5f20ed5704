#!/usr/bin/python
# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make folders of a GitOps repository equal to a rendered tree."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: gitops_sync
short_description: Commit and push a rendered GitOps tree, only when it differs
description:
  - Clones the O(remote), makes the O(paths) it manages equal to O(src), and commits and
    pushes only when the content differs. A second run with the same tree reports
    C(changed=false) and makes no commit.
  - Touches nothing outside O(paths).
  - Never follows a symbolic link, so nothing outside the clone is read, written or deleted,
    in check mode or not. Under O(paths) a link in the repository is replaced by what O(src)
    holds there, or deleted (the link, not its target). A link above O(paths) or any link
    in O(src) fails with C(error_kind=input), naming the link and what to do.
version_added: "0.2.0"
author:
  - Titanium contributors (@titanium-platform)
extends_documentation_fragment:
  - titanium.platform.git_remote
options:
  src:
    description: Rendered tree to write. Its files must all lie under O(paths).
    type: path
    required: true
  paths:
    description: Repository folders this module owns; files there that O(src) lacks are deleted.
    type: list
    elements: str
    required: true
  preserve:
    description:
      - Files under O(paths) that are written only when missing, never overwritten
        (the image tags the promote runbook owns once seeded).
    type: list
    elements: str
    default: []
  commit_message:
    description: Commit message.
    type: str
    default: Seed the GitOps repository
  trailers:
    description: Git trailers (key to a one-line value) appended to the commit message.
    type: dict
"""

EXAMPLES = r"""
- name: Seed the rendered staging tree
  titanium.platform.gitops_sync:
    remote:
      url: https://git.example.com/titanium/gitops.git
      username: titanium
      password: "{{ vault_gitops_repo_token }}"
    src: /tmp/render/staging
    paths: [argocd/staging, services/base, services/overlays/staging, platform/staging]
    preserve: [services/overlays/staging/images/kustomization.yaml]
    commit_message: Seed staging from Titanium

- name: Seed over SSH with a deploy key and the server's recorded host key
  titanium.platform.gitops_sync:
    remote:
      url: ssh://git@git.example.com/titanium/gitops.git
      ssh_private_key_file: ~/.ssh/titanium_gitops_deploy
      ssh_known_hosts_file: "{{ playbook_dir }}/files/git.example.com.known_hosts"
    src: /tmp/render/staging
    paths: [argocd/staging, services/base, services/overlays/staging, platform/staging]
"""

RETURN = r"""
commit:
  description: Commit the branch points at after the run (the new commit, or the unchanged head).
  returned: always
  type: str
  sample: 3f1c2a9d0b7e4c6f8a1d2e3b4c5d6e7f8a9b0c1d
previous_commit:
  description: Commit the branch pointed at before the run; null for a new branch.
  returned: always
  type: str
changed_files:
  description: Files the commit adds (A), modifies (M) or deletes (D).
  returned: always
  type: list
  elements: dict
  sample: [{"status": "M", "path": "services/overlays/staging/images/kustomization.yaml"}]
diff_summary:
  description: Counts of files, inserted and deleted lines; empty when nothing changed.
  returned: always
  type: dict
  sample: {"files": 1, "insertions": 1, "deletions": 1}
pushed:
  description: Whether a commit was pushed to a remote.
  returned: always
  type: bool
commit_message:
  description: Message of the commit made (or that check mode would make).
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.titanium.platform.plugins.module_utils.gitops_modules import (
    SHARED_OPTIONS,
    run,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **SHARED_OPTIONS,
            "src": {"type": "path", "required": True},
            "paths": {"type": "list", "elements": "str", "required": True},
            "preserve": {"type": "list", "elements": "str", "default": []},
            "commit_message": {"type": "str", "default": "Seed the GitOps repository"},
            "trailers": {"type": "dict"},
        },
        supports_check_mode=True,
    )
    params = module.params
    run(
        module,
        src=params["src"],
        paths=params["paths"],
        preserve=params["preserve"],
        message=params["commit_message"],
        trailers=params["trailers"],
    )


if __name__ == "__main__":
    main()
