"""The GitOps repository modules (gitops_sync, gitops_image_tags, gitops_revert) and
their git helper against real git: bare repositories, file://, a smart-HTTP
remote with basic auth and an OpenSSH server. No git behaviour is simulated."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ansible_collections.titanium.platform.plugins.module_utils import git_seed as git_seed
from ansible_collections.titanium.platform.plugins.module_utils import gitops_render as gitops
from ansible_collections.titanium.platform.plugins.module_utils.git_seed import (
    Credentials,
    SeedError,
    seed,
)
from tests.support.ansible_run import recap, run_playbook
from tests.support.git_http import GitHTTPServer
from tests.support.git_ssh import GitSSHServer, make_key
from tests.support.offline_values import offline_values
from titanium_tools import inventory

ENV = "staging"
PATHS = gitops.managed_paths(ENV)
IMAGES = f"services/overlays/{ENV}/images/kustomization.yaml"
BLOG_IMAGE = "titanium-blog-service"


def git(*args, cwd=None) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, env=env, check=True
    )
    return done.stdout


def commits(bare: Path, branch: str = "main") -> list[str]:
    return git("--git-dir", str(bare), "log", "--format=%s", branch).splitlines()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("render") / ENV
    gitops.write_tree(inventory.render(ENV), out)
    return out


@pytest.fixture
def bare(tmp_path) -> Path:
    path = tmp_path / "remote.git"
    git("init", "--quiet", "--bare", "--initial-branch", "main", str(path))
    return path


def seed_tree(repo, rendered, **kwargs):
    return seed(str(repo), src=str(rendered), paths=PATHS, preserve=[IMAGES], **kwargs)


def test_first_run_commits_and_pushes_second_run_changes_nothing(bare, rendered):
    first = seed_tree(bare, rendered, message="seed staging")
    assert first.changed and first.pushed
    assert first.previous_commit is None
    assert first.diff_summary["files"] == len(list(rendered.rglob("*.yaml")))
    assert {f["status"] for f in first.changed_files} == {"A"}
    assert commits(bare) == ["seed staging"]
    assert git("--git-dir", str(bare), "rev-parse", "main").strip() == first.commit

    second = seed_tree(bare, rendered, message="seed staging")
    assert not second.changed and not second.pushed
    assert second.commit == first.commit
    assert commits(bare) == ["seed staging"]


def test_check_mode_reports_the_change_and_commits_nothing(bare, rendered):
    result = seed_tree(bare, rendered, check_mode=True, want_diff=True)
    assert result.changed and not result.pushed
    assert "+kind: AppProject" in result.diff
    assert git("--git-dir", str(bare), "branch", "--list").strip() == ""


def test_only_managed_paths_change_and_stale_files_go(bare, rendered, tmp_path):
    seed_tree(bare, rendered)
    work = tmp_path / "work"
    git("clone", "--quiet", str(bare), str(work))
    (work / "README.md").write_text("kept\n")
    (work / "argocd/production").mkdir(parents=True)
    (work / "argocd/production/app.yaml").write_text("other environment\n")
    (work / f"platform/{ENV}/stale.yaml").write_text("left over\n")
    git("add", "-A", cwd=work)
    git("commit", "--quiet", "-m", "hand edits", cwd=work)
    git("push", "--quiet", "origin", "main", cwd=work)

    result = seed_tree(bare, rendered)
    assert result.changed_files == [{"status": "D", "path": f"platform/{ENV}/stale.yaml"}]
    assert result.diff_summary == {"files": 1, "insertions": 0, "deletions": 1}
    git("pull", "--quiet", cwd=work)
    assert (work / "README.md").read_text() == "kept\n"
    assert (work / "argocd/production/app.yaml").exists()
    assert not (work / f"platform/{ENV}/stale.yaml").exists()


def test_an_application_switched_off_seeds_and_switching_it_off_removes_it(bare, tmp_path):
    """A managed path with nothing on either side (Bookinfo off, never seeded) is
    no error; one seeded before and now off is removed by the next seed."""
    on = tmp_path / "on"
    gitops.write_tree(inventory.render(ENV), on)
    off = tmp_path / "off"
    gitops.write_tree(inventory.render(ENV, overrides={"bookinfo": {"enabled": False}}), off)
    bookinfo = f"bookinfo/{ENV}"
    assert bookinfo in PATHS and (on / bookinfo).is_dir() and not (off / bookinfo).exists()

    fresh = tmp_path / "fresh.git"
    git("init", "--quiet", "--bare", "--initial-branch", "main", str(fresh))
    assert seed_tree(fresh, off, message="seed without bookinfo").pushed
    assert not git("--git-dir", str(fresh), "ls-tree", "-r", "--name-only", "main", bookinfo)

    seed_tree(bare, on, message="seed with bookinfo")
    switched = seed_tree(bare, off, message="bookinfo off")
    assert switched.pushed
    removed = {f["path"] for f in switched.changed_files if f["status"] == "D"}
    application = f"argocd/{ENV}/apps/bookinfo.yaml"
    assert application in removed and any(path.startswith(bookinfo + "/") for path in removed)
    assert all(path.startswith(bookinfo + "/") for path in removed - {application}), removed


def test_promotion_survives_reseeding_and_rollback_reverts_it_once(bare, rendered, tmp_path):
    seed_tree(bare, rendered)
    promoted = seed(
        str(bare),
        image_tags={BLOG_IMAGE: "1.4.0"},
        image_tags_file=IMAGES,
        message=f"promote blog-service to 1.4.0 in {ENV}",
    )
    assert promoted.changed_files == [{"status": "M", "path": IMAGES}]
    again = seed(
        str(bare),
        image_tags={BLOG_IMAGE: "1.4.0"},
        image_tags_file=IMAGES,
        message=f"promote blog-service to 1.4.0 in {ENV}",
    )
    assert not again.changed

    assert not seed_tree(bare, rendered).changed  # the seeded tags never undo a promotion
    shown = git("--git-dir", str(bare), "show", f"main:{IMAGES}")
    assert "newTag: 1.4.0" in shown

    rollback = dict(revert_matching=f"^promote .* in {ENV}$", revert_path=IMAGES)
    first = seed(str(bare), **rollback)
    assert first.changed
    assert commits(bare)[0] == f"rollback: promote blog-service to 1.4.0 in {ENV}"
    assert "newTag: 1.4.0" not in git("--git-dir", str(bare), "show", f"main:{IMAGES}")
    assert not seed(str(bare), **rollback).changed


def test_unknown_image_and_bad_paths_are_refused(bare, rendered):
    seed_tree(bare, rendered)
    with pytest.raises(SeedError, match=r"pins no image 'ghcr\.io/nope'"):
        seed(str(bare), image_tags={"ghcr.io/nope": "1.0.0"}, image_tags_file=IMAGES)
    with pytest.raises(SeedError, match="must be a folder inside"):
        seed(str(bare), src=str(rendered), paths=["../escape"])
    with pytest.raises(SeedError, match="outside the managed paths"):
        seed(str(bare), src=str(rendered), paths=["argocd"])


def test_a_moved_branch_fails_non_fast_forward_and_is_never_forced(
    bare, rendered, tmp_path, monkeypatch
):
    seed_tree(bare, rendered)
    other = tmp_path / "other"
    git("clone", "--quiet", str(bare), str(other))
    real_commit = git_seed.commit_staged

    def someone_else_pushes_first(*args, **kwargs):
        (other / "NOTES.md").write_text("concurrent\n")
        git("add", "NOTES.md", cwd=other)
        git("commit", "--quiet", "-m", "concurrent change", cwd=other)
        git("push", "--quiet", "origin", "main", cwd=other)
        real_commit(*args, **kwargs)

    monkeypatch.setattr(git_seed, "commit_staged", someone_else_pushes_first)
    (rendered / f"platform/{ENV}/extra.yaml").write_text("kind: ConfigMap\n")
    try:
        with pytest.raises(SeedError) as failure:
            seed_tree(bare, rendered)
    finally:
        (rendered / f"platform/{ENV}/extra.yaml").unlink()
    assert failure.value.kind == "non-fast-forward"
    assert "refusing to force-push" in str(failure.value)
    assert commits(bare)[0] == "concurrent change"


def test_a_rejecting_hook_is_reported(bare, rendered):
    hook = bare / "hooks/pre-receive"
    hook.write_text("#!/bin/sh\necho 'pushes are frozen' >&2\nexit 1\n")
    hook.chmod(0o755)
    with pytest.raises(SeedError) as failure:
        seed_tree(f"file://{bare}", rendered)
    assert failure.value.kind == "rejected"
    assert "pushes are frozen" in str(failure.value)


def test_unreachable_remotes_fail_clearly(rendered, tmp_path):
    with pytest.raises(SeedError) as missing:
        seed_tree(f"file://{tmp_path}/nowhere.git", rendered)
    assert missing.value.kind == "unreachable"
    with pytest.raises(SeedError) as refused:
        seed_tree("http://127.0.0.1:9/titanium.git", rendered)
    assert refused.value.kind == "unreachable"


def test_https_style_basic_auth_pushes_and_a_wrong_token_never_leaks(tmp_path, rendered):
    root = tmp_path / "srv"
    git("init", "--quiet", "--bare", "--initial-branch", "main", str(root / "gitops.git"))
    token = secrets.token_hex(16)
    with GitHTTPServer(root, "titanium", token) as server:
        url = f"{server.url}/gitops.git"
        good = Credentials(username="titanium", password=token)
        assert seed_tree(url, rendered, credentials=good).pushed
        assert not seed_tree(url, rendered, credentials=good).changed

        wrong = secrets.token_hex(16)
        with pytest.raises(SeedError) as failure:
            seed_tree(url, rendered, credentials=Credentials(username="titanium", password=wrong))
        assert failure.value.kind == "auth"
        assert wrong not in str(failure.value)
        with pytest.raises(SeedError) as anonymous:
            seed_tree(url, rendered)
        assert anonymous.value.kind == "auth"

        # A token written into the URL by mistake is scrubbed from messages too.
        leaky = f"{server.url.replace('://', f'://titanium:{wrong}@')}/gitops.git"
        with pytest.raises(SeedError) as scrubbed:
            seed_tree(leaky, rendered)
        assert wrong not in str(scrubbed.value)
    assert commits(root / "gitops.git") == ["Seed the GitOps repository"]


def test_a_local_working_tree_is_fast_forwarded_and_left_alone_in_check_mode(tmp_path, rendered):
    work = tmp_path / "checkout"
    git("init", "--quiet", "--initial-branch", "main", str(work))
    (work / "README.md").write_text("hello\n")
    git("add", "README.md", cwd=work)
    git("commit", "--quiet", "-m", "start", cwd=work)
    assert seed_tree(work, rendered, check_mode=True).changed
    assert sorted(p.name for p in work.iterdir()) == [".git", "README.md"]
    result = seed_tree(work, rendered)
    assert result.changed and not result.pushed
    assert (work / f"argocd/{ENV}/root.yaml").is_file()
    assert git("status", "--porcelain", cwd=work) == ""
    assert not seed_tree(work, rendered).changed


def test_local_changes_in_a_working_tree_are_never_overwritten(tmp_path, rendered):
    work = tmp_path / "checkout"
    git("init", "--quiet", "--initial-branch", "main", str(work))
    (work / "README.md").write_text("hello\n")
    git("add", "README.md", cwd=work)
    git("commit", "--quiet", "-m", "start", cwd=work)
    seed_tree(work, rendered)
    extra = f"argocd/{ENV}/extra.yaml"
    (work / extra).write_text("someone's work in progress\n")
    (rendered / extra).write_text("kind: ConfigMap\n")
    try:
        with pytest.raises(SeedError) as failure:
            seed_tree(work, rendered)
    finally:
        (rendered / extra).unlink()
    assert failure.value.kind == "conflict"
    assert (work / extra).read_text() == "someone's work in progress\n"


# --- Symbolic links: never followed out of the checkout or the rendered tree ---------


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every entry below root, links as links: what must not change."""
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[relative] = "-> " + os.readlink(path)
        elif path.is_file():
            found[relative] = path.read_bytes()
        else:
            found[relative] = "dir"
    return found


@pytest.fixture
def outside(tmp_path) -> Path:
    """Files that belong to someone else, next to the repository."""
    root = tmp_path / "outside"
    (root / "folder").mkdir(parents=True)
    (root / "folder/namespace.yaml").write_text("precious\n")
    (root / "folder/postgres.yaml").write_text("precious\n")
    (root / "folder/not-rendered.yaml").write_text("precious\n")
    (root / "victim.yaml").write_text("precious\n")
    return root


def commit_links(bare: Path, tmp_path: Path, links: dict[str, Path]) -> None:
    """Push a commit that replaces each repository path with a link (as anyone who
    can push to the GitOps repository could)."""
    work = tmp_path / "linker"
    git("clone", "--quiet", str(bare), str(work))
    for relative, target in links.items():
        git("rm", "-r", "--quiet", "--ignore-unmatch", relative, cwd=work)
        (work / relative).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, work / relative)
    git("add", "-A", cwd=work)
    git("commit", "--quiet", "-m", "links", cwd=work)
    git("push", "--quiet", "origin", "main", cwd=work)


def links_in(bare: Path) -> list[str]:
    listing = git("--git-dir", str(bare), "ls-tree", "-r", "main")
    return [line.split("\t", 1)[1] for line in listing.splitlines() if line.startswith("120000")]


LINKED_PATHS = {
    "managed-folder": (f"platform/{ENV}", "folder"),
    "folder-inside": ("services/base/data", "folder"),
    "file": (f"argocd/{ENV}/root.yaml", "victim.yaml"),
    "preserved-file": (IMAGES, "victim.yaml"),
}


@pytest.mark.parametrize("case", sorted(LINKED_PATHS))
def test_links_in_the_checkout_are_replaced_never_written_or_deleted_through(
    bare, rendered, tmp_path, outside, case
):
    relative, target = LINKED_PATHS[case]
    seed_tree(bare, rendered)
    commit_links(bare, tmp_path, {relative: outside / target})
    before = snapshot(outside)

    check = seed_tree(bare, rendered, check_mode=True, want_diff=True)
    assert snapshot(outside) == before, "check mode wrote or deleted outside the checkout"
    assert check.changed

    result = seed_tree(bare, rendered)
    assert result.changed and result.pushed
    assert snapshot(outside) == before, "seeding wrote or deleted outside the checkout"
    assert links_in(bare) == []
    shown = git("--git-dir", str(bare), "show", f"main:{IMAGES}")
    assert shown == (rendered / IMAGES).read_text()
    assert not seed_tree(bare, rendered).changed


@pytest.mark.parametrize("check_mode", [True, False], ids=["check", "apply"])
def test_a_link_above_a_managed_path_is_refused_naming_it(
    bare, rendered, tmp_path, outside, check_mode
):
    seed_tree(bare, rendered)
    commit_links(bare, tmp_path, {"services": outside / "folder"})
    before, head = snapshot(outside), commits(bare)
    with pytest.raises(SeedError) as refused:
        seed_tree(bare, rendered, check_mode=check_mode)
    assert refused.value.kind == "input"
    message = str(refused.value)
    assert f"services in the repository is a symbolic link (to {outside / 'folder'})" in message
    assert "git rm services" in message
    assert snapshot(outside) == before
    assert commits(bare) == head


@pytest.mark.parametrize("check_mode", [True, False], ids=["check", "apply"])
def test_promotion_never_writes_through_a_linked_image_tags_file(
    bare, rendered, tmp_path, outside, check_mode
):
    seed_tree(bare, rendered)
    (outside / "victim.yaml").write_text((rendered / IMAGES).read_text())
    commit_links(bare, tmp_path, {IMAGES: outside / "victim.yaml"})
    before, head = snapshot(outside), commits(bare)
    with pytest.raises(SeedError, match=f"image_tags_file {IMAGES} is a symbolic link"):
        seed(
            str(bare),
            image_tags={BLOG_IMAGE: "6.6.6"},
            image_tags_file=IMAGES,
            check_mode=check_mode,
        )
    assert snapshot(outside) == before
    assert commits(bare) == head


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_a_link_in_the_rendered_tree_is_refused_and_never_read(
    bare, rendered, tmp_path, outside, kind
):
    src = tmp_path / "render"
    shutil.copytree(rendered, src, symlinks=True)
    secret = secrets.token_hex(16)
    (outside / "victim.yaml").write_text(f"secret: {secret}\n")
    (outside / "folder/namespace.yaml").write_text(f"secret: {secret}\n")
    leak = f"platform/{ENV}/leak.yaml" if kind == "file" else f"platform/{ENV}/leak"
    os.symlink(outside / ("victim.yaml" if kind == "file" else "folder"), src / leak)
    for check_mode in (True, False):
        with pytest.raises(SeedError) as refused:
            seed_tree(bare, src, check_mode=check_mode, want_diff=True)
        assert refused.value.kind == "input"
        assert f"src holds a symbolic link, {leak} (to {outside}" in str(refused.value)
        assert secret not in str(refused.value)
    assert git("--git-dir", str(bare), "branch", "--list").strip() == ""


def test_an_ssh_remote_that_refuses_connections_is_unreachable(tmp_path, rendered):
    keys = tmp_path / "my keys"
    keys.mkdir()
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / "id")], check=True
    )
    credentials = Credentials(
        ssh_private_key_file=str(keys / "id"),
        ssh_known_hosts_file=str(tmp_path / "known_hosts"),
        ssh_accept_new_host_keys=True,
    )
    with pytest.raises(SeedError) as failure:
        seed_tree("ssh://git@127.0.0.1:9/titanium.git", rendered, credentials=credentials)
    assert failure.value.kind == "unreachable"
    assert "Connection refused" in str(failure.value)


# --- SSH against a real sshd (tests/support/git_ssh.py) -------------------------


@pytest.fixture(scope="module")
def sshd(tmp_path_factory) -> Iterator[GitSSHServer]:
    with GitSSHServer(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture(scope="module")
def ssh_keys(tmp_path_factory, sshd) -> dict[str, Path]:
    # A space and a % in the folder: the paths must survive GIT_SSH_COMMAND, ssh's
    # -o parsing and its %-token expansion.
    keys = tmp_path_factory.mktemp("ssh") / "deploy keys 100%d"
    authorized = make_key(keys / "authorized")
    sshd.authorize(Path(f"{authorized}.pub"))
    known_hosts = keys / "known_hosts"
    known_hosts.write_text(sshd.known_hosts_line)
    return {"authorized": authorized, "refused": make_key(keys / "refused"), "known": known_hosts}


def over_ssh(keys: dict[str, Path], key: str = "authorized", **kwargs) -> Credentials:
    kwargs.setdefault("ssh_known_hosts_file", str(keys["known"]))
    return Credentials(ssh_private_key_file=str(keys[key]), **kwargs)


def test_ssh_with_the_authorized_key_pushes_once(sshd, ssh_keys, rendered):
    url = sshd.bare_repository("authorized")
    first = seed_tree(url, rendered, message="over ssh", credentials=over_ssh(ssh_keys))
    assert first.changed and first.pushed
    bare = sshd.repository("authorized")
    assert commits(bare) == ["over ssh"]
    assert git("--git-dir", str(bare), "rev-parse", "main").strip() == first.commit
    assert "Accepted publickey for" in sshd.log.read_text()  # through sshd, not a shortcut

    second = seed_tree(url, rendered, message="over ssh", credentials=over_ssh(ssh_keys))
    assert not second.changed and not second.pushed
    assert commits(bare) == ["over ssh"]


def test_ssh_with_a_key_the_server_does_not_know_is_refused_clearly(sshd, ssh_keys, rendered):
    url = sshd.bare_repository("refused")
    with pytest.raises(SeedError) as failure:
        seed_tree(url, rendered, credentials=over_ssh(ssh_keys, "refused"))
    message = str(failure.value)
    assert failure.value.kind == "auth"
    assert f"the SSH server of {url} refused the key {ssh_keys['refused']}" in message
    assert "add its public key to that account's authorized keys" in message
    assert git("--git-dir", str(sshd.repository("refused")), "branch", "--list") == ""


def test_ssh_to_a_host_missing_from_known_hosts_fails_on_host_key(
    sshd, ssh_keys, rendered, tmp_path
):
    url = sshd.bare_repository("unknown-host")
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(SeedError) as unknown:
        seed_tree(url, rendered, credentials=over_ssh(ssh_keys, ssh_known_hosts_file=str(empty)))
    assert unknown.value.kind == "host-key"
    assert str(unknown.value).startswith(
        f"SSH host key verification failed for [127.0.0.1]:{sshd.port} ({url}): "
        f"{empty} holds no key for it"
    )
    assert f"ssh-keyscan -p {sshd.port} 127.0.0.1" in str(unknown.value)

    # Someone else's key recorded for this address: refused even with accept-new.
    impostor = make_key(tmp_path / "impostor")
    kind, key = Path(f"{impostor}.pub").read_text().split()[:2]
    empty.write_text(f"[127.0.0.1]:{sshd.port} {kind} {key}\n")
    changed = over_ssh(ssh_keys, ssh_known_hosts_file=str(empty), ssh_accept_new_host_keys=True)
    with pytest.raises(SeedError) as different:
        seed_tree(url, rendered, credentials=changed)
    assert different.value.kind == "host-key"
    assert f"its key differs from the one recorded in {empty}" in str(different.value)
    assert git("--git-dir", str(sshd.repository("unknown-host")), "branch", "--list") == ""


def test_ssh_accept_new_records_the_host_key_then_checks_it(sshd, ssh_keys, rendered, tmp_path):
    url = sshd.bare_repository("accept-new")
    known = tmp_path / "known_hosts"
    trusting = over_ssh(ssh_keys, ssh_known_hosts_file=str(known), ssh_accept_new_host_keys=True)
    assert seed_tree(url, rendered, credentials=trusting).pushed
    assert known.read_text().strip()
    strict = over_ssh(ssh_keys, ssh_known_hosts_file=str(known))
    assert not seed_tree(url, rendered, credentials=strict).changed


def test_ssh_failures_through_ansible_never_show_the_key_or_the_token(sshd, ssh_keys, tmp_path):
    """The module as an operator runs it, at -vvv: results, invocation and all."""
    url = sshd.bare_repository("through-ansible")
    refused = ssh_keys["refused"]
    key_text = refused.read_text()
    token = secrets.token_hex(16)
    source = tmp_path / "src/argocd"
    source.mkdir(parents=True)
    (source / "root.yaml").write_text("kind: Application\n")
    playbook = tmp_path / "seed.yml"
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - titanium.platform.gitops_sync:\n"
        "        remote:\n          url: '{{ repo }}'\n"
        "          username: git\n          password: '{{ token }}'\n"
        "          ssh_private_key_file: '{{ key }}'\n"
        "          ssh_known_hosts_file: '{{ known }}'\n"
        "        src: '{{ src }}'\n        paths: [argocd]\n"
    )

    def run(key: str) -> str:
        values = tmp_path / "values.json"
        values.write_text(
            json.dumps(
                {
                    "repo": url,
                    "src": str(source.parent),
                    "token": token,
                    "key": key,
                    "known": str(ssh_keys["known"]),
                    "ansible_python_interpreter": sys.executable,
                }
            )
        )
        done = run_playbook(
            "-i", "localhost,", "-c", "local", "-vvv", "-e", f"@{values}", str(playbook)
        )
        assert done.returncode != 0
        return done.stdout + done.stderr

    def assert_nothing_secret(output: str) -> None:
        assert token not in output
        assert "PRIVATE KEY" not in output
        for line in key_text.splitlines()[1:-1]:
            assert line not in output

    refused_output = run(str(refused))
    assert f"refused the key {refused}" in refused_output
    assert_nothing_secret(refused_output)

    # The key itself pasted where its path belongs (a vault variable mixed up):
    # the message says so without Ansible's scrubbing, and Ansible's output too.
    with pytest.raises(SeedError) as pasted:
        seed(
            url,
            src=str(source.parent),
            paths=["argocd"],
            credentials=Credentials(ssh_private_key_file=key_text),
        )
    assert_nothing_secret(str(pasted.value))
    pasted_output = run(key_text)
    assert "holds what looks like key material, not a path" in pasted_output
    assert_nothing_secret(pasted_output)
    assert git("--git-dir", str(sshd.repository("through-ansible")), "branch", "--list") == ""


@pytest.mark.slow
def test_the_gitops_role_seeds_over_ssh_with_its_variables(sshd, ssh_keys, tmp_path):
    """playbooks/gitops.yml with the role's SSH variables: first contact accepted
    and recorded, then the recorded key checked strictly on the second run."""
    url = sshd.bare_repository("role")
    known = tmp_path / "known_hosts"
    values = {
        "titanium_environment": ENV,
        # No registry here: digests are read and pinned in test_gitops_playbooks.
        "titanium_environment_values": offline_values(ENV),
        "gitserver_enabled": False,
        "gitops_repo_url": url,
        "gitops_register_with_argocd": False,
        "gitops_render_dir": str(tmp_path / "render"),
        "gitops_ssh_private_key_file": str(ssh_keys["authorized"]),
        "gitops_ssh_known_hosts_file": str(known),
        "gitops_ssh_accept_new_host_keys": True,
        "ansible_python_interpreter": sys.executable,
    }
    first_values = tmp_path / "first.json"
    first_values.write_text(json.dumps(values))
    first = run_playbook("-i", "localhost,", "-c", "local", "-e", f"@{first_values}",
                         "playbooks/gitops.yml", check=True)  # fmt: skip
    assert recap(first.stdout)["localhost"]["changed"] >= 1
    assert commits(sshd.repository("role")) == [f"Seed {ENV} from Titanium"]
    assert known.read_text().strip()

    strict_values = tmp_path / "strict.json"
    strict_values.write_text(json.dumps({**values, "gitops_ssh_accept_new_host_keys": False}))
    second = run_playbook("-i", "localhost,", "-c", "local", "-e", f"@{strict_values}",
                          "playbooks/gitops.yml", check=True)  # fmt: skip
    assert recap(second.stdout)["localhost"]["changed"] == 0
