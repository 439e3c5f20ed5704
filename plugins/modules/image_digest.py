#!/usr/bin/python
# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resolve image tags to the digests a registry serves for them."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: image_digest
short_description: Resolve image tags to the manifest digests a container registry serves
description:
  - Reads the manifest each tag of O(images) names in O(registry) with C(skopeo) and returns its
    digest (the sha256 of the manifest as served, the digest a node pulls by).
  - A tag the registry does not have fails, naming the image, the tag and the tags the registry
    has, before the caller changes anything; so does an unreachable or refusing registry.
  - Reads only; C(changed) is always false, and check mode reads as well.
version_added: "0.2.0"
author:
  - Titanium contributors (@titanium-platform)
requirements:
  - skopeo on the controller (Debian and Ubuntu package C(skopeo))
options:
  registry:
    description: Registry host with an optional port and path, as images name it
      (C(ghcr.io/my-org)).
    type: str
    required: true
  images:
    description: Repository below O(registry) to its tag.
    type: dict
    required: true
  tls_verify:
    description: Require HTTPS with a verified certificate (false only for a plain-HTTP test
      registry).
    type: bool
    default: true
  auth:
    description:
      - Credentials as a Docker config JSON (what C(podman login --authfile) writes); empty reads
        anonymously.
    type: str
    default: ""
  retries:
    description: How many times C(skopeo) retries a failed request before giving up.
    type: int
    default: 2
"""

EXAMPLES = r"""
- name: Resolve blog-service 1.4.0 before promoting it
  titanium.platform.image_digest:
    registry: ghcr.io/titanium-platform
    images:
      titanium-blog-service: 1.4.0
    auth: "{{ image_registry_auth }}"
  register: resolved
"""

RETURN = r"""
digests:
  description: Repository to the digest of the manifest its tag names.
  returned: success
  type: dict
  sample:
    titanium-blog-service: sha256:ad7d1ff0802e9d6ba97bb5998c3edf54757a9ec604ed943cd69d6e91085cf7bd
"""

import hashlib
import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

# Enough to recognise the release one meant; the registry may hold thousands.
TAGS_SHOWN = 20


class RegistryError(Exception):
    pass


class Skopeo:
    def __init__(self, module: AnsibleModule, tls_verify: bool, authfile: str | None, retries: int):
        self.module = module
        self.binary = module.get_bin_path("skopeo")
        self.flags = [
            f"--tls-verify={'true' if tls_verify else 'false'}",
            f"--retry-times={retries}",
        ]
        self.flags += ["--authfile", authfile] if authfile else ["--no-creds"]

    def run(self, *args: str) -> bytes:
        if not self.binary:
            raise RegistryError(
                "skopeo is not installed on the controller: install it (apt-get install skopeo; "
                "`make up` does) to read image digests from the registry"
            )
        verb, reference = args
        rc, out, err = self.module.run_command(
            [self.binary, verb, *self.flags, *(["--raw"] if verb == "inspect" else []), reference],
            encoding=None,
        )
        if rc != 0:
            lines = err.decode("utf-8", "replace").strip().splitlines()
            raise RegistryError(lines[-1] if lines else f"skopeo {verb} exited with {rc}")
        return out


def resolve(skopeo: Skopeo, registry: str, repository: str, tag: str) -> str:
    reference = f"docker://{registry}/{repository}"
    try:
        return "sha256:" + hashlib.sha256(skopeo.run("inspect", f"{reference}:{tag}")).hexdigest()
    except RegistryError as failure:
        message = str(failure)
        if "manifest unknown" not in message:
            raise RegistryError(
                f"cannot read {registry}/{repository}:{tag} from the registry: {message}. "
                "Check image_registry, that the registry is reachable from the controller, "
                "and image_registry_auth"
            ) from None
    try:
        tags = json.loads(skopeo.run("list-tags", reference)).get("Tags") or []
    except (RegistryError, ValueError):
        tags = []
    shown = ", ".join(sorted(tags)[-TAGS_SHOWN:]) or "none"
    raise RegistryError(
        f"{registry} has no tag {tag!r} of {repository} (tags it has: {shown}). Publish the "
        "image with that tag first (README: release flow), or give a tag the registry has"
    )


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "registry": {"type": "str", "required": True},
            "images": {"type": "dict", "required": True},
            "tls_verify": {"type": "bool", "default": True},
            "auth": {"type": "str", "default": "", "no_log": True},
            "retries": {"type": "int", "default": 2},
        },
        supports_check_mode=True,
    )
    params = module.params
    authfile = None
    try:
        if params["auth"]:
            try:
                json.loads(params["auth"])
            except ValueError:
                module.fail_json(
                    msg="image_registry_auth is not a Docker config JSON: vault the file "
                    "`podman login --authfile FILE <registry>` writes, not a bare password"
                )
            handle, authfile = tempfile.mkstemp(prefix="titanium-registry-auth-", suffix=".json")
            with os.fdopen(handle, "w") as stream:  # mkstemp made it 0600
                stream.write(params["auth"])
        skopeo = Skopeo(module, params["tls_verify"], authfile, params["retries"])
        digests = {
            repository: resolve(skopeo, params["registry"], repository, str(tag))
            for repository, tag in sorted(params["images"].items())
        }
    except RegistryError as failure:
        module.fail_json(msg=str(failure))
    finally:
        if authfile:
            os.unlink(authfile)
    module.exit_json(changed=False, digests=digests)


if __name__ == "__main__":
    main()
