# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options every GitOps repository module shares: where the repository is,
how to reach it, and who commits."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  remote:
    description:
      - The repository and how to reach it; the gitops role publishes it as C(gitops_remote).
      - Credentials reach git through the environment (C(GIT_ASKPASS)), never its command
        line, and every message is scrubbed of them. SSH remotes are reached with
        C(BatchMode) (no prompt, keys only) and host keys checked.
    type: dict
    required: true
    suboptions:
      url:
        description:
          - A local path or a C(file://), C(ssh://), C(git@) or C(https://) URL.
          - A local working tree (a folder with C(.git)) is changed by fast-forward from a
            clone, so check mode and failures leave it untouched.
        type: str
        required: true
      branch:
        description: Branch to commit to. Created if the repository does not have it yet.
        type: str
        default: main
      username:
        description: HTTPS username.
        type: str
      password:
        description: HTTPS password or token. Never logged, never in a message.
        type: str
      ssh_private_key_file:
        description:
          - Private key on the host running the module for an SSH remote, offered alone
            (C(IdentitiesOnly)). Without it ssh offers the running user's default keys.
          - It must be readable by its owner only and have no passphrase (ssh runs without
            a terminal); both are checked before connecting. Its content never appears in
            a message.
        type: path
      ssh_known_hosts_file:
        description:
          - Known-hosts file holding the SSH remote's host key, as C(ssh-keyscan) prints it,
            checked out of band. Without it ssh reads the running user's
            C(~/.ssh/known_hosts) and C(/etc/ssh/ssh_known_hosts).
          - Host keys are always checked strictly (C(StrictHostKeyChecking=yes)).
        type: path
      ssh_accept_new_host_keys:
        description:
          - Trust and record an SSH host key seen for the first time
            (C(StrictHostKeyChecking=accept-new)); a changed key still fails.
        type: bool
        default: false
  author_name:
    description: Commit author name.
    type: str
    default: Titanium GitOps
  author_email:
    description: Commit author e-mail.
    type: str
    default: gitops@titanium.invalid
notes:
  - Never force-pushes. A branch that moved on the remote fails with a non-fast-forward
    error; the operator runs again.
  - Failures name the remote (without credentials) and say what to do, in C(msg);
    C(error_kind) is one of C(auth), C(host-key), C(non-fast-forward), C(rejected),
    C(unreachable), C(conflict), C(input).
  - Supports C(check_mode) (computes the commit without making it) and C(diff_mode)
    (returns the unified diff). Needs C(git) on the host that runs it.
"""
