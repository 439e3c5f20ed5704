#!/usr/bin/python
# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: gitops_seed
short_description: Commit and push a rendered GitOps tree, only when it differs
description:
  - Clones O(repo) (a local path, C(file://), SSH or HTTPS URL), makes the O(paths) it manages
    equal to O(src), and commits and pushes only when the content differs. A second run with
    the same tree reports C(changed=false) and makes no commit.
  - Touches nothing outside O(paths). Never force-pushes. A branch that moved on the remote
    fails with a non-fast-forward error; the operator runs again.
  - Never follows a symbolic link, so nothing outside the clone is read, written or deleted,
    in check mode or not. Under O(paths) a link in the repository is replaced by what O(src)
    holds there, or deleted (the link, not its target). A link above O(paths), an
    O(image_tags_file) that is a link, or any link in O(src) fails with C(error_kind=input),
    naming the link and what to do.
  - Two further operations serve the runbooks. O(image_tags) rewrites image tags in one
    kustomization (promotion). O(revert_matching) reverts the newest commit whose message
    matches (rollback), once, with the rest of its group when O(revert_group_trailer) is given.
  - Credentials reach git through the environment (C(GIT_ASKPASS)), never its command line,
    and every message is scrubbed of them. SSH remotes are reached with C(BatchMode)
    (no prompt, keys only) and host keys checked.
  - Failures name the remote (without credentials) and say what to do, in C(msg);
    C(error_kind) is one of C(auth), C(host-key), C(non-fast-forward), C(rejected),
    C(unreachable), C(conflict), C(input).
  - A local working tree (a folder with C(.git)) is changed by fast-forward from a clone, so
    check mode and failures leave it untouched.
version_added: "0.1.0"
author:
  - Titanium contributors (@titanium-platform)
options:
  repo:
    description:
      - Repository to seed, as a local path or a C(file://), C(ssh://), C(git@) or
        C(https://) URL.
    type: str
    required: true
  branch:
    description: Branch to commit to. Created if the repository does not have it yet.
    type: str
    default: main
  src:
    description: Rendered tree to write. Its files must all lie under O(paths).
    type: path
  paths:
    description: Repository folders this module owns; files there that O(src) lacks are deleted.
    type: list
    elements: str
    default: []
  preserve:
    description:
      - Files under O(paths) that are written only when missing, never overwritten
        (the image tags the promote runbook owns once seeded).
    type: list
    elements: str
    default: []
  image_tags:
    description: Image name to new tag, written as C(newTag) in O(image_tags_file).
    type: dict
  image_tags_file:
    description: Kustomization or component holding the C(images) list O(image_tags) changes.
    type: str
  revert_matching:
    description:
      - Extended regular expression; the newest commit whose message matches is
        reverted, once.
    type: str
  revert_path:
    description: Only consider commits that touched this path when looking for O(revert_matching).
    type: str
  revert_group_trailer:
    description:
      - Git trailer key that groups commits into one change (the promote runbook's
        C(Titanium-Promotion)). The newest commit matching O(revert_matching) is reverted
        together with every other matching commit carrying the same trailer value, as one
        commit; a matching commit without the trailer is reverted alone.
      - Refused with C(error_kind=conflict), naming them, when commits outside the group
        changed the same files after its oldest commit.
    type: str
  revert_group:
    description:
      - Trailer value of the group to revert instead of the newest one. Needs
        O(revert_group_trailer).
    type: str
  trailers:
    description:
      - Git trailers (key to a one-line value) appended to the commit message, such as
        C(Titanium-Promotion) for O(revert_group_trailer) to find.
    type: dict
  commit_message:
    description: Commit message. Reverts default to C(rollback:) followed by the reverted subject.
    type: str
    default: Seed the GitOps repository
  author_name:
    description: Commit author name.
    type: str
    default: Titanium GitOps
  author_email:
    description: Commit author e-mail.
    type: str
    default: gitops@titanium.invalid
  username:
    description: HTTPS username.
    type: str
  password:
    description: HTTPS password or token. Never logged, never in a message.
    type: str
  ssh_private_key_file:
    description:
      - Private key on the host running the module for an SSH remote (C(ssh://) or
        C(user@host:path)), offered alone (C(IdentitiesOnly)). Without it ssh offers the
        running user's default keys.
      - It must be readable by its owner only and have no passphrase (ssh runs without a
        terminal); both are checked before connecting. Its content never appears in a message.
    type: path
  ssh_known_hosts_file:
    description:
      - Known-hosts file holding the SSH remote's host key, as C(ssh-keyscan) prints it,
        checked out of band. Without it ssh reads the running user's C(~/.ssh/known_hosts)
        and C(/etc/ssh/ssh_known_hosts).
      - Host keys are always checked strictly (C(StrictHostKeyChecking=yes)); a host
        missing from the file or with a different key fails, naming host-key verification.
    type: path
  ssh_accept_new_host_keys:
    description:
      - Trust and record an SSH host key seen for the first time
        (C(StrictHostKeyChecking=accept-new)); a changed key still fails. Leave it off
        unless the first connection is known to reach the right server.
    type: bool
    default: false
notes:
  - Supports C(check_mode) (computes the commit without making it) and C(diff_mode)
    (returns the unified diff).
  - Needs C(git) on the host that runs it.
"""

EXAMPLES = r"""
- name: Seed the rendered staging tree
  gitops_seed:
    repo: https://git.example.com/titanium/gitops.git
    username: titanium
    password: "{{ vault_gitops_token }}"
    src: /tmp/render/staging
    paths: [argocd/staging, services/base, services/overlays/staging, platform/staging]
    preserve: [services/overlays/staging/images/kustomization.yaml]
    commit_message: Seed staging from Titanium

- name: Seed over SSH with a deploy key and the server's recorded host key
  gitops_seed:
    repo: ssh://git@git.example.com/titanium/gitops.git
    ssh_private_key_file: ~/.ssh/titanium_gitops_deploy
    ssh_known_hosts_file: "{{ playbook_dir }}/files/git.example.com.known_hosts"
    src: /tmp/render/staging
    paths: [argocd/staging, services/base, services/overlays/staging, platform/staging]

- name: Promote blog-service to 1.4.0 in staging
  gitops_seed:
    repo: /srv/git/titanium-gitops.git
    image_tags:
      ghcr.io/titanium-platform/titanium-blog-service: 1.4.0
    image_tags_file: services/overlays/staging/images/kustomization.yaml
    commit_message: promote blog-service to 1.4.0 in staging

- name: Roll back the last promotion in staging
  gitops_seed:
    repo: file:///srv/git/titanium-gitops.git
    revert_matching: "^promote .* in staging$"
    revert_path: services/overlays/staging

- name: Roll back every commit of the newest promotion in staging, as one commit
  gitops_seed:
    repo: file:///srv/git/titanium-gitops.git
    revert_matching: "^promote .* in staging$"
    revert_path: services/overlays/staging
    revert_group_trailer: Titanium-Promotion
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

from ansible_collections.titanium.platform.plugins.module_utils.git_seed import (
    Credentials,
    SeedError,
    looks_like_key_material,
    seed,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "repo": {"type": "str", "required": True},
            "branch": {"type": "str", "default": "main"},
            "src": {"type": "path"},
            "paths": {"type": "list", "elements": "str", "default": []},
            "preserve": {"type": "list", "elements": "str", "default": []},
            "image_tags": {"type": "dict"},
            "image_tags_file": {"type": "str"},
            "revert_matching": {"type": "str"},
            "revert_path": {"type": "str"},
            "revert_group_trailer": {"type": "str"},
            "revert_group": {"type": "str"},
            "trailers": {"type": "dict"},
            "commit_message": {"type": "str", "default": "Seed the GitOps repository"},
            "author_name": {"type": "str", "default": "Titanium GitOps"},
            "author_email": {"type": "str", "default": "gitops@titanium.invalid"},
            "username": {"type": "str"},
            "password": {"type": "str", "no_log": True},
            # Paths and a switch, not secrets: they stay readable in logs.
            "ssh_private_key_file": {"type": "path", "no_log": False},
            "ssh_known_hosts_file": {"type": "path", "no_log": False},
            "ssh_accept_new_host_keys": {"type": "bool", "default": False, "no_log": False},
        },
        mutually_exclusive=[("src", "image_tags", "revert_matching")],
        required_one_of=[("src", "image_tags", "revert_matching")],
        required_by={
            "src": ("paths",),
            "image_tags": ("image_tags_file",),
            "revert_group": ("revert_group_trailer",),
        },
        supports_check_mode=True,
    )
    params = module.params
    key_file = params["ssh_private_key_file"]
    if key_file and looks_like_key_material(key_file):
        # Keep a key pasted in place of its path out of every result, invocation included.
        module.no_log_values.add(key_file)
    credentials = Credentials(
        username=params["username"],
        password=params["password"],
        ssh_private_key_file=params["ssh_private_key_file"],
        ssh_known_hosts_file=params["ssh_known_hosts_file"],
        ssh_accept_new_host_keys=params["ssh_accept_new_host_keys"],
    )
    try:
        result = seed(
            params["repo"],
            branch=params["branch"],
            src=params["src"],
            paths=params["paths"],
            preserve=params["preserve"],
            image_tags=params["image_tags"],
            image_tags_file=params["image_tags_file"],
            revert_matching=params["revert_matching"],
            revert_path=params["revert_path"],
            revert_group_trailer=params["revert_group_trailer"],
            revert_group=params["revert_group"],
            trailers=params["trailers"],
            message=params["commit_message"],
            author=(params["author_name"], params["author_email"]),
            credentials=credentials,
            check_mode=module.check_mode,
            want_diff=module._diff,
        )
    except SeedError as exc:
        module.fail_json(msg=str(exc), error_kind=exc.kind)
    output = result.as_dict()
    if module._diff and result.changed:
        output["diff"] = {"prepared": result.diff}
    module.exit_json(**output)


if __name__ == "__main__":
    main()
