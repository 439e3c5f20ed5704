#!/usr/bin/python
# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Revert the newest matching change in a GitOps repository (rollback)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: gitops_revert
short_description: Revert the newest commit (or group of commits) whose message matches
description:
  - Reverts the newest commit whose message matches O(matching), once, as a new commit
    C(rollback:) followed by the reverted subject; a second run finds the change already
    reverted and reports C(changed=false).
  - With O(group_trailer), every other matching commit carrying the same trailer value is
    reverted with it, as one commit; a matching commit without the trailer is reverted alone.
    Refused with C(error_kind=conflict), naming them, when commits outside the group changed
    the same files after its oldest commit.
version_added: "0.2.0"
author:
  - Titanium contributors (@titanium-platform)
extends_documentation_fragment:
  - titanium.platform.git_remote
options:
  matching:
    description: Extended regular expression the reverted commit's message matches.
    type: str
    required: true
  path:
    description: Only consider commits that touched this path.
    type: str
  group_trailer:
    description:
      - Git trailer key that groups commits into one change (the promote runbook's
        C(Titanium-Promotion)).
    type: str
  group:
    description:
      - Trailer value of the group to revert instead of the newest one. Needs O(group_trailer).
    type: str
"""

EXAMPLES = r"""
- name: Roll back every commit of the newest promotion in staging, as one commit
  titanium.platform.gitops_revert:
    remote:
      url: file:///srv/git/titanium-gitops.git
    matching: "^promote .* in staging$"
    path: services/overlays/staging
    group_trailer: Titanium-Promotion
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
            "matching": {"type": "str", "required": True},
            "path": {"type": "str"},
            "group_trailer": {"type": "str"},
            "group": {"type": "str"},
        },
        supports_check_mode=True,
    )
    params = module.params
    run(
        module,
        revert_matching=params["matching"],
        revert_path=params["path"],
        revert_group_trailer=params["group_trailer"],
        revert_group=params["group"],
    )


if __name__ == "__main__":
    main()
