# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the GitOps repository modules (gitops_sync, gitops_image_tags,
gitops_revert) share: the `remote` and author options (documented in the
titanium.platform.git_remote doc fragment) and the one call into git_seed's
helper that each makes with its own operation."""

from __future__ import annotations

from ansible_collections.titanium.platform.plugins.module_utils.git_seed import (
    Credentials,
    SeedError,
    looks_like_key_material,
    seed,
)

SHARED_OPTIONS = {
    "remote": {
        "type": "dict",
        "required": True,
        "options": {
            "url": {"type": "str", "required": True},
            "branch": {"type": "str", "default": "main"},
            "username": {"type": "str"},
            "password": {"type": "str", "no_log": True},
            # Paths and a switch, not secrets: they stay readable in logs.
            "ssh_private_key_file": {"type": "path", "no_log": False},
            "ssh_known_hosts_file": {"type": "path", "no_log": False},
            "ssh_accept_new_host_keys": {"type": "bool", "default": False, "no_log": False},
        },
    },
    "author_name": {"type": "str", "default": "Titanium GitOps"},
    "author_email": {"type": "str", "default": "gitops@titanium.invalid"},
}


def run(module, **operation) -> None:
    """Seed with `operation` (git_seed.seed's src/image_tags/revert arguments) over
    the module's remote, and exit with the result or the failure's kind."""
    remote = module.params["remote"]
    # A remote assembled from unset inventory variables carries empty strings.
    given = {key: value for key, value in remote.items() if value not in ("", None)}
    key_file = given.get("ssh_private_key_file")
    if key_file and looks_like_key_material(key_file):
        # Keep a key pasted in place of its path out of every result, invocation included.
        module.no_log_values.add(key_file)
    credentials = Credentials(
        username=given.get("username"),
        password=given.get("password"),
        ssh_private_key_file=key_file,
        ssh_known_hosts_file=given.get("ssh_known_hosts_file"),
        ssh_accept_new_host_keys=bool(given.get("ssh_accept_new_host_keys")),
    )
    try:
        result = seed(
            remote["url"],
            branch=given.get("branch", "main"),
            author=(module.params["author_name"], module.params["author_email"]),
            credentials=credentials,
            check_mode=module.check_mode,
            want_diff=module._diff,
            **operation,
        )
    except SeedError as exc:
        module.fail_json(msg=str(exc), error_kind=exc.kind)
    output = result.as_dict()
    if module._diff and result.changed:
        output["diff"] = {"prepared": result.diff}
    module.exit_json(**output)
