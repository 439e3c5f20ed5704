"""The gitserver and gitops roles against a real Gitea: the release the
gitserver role deploys, built from its Go module and run as a process
(tests/support/gitea.py). The role creates the repository and Argo CD's push
webhook through Gitea's API; the gitops role pushes the rendered tree over HTTP
with the credentials the gitserver role publishes; Gitea delivers the push,
signed, to a receiver standing where Argo CD's /api/webhook would be."""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import re
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from tests.support.ansible_run import REPO_ROOT, recap, run_on_localhost
from tests.support.gitea import BINARY, GiteaServer, gitea_server, gitea_version
from tests.support.offline_values import offline_values

pytestmark = pytest.mark.skipif(
    not BINARY.exists(), reason="no build/bin/gitea: run `make setup-gitea` (part of `make setup`)"
)

REPOSITORY = "titanium-gitops"


class WebhookReceiver:
    """Stands where Argo CD's /api/webhook is: records each delivery."""

    def __init__(self) -> None:
        self.deliveries: queue.Queue = queue.Queue()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.deliveries.put((self.path, dict(self.headers), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/webhook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def next(self, timeout: float) -> tuple[str, dict, bytes]:
        return self.deliveries.get(timeout=timeout)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def gitea() -> Iterator[GiteaServer]:
    with gitea_server() as server:
        seconds = server.start_seconds
        print(f"Gitea {gitea_version()} healthy {seconds:.1f} s after start (migrate included)")
        yield server


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.close()


def gitserver_vars(gitea: GiteaServer, receiver: WebhookReceiver, secret: str) -> dict:
    return {
        "gitserver_enabled": True,
        "gitserver_in_cluster": False,
        "gitserver_url": gitea.url,
        "gitea_admin_password": gitea.password,
        "gitserver_argocd_webhook_url": receiver.url,
        "gitserver_argocd_webhook_secret": secret,
        "gitserver_api_wait_timeout": 30,
    }


def run(playbook: str, variables: dict, *args: str) -> tuple[dict, float, str]:
    started = time.monotonic()
    result = run_on_localhost(playbook, variables, *args)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert variables["gitea_admin_password"] not in result.stdout + result.stderr
    return recap(result.stdout)["localhost"], elapsed, result.stdout


def hooks(gitea: GiteaServer) -> list[dict]:
    return gitea.api("GET", f"/api/v1/repos/{gitea.admin}/{REPOSITORY}/hooks")


def test_the_built_gitea_is_the_release_the_role_deploys():
    version = gitea_version()
    reported = subprocess.run(
        [str(BINARY), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert re.search(rf"\bversion {re.escape(version)}\b", reported), reported
    go_mod = (REPO_ROOT / "tests/cluster/go/gitea/go.mod").read_text()
    assert re.search(rf"^\s*code\.gitea\.io/gitea v{re.escape(version)}\b", go_mod, re.MULTILINE)
    # The chart deploys exactly that release: the role sets its image tag.
    values = (REPO_ROOT / "roles/gitserver/templates/gitea-values.yaml.j2").read_text()
    assert (
        yaml.safe_load(values.split("gitea:\n")[0])["image"]["tag"]
        == "{{ gitserver_gitea_version }}"
    )


@pytest.mark.slow
def test_the_roles_configure_and_seed_a_real_gitea(gitea, receiver, tmp_path):
    secret = secrets.token_hex(20)
    variables = gitserver_vars(gitea, receiver, secret)

    # --check on a Gitea that has nothing yet: reports, writes nothing.
    counts, _, output = run(
        "tests/integration/playbooks/gitserver.yml", variables, "--check", "--diff"
    )
    assert counts["changed"] >= 1, output
    assert gitea.request("GET", f"/api/v1/repos/{gitea.admin}/{REPOSITORY}")[0] == 404

    counts, first_s, output = run("tests/integration/playbooks/gitserver.yml", variables)
    assert counts["changed"] >= 1, output
    repo = gitea.api("GET", f"/api/v1/repos/{gitea.admin}/{REPOSITORY}")
    assert (repo["private"], repo["empty"], repo["default_branch"]) == (True, True, "main")
    [hook] = hooks(gitea)
    assert hook["type"] == "gitea" and hook["active"] and hook["events"] == ["push"]
    assert hook["config"]["url"] == receiver.url and hook["config"]["content_type"] == "json"

    counts, second_s, output = run("tests/integration/playbooks/gitserver.yml", variables)
    assert counts["changed"] == 0, output
    counts, _, output = run(
        "tests/integration/playbooks/gitserver.yml", variables, "--check", "--diff"
    )
    assert counts["changed"] == 0, output

    # A rotated secret: --check --diff shows it and changes nothing; a run applies it.
    rotated = {**variables, "gitserver_argocd_webhook_secret": secrets.token_hex(20)}
    counts, _, output = run(
        "tests/integration/playbooks/gitserver.yml", rotated, "--check", "--diff"
    )
    assert counts["changed"] == 1, output
    # The diff names the secret's fingerprint changing, never the secret.
    assert re.search(r'^-\s+"name": "titanium [0-9a-f]{16}",$', output, re.MULTILINE), output
    assert rotated["gitserver_argocd_webhook_secret"] not in output
    assert hooks(gitea) == [hook]
    counts, _, output = run("tests/integration/playbooks/gitserver.yml", rotated)
    assert counts["changed"] == 1, output
    [rotated_hook] = hooks(gitea)
    # Gitea's API cannot edit a secret: the webhook was replaced.
    assert rotated_hook["config"]["url"] == receiver.url and rotated_hook["name"] != hook["name"]
    assert rotated["gitserver_argocd_webhook_secret"] not in output

    # The gitops role seeds with what the gitserver role publishes (playbooks/gitops.yml
    # learns the push URL and credentials from the role's facts).
    seed_vars = {
        **rotated,
        "titanium_environment": "local",
        "titanium_environment_values": offline_values("local"),
        "gitops_register_with_argocd": False,
        "gitops_render_dir": str(tmp_path / "render"),
    }
    counts, seed_s, output = run("playbooks/gitops.yml", seed_vars)
    assert counts["changed"] >= 1, output
    assert "pushed " in output, output

    # Gitea delivered the push, signed with the rotated secret, as Argo CD reads it.
    path, headers, body = receiver.next(timeout=30)
    assert path == "/api/webhook"
    assert headers["X-Gitea-Event"] == "push" and headers["X-Gogs-Event"] == "push"
    expected = hmac.new(
        rotated["gitserver_argocd_webhook_secret"].encode(), body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(headers["X-Gitea-Signature"], expected)
    payload = json.loads(body)
    assert payload["ref"] == "refs/heads/main"
    assert payload["repository"]["full_name"] == f"{gitea.admin}/{REPOSITORY}"

    clone = tmp_path / "clone"
    subprocess.run(
        ["git", *gitea.git_auth_args(), "clone", "--quiet",
         f"{gitea.url}/{gitea.admin}/{REPOSITORY}.git", str(clone)],
        check=True, capture_output=True,
    )  # fmt: skip
    assert (clone / "argocd/local/root.yaml").is_file()
    assert (clone / "services/base").is_dir() and (clone / "services/overlays/local").is_dir()
    rendered = sorted(
        p.relative_to(tmp_path / "render")
        for p in (tmp_path / "render/argocd").rglob("*")
        if p.is_file()
    )
    assert rendered and all((clone / p).is_file() for p in rendered)
    assert gitea.api("GET", f"/api/v1/repos/{gitea.admin}/{REPOSITORY}")["empty"] is False

    counts, reseed_s, output = run("playbooks/gitops.yml", seed_vars)
    assert counts["changed"] == 0, output
    assert receiver.deliveries.empty()
    print(
        f"gitserver role: first run {first_s:.1f} s, second {second_s:.1f} s (changed=0); "
        f"seed {seed_s:.1f} s, re-seed {reseed_s:.1f} s (changed=0)"
    )


def test_a_wrong_password_fails_naming_the_user(gitea, receiver):
    variables = {
        **gitserver_vars(gitea, receiver, "s"),
        "gitea_admin_password": "not-" + gitea.password,
    }
    result = run_on_localhost("tests/integration/playbooks/gitserver.yml", variables)
    assert result.returncode != 0
    assert "HTTP 401" in result.stdout, result.stdout[-3000:]
    assert variables["gitea_admin_password"] not in result.stdout + result.stderr
