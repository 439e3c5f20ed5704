#!/usr/bin/python
# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: gitops_render
short_description: Render Titanium's GitOps repository for one environment
description:
  - Renders the Jinja2 templates and values in O(source) for O(environment) into O(dest),
    the same renderer C(make render) and the render tests use.
  - Output is deterministic. The module reports C(changed) only when a file in O(dest) is
    added, modified or removed, so a second run reports C(changed=false).
  - Bad input fails before anything is written, naming the environment, image tag or
    variable at fault.
version_added: "0.1.0"
author:
  - Titanium contributors (@titanium-platform)
options:
  environment:
    description:
      - Environment to render, named after its inventory; it names the environment's folders
        in the repository.
    type: str
    required: true
  values:
    description:
      - The environment's values (namespace, hostname, image tags, sizing), as its inventory
        states them in C(titanium_environment_values); merged over C(values/common.yml) of
        O(source).
    type: dict
    required: true
  source:
    description: The C(gitops/) source folder.
    type: path
    required: true
  dest:
    description: Folder to render into; files the render does not produce are removed.
    type: path
    required: true
  repo_url:
    description: Repository URL Argo CD reads (written into the Applications and AppProject).
    type: str
  repo_revision:
    description: Branch or tag Argo CD tracks.
    type: str
  image_tags:
    description: Service name to image tag, overriding the environment's values.
    type: dict
    default: {}
  image_digests:
    description:
      - Service name to the digest its tag names in the registry
        (M(titanium.platform.image_digest)), pinned beside the tag in the environment's
        images component.
    type: dict
    default: {}
  image_pull_secret:
    description:
      - Whether the blog's ServiceAccounts name the Secret C(titanium-registry) as their image
        pull secret (the registry wants credentials). Unset keeps the values'
        C(image_pull_secret) (false).
    type: bool
  ingress_trusted_proxies:
    description:
      - HTTP proxies in front of the ingress gateway that append to X-Forwarded-For, as the
        istio role configures the gateway; the api-gateway trusts one hop more (the gateway's
        own). Unset keeps the values' C(ingress_trusted_proxies).
    type: int
  tracing_enabled:
    description:
      - Whether the environment runs the trace store (the tracing role's C(tracing_enabled)),
        so that the services are given its OTLP endpoint and the mesh's Telemetry names it.
        Unset keeps the values' C(tracing.enabled) (true).
    type: bool
  mesh_access_log:
    description:
      - Whether the mesh's sidecars log every request (the istio role's C(istio_enabled)), so that
        the services log only errors and slow requests themselves. Unset keeps the values'
        C(mesh_access_log) (true).
    type: bool
  auth_next_signing_key:
    description:
      - Whether a signing-key rotation is under way, so that auth-service mounts the Secret
        C(titanium-auth-next-signing-key) and publishes its key. Unset keeps the values'
        C(auth_next_signing_key) (false).
    type: bool
  bookinfo_nodeport:
    description:
      - productpage's NodePort where the environment runs Bookinfo (C(bookinfo.enabled)).
        Unset keeps the values' C(bookinfo.nodeport).
    type: int
  bookinfo_reviews_route:
    description:
      - How the reviews VirtualService routes (C(weights) of versions summing to 100, an
        optional C(user) routed to C(user_version) by its end-user header), as the Bookinfo
        traffic runbook sets it. Unset keeps the values' C(bookinfo.reviews_route).
    type: dict
notes:
  - Supports C(check_mode) and C(diff_mode) (lists the files that would change).
"""

EXAMPLES = r"""
- name: Render staging for the in-cluster Git server
  titanium.platform.gitops_render:
    environment: staging
    values: "{{ titanium_environment_values }}"
    source: "{{ playbook_dir }}/../gitops"
    dest: /tmp/titanium-gitops/staging
    repo_url: http://gitserver.titanium-git.svc.cluster.local/titanium/titanium-gitops.git
"""

RETURN = r"""
files:
  description: Number of files rendered.
  returned: always
  type: int
  sample: 64
managed_paths:
  description: Repository paths this environment's render owns (pass to gitops_sync).
  returned: always
  type: list
  elements: str
  sample: [argocd/staging, services/base, services/overlays/staging, platform/staging]
images_file:
  description: The component holding the environment's image tags (promotion edits it).
  returned: always
  type: str
  sample: services/overlays/staging/images/kustomization.yaml
preserved_files:
  description:
    - Files the seed writes only while missing, because a runbook owns them once seeded
      (pass to gitops_sync's C(preserve)) - the images component, and Bookinfo's reviews
      route where Bookinfo is on.
  returned: always
  type: list
  elements: str
  sample:
    - services/overlays/staging/images/kustomization.yaml
    - bookinfo/staging/routing/reviews.yaml
routing_file:
  description: Bookinfo's reviews route in the repository (the traffic runbook commits it).
  returned: always
  type: str
  sample: bookinfo/staging/routing/reviews.yaml
changed_files:
  description: Files added, modified or removed in O(dest).
  returned: always
  type: list
  elements: str
"""

from pathlib import Path

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.titanium.platform.plugins.module_utils.gitops_render import (
    RENDER_IMPORT_ERROR,
    RenderError,
    managed_paths,
    render,
    write_tree,
)


def current_tree(dest: Path) -> dict:
    if not dest.is_dir():
        return {}
    files = sorted(p for p in dest.rglob("*") if p.is_file())
    return {p.relative_to(dest).as_posix(): p.read_text() for p in files}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "environment": {"type": "str", "required": True},
            "values": {"type": "dict", "required": True},
            "source": {"type": "path", "required": True},
            "dest": {"type": "path", "required": True},
            "repo_url": {"type": "str"},
            "repo_revision": {"type": "str"},
            "image_tags": {"type": "dict", "default": {}},
            "image_digests": {"type": "dict", "default": {}},
            "image_pull_secret": {"type": "bool"},
            "ingress_trusted_proxies": {"type": "int"},
            "auth_next_signing_key": {"type": "bool"},
            "tracing_enabled": {"type": "bool"},
            "mesh_access_log": {"type": "bool"},
            "bookinfo_nodeport": {"type": "int"},
            "bookinfo_reviews_route": {"type": "dict"},
        },
        supports_check_mode=True,
    )
    if RENDER_IMPORT_ERROR is not None:
        module.fail_json(
            msg=missing_required_lib("jinja2 and PyYAML"), exception=str(RENDER_IMPORT_ERROR)
        )
    params = module.params
    overrides = {}
    if params["repo_url"]:
        overrides["repo_url"] = params["repo_url"]
    if params["repo_revision"]:
        overrides["repo_revision"] = params["repo_revision"]
    if params["image_tags"]:
        overrides["image_tags"] = params["image_tags"]
    if params["image_digests"]:
        overrides["image_digests"] = params["image_digests"]
    if params["image_pull_secret"] is not None:
        overrides["image_pull_secret"] = params["image_pull_secret"]
    if params["ingress_trusted_proxies"] is not None:
        overrides["ingress_trusted_proxies"] = params["ingress_trusted_proxies"]
    if params["auth_next_signing_key"] is not None:
        overrides["auth_next_signing_key"] = params["auth_next_signing_key"]
    if params["tracing_enabled"] is not None:
        overrides["tracing"] = {"enabled": params["tracing_enabled"]}
    if params["mesh_access_log"] is not None:
        overrides["mesh_access_log"] = params["mesh_access_log"]
    bookinfo = {}
    if params["bookinfo_nodeport"] is not None:
        bookinfo["nodeport"] = params["bookinfo_nodeport"]
    if params["bookinfo_reviews_route"] is not None:
        bookinfo["reviews_route"] = params["bookinfo_reviews_route"]
    if bookinfo:
        overrides["bookinfo"] = bookinfo
    env = params["environment"]
    try:
        files = render(env, params["values"], Path(params["source"]), overrides)
    except RenderError as exc:
        module.fail_json(msg=str(exc))
    dest = Path(params["dest"])
    before = current_tree(dest)
    changed_files = sorted(
        path for path in set(before) | set(files) if before.get(path) != files.get(path)
    )
    if changed_files and not module.check_mode:
        write_tree(files, dest)
    images_file = f"services/overlays/{env}/images/kustomization.yaml"
    routing_file = f"bookinfo/{env}/routing/reviews.yaml"
    result = {
        "changed": bool(changed_files),
        "files": len(files),
        "managed_paths": managed_paths(env),
        "images_file": images_file,
        "routing_file": routing_file,
        "preserved_files": [images_file] + ([routing_file] if routing_file in files else []),
        "changed_files": changed_files,
    }
    if module._diff and changed_files:
        result["diff"] = {
            "before": "".join(f"{p}\n" for p in changed_files if p in before),
            "after": "".join(f"{p}\n" for p in changed_files if p in files),
            "before_header": f"{dest} (files)",
            "after_header": f"{dest} (files)",
        }
    module.exit_json(**result)


if __name__ == "__main__":
    main()
