#!/usr/bin/python
# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ensure a Gitea repository and its push webhooks through Gitea's API."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: gitea_repository
short_description: Ensure a Gitea repository exists with the push webhooks it should have
description:
  - Waits until Gitea answers C(/api/healthz), checks that the credentials are the owner's,
    then creates the repository (empty, so that the first push gives it its history) when it
    does not exist, and creates or corrects each webhook listed in O(webhooks), matched by
    its target URL. Webhooks not listed are left alone.
  - Gitea never returns a webhook's secret, so the module stores a fingerprint of it in the
    webhook's name (the first 16 hex digits of HMAC-SHA256 keyed by the secret); a changed
    secret is therefore seen, and an unchanged one changes nothing. Gitea's API cannot edit
    a webhook's secret, so a webhook whose secret changed is deleted and created anew.
  - Supports check mode (reads only and reports what it would create or change) and diff
    mode (the repository's and the webhooks' settings, never a secret or a password).
version_added: "0.1.0"
author: Titanium contributors (@titanium-platform)
options:
  url:
    description: Gitea's base URL as the controller reaches it, e.g. C(http://127.0.0.1:30030).
    type: str
    required: true
  username:
    description: The user who owns the repository (Titanium uses Gitea's admin).
    type: str
    required: true
  password:
    description: That user's password (or an access token), sent with HTTP basic auth.
    type: str
    required: true
  name:
    description: Repository name, under O(username).
    type: str
    required: true
  private:
    description: Create the repository private. An existing repository is not changed.
    type: bool
    default: true
  default_branch:
    description: Default branch of a repository created by the module.
    type: str
    default: main
  description:
    description: Description of a repository created by the module.
    type: str
    default: ""
  webhooks:
    description: Webhooks the repository must have, each matched by its O(webhooks[].url).
    type: list
    elements: dict
    default: []
    suboptions:
      url:
        description: Where Gitea posts, e.g. Argo CD's C(http://argocd-server.argocd.svc/api/webhook).
        type: str
        required: true
      secret:
        description: The secret Gitea signs each delivery with (C(X-Gitea-Signature)).
        type: str
        required: true
      events:
        description: Events delivered.
        type: list
        elements: str
        default: [push]
      branch_filter:
        description: Glob of the branches whose pushes are delivered.
        type: str
        default: "*"
      type:
        description: Payload flavour; C(gitea) also carries the Gogs headers Argo CD reads.
        type: str
        default: gitea
  wait_timeout:
    description: Seconds to wait for Gitea to answer its health check before failing.
    type: int
    default: 120
  timeout:
    description: Seconds one HTTP request may take.
    type: int
    default: 30
  validate_certs:
    description: Verify Gitea's TLS certificate (HTTPS URLs).
    type: bool
    default: true
notes:
  - The webhook's name is C(titanium <fingerprint>); rename it in Gitea and the module
    replaces the webhook on its next run.
"""

EXAMPLES = r"""
- name: GitOps repository with a push webhook to Argo CD
  gitea_repository:
    url: http://127.0.0.1:30030
    username: titanium
    password: "{{ gitea_admin_password }}"
    name: titanium-gitops
    webhooks:
      - url: http://argocd-server.argocd.svc.cluster.local/api/webhook
        secret: "{{ argocd_webhook_secret }}"
"""

RETURN = r"""
repository:
  description: The repository as Gitea reports it (after the change; in check mode, as it is).
  returned: success
  type: dict
  sample: {"full_name": "titanium/titanium-gitops", "private": true, "default_branch": "main",
           "clone_url": "http://127.0.0.1:30030/titanium/titanium-gitops.git", "empty": true}
webhooks:
  description: The managed webhooks' settings (no secret), in the order of O(webhooks).
  returned: success
  type: list
  elements: dict
  sample: [{"id": 1, "url": "http://argocd-server.argocd.svc/api/webhook", "events": ["push"],
            "active": true, "branch_filter": "*", "type": "gitea"}]
actions:
  description: What was (or in check mode would be) done, e.g. C(created repository OWNER/NAME).
  returned: always
  type: list
  elements: str
"""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

WEBHOOK_NAME_PREFIX = "titanium "


class GiteaError(Exception):
    pass


def secret_fingerprint(secret: str) -> str:
    return hmac.new(secret.encode(), b"titanium-webhook", hashlib.sha256).hexdigest()[:16]


class Gitea:
    def __init__(self, params: dict) -> None:
        self.base = params["url"].rstrip("/")
        self.username = params["username"]
        self.password = params["password"]
        self.timeout = params["timeout"]
        self.validate_certs = params["validate_certs"]

    def request(self, method: str, path: str, body: dict | None = None, auth: bool = True):
        """(status, decoded JSON or None); 404 is an answer, other errors raise."""
        kwargs = {
            "method": method,
            "headers": {"Accept": "application/json", "Content-Type": "application/json"},
            "data": json.dumps(body) if body is not None else None,
            "timeout": self.timeout,
            "validate_certs": self.validate_certs,
        }
        if auth:
            kwargs.update(
                url_username=self.username, url_password=self.password, force_basic_auth=True
            )
        try:
            with open_url(self.base + path, **kwargs) as response:
                raw = response.read()
                return response.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return 404, None
            detail = exc.read().decode(errors="replace")[:300]
            raise GiteaError(f"{method} {self.base}{path}: HTTP {exc.code} {detail}") from exc

    def body(self, method: str, path: str, payload: dict | None = None):
        """The decoded JSON answer alone (None for a 404)."""
        return self.request(method, path, payload)[1]

    def wait_healthy(self, timeout: int) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while True:
            try:
                status = self.request("GET", "/api/healthz", auth=False)[0]
                if status == 200:
                    return
                last = f"HTTP {status}"
            except (GiteaError, OSError) as exc:
                last = str(exc)
            if time.monotonic() >= deadline:
                raise GiteaError(f"Gitea at {self.base} not healthy after {timeout} s: {last}")
            time.sleep(1)


def hook_view(hook: dict) -> dict:
    config = hook.get("config") or {}
    return {
        "id": hook.get("id"),
        "url": config.get("url"),
        "type": hook.get("type"),
        "content_type": config.get("content_type"),
        "events": sorted(hook.get("events") or []),
        "branch_filter": hook.get("branch_filter") or "",
        "active": bool(hook.get("active")),
        "name": hook.get("name") or "",
    }


def wanted_hook(spec: dict) -> dict:
    return {
        "url": spec["url"],
        "type": spec["type"],
        "content_type": "json",
        "events": sorted(spec["events"]),
        "branch_filter": spec["branch_filter"],
        "active": True,
        "name": WEBHOOK_NAME_PREFIX + secret_fingerprint(spec["secret"]),
    }


def hook_body(spec: dict, wanted: dict, create: bool) -> dict:
    config = {"url": spec["url"], "content_type": "json", "http_method": "post"}
    if create:
        config["secret"] = spec["secret"]
    body = {
        "config": config,
        "events": wanted["events"],
        "branch_filter": wanted["branch_filter"],
        "active": True,
        "name": wanted["name"],
    }
    if create:
        body["type"] = spec["type"]
    return body


def create_hook(gitea: Gitea, quoted: str, spec: dict, wanted: dict) -> dict:
    hook = gitea.body("POST", f"/api/v1/repos/{quoted}/hooks", hook_body(spec, wanted, True))
    return hook


def run(module: AnsibleModule) -> dict:
    params = module.params
    gitea = Gitea(params)
    gitea.wait_healthy(params["wait_timeout"])
    owner = params["username"]
    quoted = f"{urllib.parse.quote(owner)}/{urllib.parse.quote(params['name'])}"
    actions: list[str] = []
    before: dict = {"repository": None, "webhooks": []}
    after: dict = {"repository": None, "webhooks": []}

    status, me = gitea.request("GET", "/api/v1/user")
    if status != 200 or (me or {}).get("login", "").lower() != owner.lower():
        raise GiteaError(
            f"the credentials given are not {owner}'s (GET /api/v1/user: HTTP {status})"
        )

    status, repo = gitea.request("GET", f"/api/v1/repos/{quoted}")
    if status == 404:
        actions.append(f"created repository {owner}/{params['name']}")
        wanted_repo = {
            "name": params["name"],
            "private": params["private"],
            "default_branch": params["default_branch"],
        }
        after["repository"] = wanted_repo
        if not module.check_mode:
            repo = gitea.body(
                "POST",
                "/api/v1/user/repos",
                {
                    "name": params["name"],
                    "private": params["private"],
                    "default_branch": params["default_branch"],
                    "description": params["description"],
                    "auto_init": False,
                },
            )
    else:
        view = {
            "name": repo["name"],
            "private": repo["private"],
            "default_branch": repo["default_branch"],
        }
        before["repository"] = after["repository"] = view

    existing = []
    if repo is not None:
        existing = gitea.body("GET", f"/api/v1/repos/{quoted}/hooks?limit=50")
    by_url = {hook_view(h)["url"]: hook_view(h) for h in existing or []}
    managed = []
    for spec in params["webhooks"]:
        wanted = wanted_hook(spec)
        current = by_url.get(spec["url"])
        if current is not None:
            before["webhooks"].append({k: v for k, v in current.items() if k != "id"})
        if current is None:
            actions.append(f"created webhook to {spec['url']}")
            result = dict(wanted, id=None)
            if not module.check_mode:
                result = hook_view(create_hook(gitea, quoted, spec, wanted))
        elif current["name"] != wanted["name"] or current["type"] != wanted["type"]:
            # Gitea's API never changes a webhook's secret or type (an edit ignores
            # both), so a new secret means a new webhook.
            actions.append(f"replaced webhook to {spec['url']} (secret or type changed)")
            result = dict(wanted, id=None)
            if not module.check_mode:
                gitea.request("DELETE", f"/api/v1/repos/{quoted}/hooks/{current['id']}")
                result = hook_view(create_hook(gitea, quoted, spec, wanted))
        elif any(current[k] != v for k, v in wanted.items()):
            actions.append(f"updated webhook to {spec['url']}")
            result = dict(wanted, id=current["id"])
            if not module.check_mode:
                hook = gitea.body(
                    "PATCH",
                    f"/api/v1/repos/{quoted}/hooks/{current['id']}",
                    hook_body(spec, wanted, False),
                )
                result = hook_view(hook)
        else:
            result = current
        after["webhooks"].append(wanted)
        managed.append(result)

    out_repo = None
    if repo is not None:
        out_repo = {
            k: repo.get(k)
            for k in ("full_name", "private", "default_branch", "clone_url", "html_url", "empty")
        }
    return {
        "changed": bool(actions),
        "actions": actions,
        "repository": out_repo,
        "webhooks": managed,
        "diff": {"before": before, "after": after},
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str", "required": True},
            "username": {"type": "str", "required": True},
            "password": {"type": "str", "required": True, "no_log": True},
            "name": {"type": "str", "required": True},
            "private": {"type": "bool", "default": True},
            "default_branch": {"type": "str", "default": "main"},
            "description": {"type": "str", "default": ""},
            "webhooks": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "url": {"type": "str", "required": True},
                    "secret": {"type": "str", "required": True, "no_log": True},
                    "events": {"type": "list", "elements": "str", "default": ["push"]},
                    "branch_filter": {"type": "str", "default": "*"},
                    "type": {"type": "str", "default": "gitea"},
                },
            },
            "wait_timeout": {"type": "int", "default": 120},
            "timeout": {"type": "int", "default": 30},
            "validate_certs": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    try:
        result = run(module)
    except GiteaError as exc:
        module.fail_json(msg=str(exc), actions=[])
    if not module._diff:
        result.pop("diff")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
