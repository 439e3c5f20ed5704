#!/usr/bin/python
# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Set image tags in one kustomization of a GitOps repository (promotion)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: gitops_image_tags
short_description: Commit new image tags to one kustomization of a GitOps repository
description:
  - Writes each of O(tags) as the C(newTag) of its image in the C(images) list of O(file),
    and commits and pushes when a tag changed; a second run reports C(changed=false).
  - An image O(file) does not pin, or an O(file) that is a symbolic link, fails with
    C(error_kind=input) before anything is committed.
version_added: "0.2.0"
author:
  - Titanium contributors (@titanium-platform)
extends_documentation_fragment:
  - titanium.platform.git_remote
options:
  tags:
    description:
      - Image name to its new tag; C(TAG@sha256:DIGEST) also pins the digest the nodes pull
        (M(titanium.platform.image_digest) reads it from the registry), a bare tag drops any digest.
    type: dict
    required: true
  file:
    description: Kustomization or component, relative to the repository, holding the C(images) list.
    type: str
    required: true
  commit_message:
    description: Commit message.
    type: str
    required: true
  trailers:
    description:
      - Git trailers (key to a one-line value) appended to the commit message, such as
        C(Titanium-Promotion), which M(titanium.platform.gitops_revert) groups commits by.
    type: dict
"""

EXAMPLES = r"""
- name: Promote blog-service to 1.4.0 in staging
  titanium.platform.gitops_image_tags:
    remote:
      url: /srv/git/titanium-gitops.git
    tags:
      ghcr.io/titanium-platform/titanium-blog-service: 1.4.0
    file: services/overlays/staging/images/kustomization.yaml
    commit_message: promote blog-service to 1.4.0 in staging
    trailers:
      Titanium-Promotion: 20261130T001500Z-1a2b3c
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
            "tags": {"type": "dict", "required": True},
            "file": {"type": "str", "required": True},
            "commit_message": {"type": "str", "required": True},
            "trailers": {"type": "dict"},
        },
        supports_check_mode=True,
    )
    params = module.params
    run(
        module,
        image_tags=params["tags"],
        image_tags_file=params["file"],
        message=params["commit_message"],
        trailers=params["trailers"],
    )


if __name__ == "__main__":
    main()
