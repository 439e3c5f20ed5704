# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a rendered tree into a Git repository, commit and push only when it differs.

The git helper behind gitops_sync, gitops_image_tags and gitops_revert, kept free
of Ansible so the tests can drive it directly. It shells out to the real `git`,
never force-pushes, touches only the paths it is told it manages, and never lets a
credential reach a message: every error passes through `redact`.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

GIT_TIMEOUT = 120
DIFF_LIMIT = 200_000
ASKPASS = """#!/bin/sh
case "$1" in
  Username*|username*) printf '%s\\n' "$TITANIUM_GIT_USERNAME" ;;
  *) printf '%s\\n' "$TITANIUM_GIT_PASSWORD" ;;
esac
"""


class SeedError(Exception):
    """A failure whose message is safe to show: credentials are already redacted."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class Credentials:
    username: str | None = None
    password: str | None = None
    ssh_private_key_file: str | None = None
    ssh_known_hosts_file: str | None = None
    ssh_accept_new_host_keys: bool = False

    def secrets(self) -> list[str]:
        return [s for s in (self.password,) if s]


@dataclass
class Result:
    changed: bool = False
    commit: str | None = None
    previous_commit: str | None = None
    changed_files: list = field(default_factory=list)
    diff_summary: dict = field(default_factory=dict)
    diff: str = ""
    pushed: bool = False
    message: str = ""

    def as_dict(self) -> dict:
        return {
            "changed": self.changed,
            "commit": self.commit,
            "previous_commit": self.previous_commit,
            "changed_files": self.changed_files,
            "diff_summary": self.diff_summary,
            "pushed": self.pushed,
            "commit_message": self.message if self.changed else "",
        }


PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)", re.S
)
SSH_URL = re.compile(
    r"^(?:ssh|git\+ssh|ssh\+git)://(?:[^@/]+@)?(?P<host>\[[^\]/]+\]|[^/:]+)(?::(?P<port>\d+))?/"
)
SCP_LIKE = re.compile(r"^(?:[^@/:]+@)?(?P<host>\[[^\]/]+\]|[^/:]+):(?!//)")


def redact(text: str, secrets: list[str]) -> str:
    """Strip URL userinfo, private keys and every known secret from text meant for humans."""
    text = re.sub(r"(://)[^/@\s]+@", r"\1***@", text)
    text = PRIVATE_KEY.sub("[private key removed]", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
    return text


def ssh_endpoint(repo: str) -> tuple[str, int] | None:
    """(host, port) of an SSH remote, as `ssh://` or scp-like `user@host:path`; else None."""
    match = SSH_URL.match(repo) or ("://" not in repo and SCP_LIKE.match(repo))
    if not match:
        return None
    port = match.groupdict().get("port")
    return match["host"].strip("[]"), int(port or 22)


def shown_url(repo: str) -> str:
    """The remote as messages name it: never a password or token, but an SSH
    user name stays, since which account refused the key is what the operator needs."""
    if ssh_endpoint(repo):
        return PRIVATE_KEY.sub("", re.sub(r"(://[^/@:\s]+):[^/@\s]*@", r"\1@", repo))
    return redact(repo, [])


def classify(stderr: str) -> str:
    lowered = stderr.lower()
    # Before the authentication markers: a changed host key can be followed by
    # ssh trying (and failing) to authenticate anyway.
    if "host key verification failed" in lowered or "identification has changed" in lowered:
        return "host-key"
    if any(
        marker in lowered
        for marker in (
            "authentication failed",
            "could not read username",
            "could not read password",
            "permission denied (publickey",
            "access denied",
            "the requested url returned error: 401",
            "the requested url returned error: 403",
            "terminal prompts disabled",
            "invalid username or password",
        )
    ):
        return "auth"
    if "non-fast-forward" in lowered or "fetch first" in lowered:
        return "non-fast-forward"
    if "remote rejected" in lowered or "hook declined" in lowered:
        return "rejected"
    return "unreachable"


EXPLANATIONS = {
    "auth": "authentication to {url} failed: check the username and token",
    "non-fast-forward": (
        "the branch on {url} has commits this run did not start from (non-fast-forward); "
        "refusing to force-push: run again to seed on top of them"
    ),
    "rejected": "{url} rejected the push",
    "unreachable": "{url} is unreachable or is not a Git repository",
}


def explain(kind: str, repo: str, credentials: Credentials, stderr: str) -> str:
    """What failed and what the operator does about it, naming the remote without secrets."""
    url = shown_url(repo)
    endpoint = ssh_endpoint(repo)
    if endpoint is None or kind not in ("auth", "host-key"):
        return EXPLANATIONS.get(kind, EXPLANATIONS["unreachable"]).format(url=url)
    host, port = endpoint
    if kind == "auth":
        key = credentials.ssh_private_key_file
        offered = f"the key {key}" if key else "the default keys (no ssh_private_key_file given)"
        return (
            f"the SSH server of {url} refused {offered} (permission denied): add its public "
            "key to that account's authorized keys (or as a deploy key with write access), "
            "or set ssh_private_key_file to a key the server accepts"
        )
    known = credentials.ssh_known_hosts_file or "~/.ssh/known_hosts"
    name = host if port == 22 else f"[{host}]:{port}"
    if "identification has changed" in stderr.lower():
        return (
            f"SSH host key verification failed for {name} ({url}): its key differs from "
            f"the one recorded in {known}, so the connection was refused (a re-keyed server "
            "or someone in between); check the new fingerprint with the server's owner "
            "before replacing that line"
        )
    return (
        f"SSH host key verification failed for {name} ({url}): {known} holds no key for it "
        "and host keys are checked strictly. Check the server's key fingerprint out of band "
        f"and add it to {known} (ssh-keyscan -p {port} {host} prints it), or set "
        "ssh_accept_new_host_keys to trust the key seen on first contact"
    )


def looks_like_key_material(value: str) -> bool:
    """A private key pasted where its path belongs (a vault variable mixed up)."""
    return "PRIVATE KEY" in value or "\n" in value


def check_private_key(path: str | None) -> None:
    """Refuse a key ssh would ignore or could not unlock, before any connection:
    ssh would only report the server's 'permission denied', pointing the wrong way."""
    if not path:
        return
    if looks_like_key_material(path):
        raise SeedError(
            "input",
            "ssh_private_key_file holds what looks like key material, not a path: "
            "give the path of the key file",
        )
    key = Path(path)
    if not key.is_file():
        raise SeedError("input", f"ssh_private_key_file {path} is not a file")
    mode = key.stat().st_mode & 0o777
    if key.stat().st_uid == os.geteuid() and mode & 0o077:
        raise SeedError(
            "input",
            f"ssh_private_key_file {path} is open to other users (mode {mode:o}) and ssh "
            f"ignores such keys: chmod 600 {path}",
        )
    done = subprocess.run(
        ["ssh-keygen", "-y", "-P", "", "-f", path],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"},
        check=False,
    )
    if done.returncode:
        why = redact(done.stderr.strip(), [])
        if "passphrase" in why:
            why += " (ssh runs without a terminal: use a key without a passphrase)"
        raise SeedError("input", f"ssh_private_key_file {path} cannot be used: {why}")


def ssh_option_path(path: str) -> str:
    return '"' + path.replace("%", "%%") + '"'


class Git:
    """Runs git with credentials supplied through the environment, never argv."""

    def __init__(self, credentials: Credentials, workdir: Path, repo: str) -> None:
        self.credentials = credentials
        self.repo = repo
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(workdir),
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "LC_ALL": "C",
        }
        if credentials.username or credentials.password:
            askpass = workdir / "askpass.sh"
            askpass.write_text(ASKPASS)
            askpass.chmod(stat.S_IRWXU)
            self.env.update(
                GIT_ASKPASS=str(askpass),
                TITANIUM_GIT_USERNAME=credentials.username or "git",
                TITANIUM_GIT_PASSWORD=credentials.password or "",
            )
        # Always set, so that every SSH remote is reached without prompts and with
        # host keys checked, key or no key.
        checking = "accept-new" if credentials.ssh_accept_new_host_keys else "yes"
        command = ["ssh", "-o", "BatchMode=yes", "-o", f"StrictHostKeyChecking={checking}"]
        command += ["-o", "ConnectTimeout=30"]
        # As -o options, not -i: ssh splits these values on spaces and expands
        # %-tokens in them (-i too, after checking the unexpanded name exists), so
        # each path is quoted with its % signs doubled.
        if credentials.ssh_private_key_file:
            key = ssh_option_path(credentials.ssh_private_key_file)
            command += ["-o", f"IdentityFile={key}", "-o", "IdentitiesOnly=yes"]
        if credentials.ssh_known_hosts_file:
            known = ssh_option_path(credentials.ssh_known_hosts_file)
            command += ["-o", f"UserKnownHostsFile={known}"]
        self.env["GIT_SSH_COMMAND"] = shlex.join(command)

    def __call__(self, *args: str, cwd: Path | None = None, check: bool = True) -> str:
        command = [
            "git",
            "-c",
            "credential.helper=",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "http.lowSpeedLimit=1",
            "-c",
            "http.lowSpeedTime=30",
            *args,
        ]
        try:
            done = subprocess.run(
                command,
                cwd=cwd,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=GIT_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise SeedError(
                "unreachable",
                f"git {args[0]} on {shown_url(self.repo)} timed out after {GIT_TIMEOUT} s",
            ) from exc
        if check and done.returncode:
            raise self.error(args[0], done.stderr)
        return done.stdout

    def error(self, verb: str, stderr: str) -> SeedError:
        kind = classify(stderr)
        summary = explain(kind, self.repo, self.credentials, stderr)
        detail = redact(stderr.strip(), self.credentials.secrets())
        return SeedError(kind, f"{summary} (git {verb}: {detail})")


def is_working_tree(repo: str) -> bool:
    path = Path(repo)
    return "://" not in repo and (path / ".git").exists()


def _entries_under(root: Path, relative: str) -> set[str]:
    """Files and symbolic links at or under `relative`. A link is one entry, never
    followed: what it points at may lie outside the checkout."""
    base = root / relative
    if base.is_symlink() or base.is_file():
        return {relative}
    if not base.is_dir():
        return set()
    found = set()
    for folder, dirs, files in os.walk(base):  # os.walk does not descend into links
        links = [d for d in dirs if os.path.islink(os.path.join(folder, d))]
        for name in [*files, *links]:
            found.add(Path(folder, name).relative_to(root).as_posix())
    return found


def _link_target(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


def _refuse_links_above(checkout: Path, relative: str, what: str) -> None:
    """A link among the folders above `relative` would take every write through it,
    possibly out of the checkout: refuse, since replacing it would change the
    repository outside what this run owns."""
    parts = Path(relative).parts
    for depth in range(1, len(parts)):
        ancestor = Path(*parts[:depth])
        if (checkout / ancestor).is_symlink():
            raise SeedError(
                "input",
                f"{ancestor} in the repository is a symbolic link (to "
                f"{_link_target(checkout / ancestor)}), and {what} {relative} lies beyond it; "
                "seeding never follows a link. Replace the link with a real folder in the "
                f"repository (git rm {ancestor}, commit, push) and run again",
            )


def _source_files(src: Path) -> set[str]:
    """The rendered tree's files; a link in it is refused, never read through."""
    found = set()
    for folder, dirs, files in os.walk(src):
        for name in sorted([*dirs, *files]):
            path = Path(folder, name)
            if path.is_symlink():
                relative = path.relative_to(src).as_posix()
                raise SeedError(
                    "input",
                    f"src holds a symbolic link, {relative} (to {_link_target(path)}); "
                    "seeding never follows a link, which could read files from outside "
                    f"the rendered tree into the repository. Put the file itself at {relative} "
                    "in src (or remove it) and run again",
                )
        found.update(Path(folder, name).relative_to(src).as_posix() for name in files)
    return found


def _check_paths(paths: list[str]) -> list[str]:
    clean = []
    for path in paths:
        normal = os.path.normpath(path)
        if normal.startswith(("..", "/")) or normal in (".", "") or normal.startswith(".git"):
            raise SeedError(
                "input", f"managed path {path!r} must be a folder inside the repository"
            )
        clean.append(normal)
    return clean


def sync_tree(src: Path, checkout: Path, paths: list[str], preserve: list[str]) -> None:
    """Make `paths` in the checkout equal to `src`, except existing `preserve` files.

    Symbolic links in the checkout are never followed. Under the managed paths a
    link is content like a file: replaced by what `src` holds, or deleted (the link,
    not its target). A link above a managed path, or anywhere in `src`, is refused."""
    paths = _check_paths(paths)
    preserve_set = set(_check_paths(preserve)) if preserve else set()
    wanted = _source_files(src)
    outside = sorted(f for f in wanted if not any(f == p or f.startswith(p + "/") for p in paths))
    if outside:
        raise SeedError(
            "input", f"src holds files outside the managed paths: {', '.join(outside[:5])}"
        )
    for path in paths:
        _refuse_links_above(checkout, path, "the managed path")
    present = set().union(*(_entries_under(checkout, p) for p in paths))
    for stale in sorted(present - wanted - preserve_set):
        (checkout / stale).unlink()
    for relative in sorted(wanted):
        target = checkout / relative
        if target.is_symlink():
            target.unlink()  # a link is replaced, never written through
        elif relative in preserve_set and target.exists():
            continue  # Git owns it once seeded (image tags after promotions)
        target.parent.mkdir(parents=True, exist_ok=True)
        content = (src / relative).read_bytes()
        if not target.exists() or target.read_bytes() != content:
            target.write_bytes(content)


def set_image_tags(checkout: Path, relative: str, tags: dict) -> None:
    """Rewrite `newTag` of the named images in a kustomization or component; a
    value `tag@sha256:...` pins the digest too, a bare tag drops any digest (a
    digest left from the previous release would keep deploying that release)."""
    import yaml

    (relative,) = _check_paths([relative])
    _refuse_links_above(checkout, relative, "image_tags_file")
    path = checkout / relative
    if path.is_symlink():
        raise SeedError(
            "input",
            f"image_tags_file {relative} is a symbolic link in the repository (to "
            f"{_link_target(path)}); seeding never writes through a link. Replace it with "
            "the kustomization itself (seed the tree again, or git rm it and commit the file) "
            "and run again",
        )
    if not path.is_file():
        raise SeedError("input", f"{relative} does not exist on the branch")
    text = path.read_text()
    header = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    document = yaml.safe_load(text)
    entries = {entry["name"]: entry for entry in document.get("images", [])}
    for image, reference in sorted(tags.items()):
        if image not in entries:
            known = ", ".join(sorted(entries)) or "none"
            raise SeedError("input", f"{relative} pins no image {image!r} (it pins: {known})")
        tag, at, digest = str(reference).partition("@")
        entries[image]["newTag"] = tag
        if at and not re.match(r"^sha256:[0-9a-f]{64}$", digest):
            raise SeedError("input", f"{image}: {digest!r} is not a sha256 digest")
        if digest:
            entries[image]["digest"] = digest
        else:
            entries[image].pop("digest", None)
    body = yaml.safe_dump(document, sort_keys=False, default_flow_style=False)
    new = header + body
    if new != text:
        path.write_text(new)


def commit_staged(git: Git, checkout: Path, message: str, author: tuple[str, str]) -> None:
    git(
        "-c",
        f"user.name={author[0]}",
        "-c",
        f"user.email={author[1]}",
        "commit",
        "--quiet",
        "--no-verify",
        "-m",
        message,
        cwd=checkout,
    )


def seed(
    repo: str,
    *,
    branch: str = "main",
    src: str | None = None,
    paths: list[str] | None = None,
    preserve: list[str] | None = None,
    image_tags: dict | None = None,
    image_tags_file: str | None = None,
    revert_matching: str | None = None,
    revert_path: str | None = None,
    revert_group_trailer: str | None = None,
    revert_group: str | None = None,
    trailers: dict | None = None,
    message: str = "Seed the GitOps repository",
    author: tuple[str, str] = ("Titanium GitOps", "gitops@titanium.invalid"),
    credentials: Credentials | None = None,
    check_mode: bool = False,
    want_diff: bool = False,
) -> Result:
    credentials = credentials or Credentials()
    operations = [src is not None, image_tags is not None, revert_matching is not None]
    if sum(operations) != 1:
        raise SeedError("input", "give exactly one of src, image_tags or revert_matching")
    if src is not None and not paths:
        raise SeedError("input", "src needs the list of paths it manages")
    if src is not None and not Path(src).is_dir():
        raise SeedError("input", f"src {src} is not a folder")
    if image_tags is not None and not image_tags_file:
        raise SeedError("input", "image_tags needs image_tags_file")
    revert_group = revert_group or None
    if revert_group is not None and not revert_group_trailer:
        raise SeedError("input", "revert_group needs revert_group_trailer")
    message = with_trailers(message, trailers or {})
    check_private_key(credentials.ssh_private_key_file)
    with tempfile.TemporaryDirectory(prefix="titanium-seed-") as tmp:
        tmp_path = Path(tmp)
        git = Git(credentials, tmp_path, repo)
        # A working tree is never edited directly: the change is made in a clone
        # and fast-forwarded into it, so check mode and failures leave it alone.
        in_place = is_working_tree(repo)
        if in_place:
            current = git("rev-parse", "--abbrev-ref", "HEAD", cwd=Path(repo)).strip()
            if current != branch:
                raise SeedError("input", f"{repo} has {current} checked out, not {branch}")
        checkout = tmp_path / "checkout"
        heads = git("ls-remote", "--heads", repo, f"refs/heads/{branch}")
        if heads.strip():
            git("clone", "--quiet", "--branch", branch, "--single-branch", repo, str(checkout))
        else:
            git("init", "--quiet", "--initial-branch", branch, str(checkout))
            git("remote", "add", "origin", repo, cwd=checkout)
        previous = git(
            "rev-parse", "--verify", "--quiet", "HEAD", cwd=checkout, check=False
        ).strip()
        result = Result(previous_commit=previous or None, commit=previous or None, message=message)

        if src is not None:
            sync_tree(Path(src), checkout, paths, preserve or [])
            scope = _check_paths(paths)
        elif image_tags is not None:
            set_image_tags(checkout, image_tags_file, image_tags)
            scope = [image_tags_file]
        else:
            scope, result.message = _revert(
                git,
                checkout,
                revert_matching,
                revert_path,
                previous,
                group_trailer=revert_group_trailer,
                group=revert_group,
            )
            if scope is None:
                return result
        # A managed path may hold nothing on either side (an application switched
        # off and never seeded): git refuses a pathspec that matches nothing.
        present = [
            path
            for path in scope
            if (checkout / path).exists() or git("ls-files", "--", path, cwd=checkout).strip()
        ]
        if present:
            git("add", "--all", "--", *present, cwd=checkout)
        status = git("diff", "--cached", "--name-status", "--", *scope, cwd=checkout)
        result.changed_files = [
            {"status": line.split("\t", 1)[0], "path": line.split("\t", 1)[1]}
            for line in status.splitlines()
            if line
        ]
        if not result.changed_files:
            if revert_matching is not None:
                git("reset", "--quiet", "--hard", "HEAD", cwd=checkout)
            return result
        numstat = git("diff", "--cached", "--numstat", "--", *scope, cwd=checkout)
        insertions = deletions = 0
        for line in numstat.splitlines():
            added, removed = line.split("\t", 2)[:2]
            insertions += int(added) if added.isdigit() else 0
            deletions += int(removed) if removed.isdigit() else 0
        result.diff_summary = {
            "files": len(result.changed_files),
            "insertions": insertions,
            "deletions": deletions,
        }
        if want_diff:
            result.diff = git("diff", "--cached", "--", *scope, cwd=checkout)[:DIFF_LIMIT]
        result.changed = True
        if check_mode:
            return result
        commit_staged(git, checkout, result.message, author)
        result.commit = git("rev-parse", "HEAD", cwd=checkout).strip()
        if in_place:
            git("fetch", "--quiet", str(checkout), branch, cwd=Path(repo))
            try:
                git("merge", "--quiet", "--ff-only", "FETCH_HEAD", cwd=Path(repo))
            except SeedError as exc:
                raise SeedError(
                    "conflict",
                    f"{repo} could not be fast-forwarded (local changes or commits in the "
                    f"working tree?): {exc}",
                ) from exc
        else:
            # Never --force: a moved branch is an error the operator must see.
            git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=checkout)
            result.pushed = True
        return result


TRAILER_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")


def with_trailers(message: str, trailers: dict) -> str:
    """`message` with one `Key: value` git trailer a line in a last paragraph."""
    lines = []
    for key, value in trailers.items():
        value = str(value)
        if not TRAILER_KEY.match(str(key)) or not value.strip() or "\n" in value:
            raise SeedError(
                "input",
                f"trailer {key!r}: {value!r} is not a git trailer (a key of letters, digits "
                "and '-', a value on one line)",
            )
        lines.append(f"{key}: {value.strip()}")
    if not lines:
        return message
    return message.rstrip("\n") + "\n\n" + "\n".join(lines)


def _revert_message(git: Git, checkout: Path, commits: list[str], group: str) -> str:
    subjects = [git("log", "-1", "--format=%s", c, cwd=checkout).strip() for c in commits]
    if len(commits) == 1:
        return f"rollback: {subjects[0]}\n\nReverts: {commits[0]}"
    # Listed oldest first, each behind "- " so that no line of a rollback reads
    # as the promotion it undoes to a later rollback's search.
    listed = "".join(f"- {subject}\n" for subject in reversed(subjects))
    reverts = "\n".join(f"Reverts: {c}" for c in reversed(commits))
    return f"rollback: promotion {group} ({len(commits)} commits)\n\n{listed}\n{reverts}"


def _revert(
    git: Git,
    checkout: Path,
    pattern: str,
    path: str | None,
    head: str,
    *,
    group_trailer: str | None = None,
    group: str | None = None,
):
    """Revert the newest commit whose message matches, with every other matching
    commit that carries the same `group_trailer` value (or the commits of `group`),
    as one commit; (None, msg) if they are all reverted already."""
    if not head:
        raise SeedError("input", "the branch has no commit to roll back")
    limit = ["--", path] if path else []
    key = group_trailer or "Titanium-No-Group"
    listing = git(
        "log",
        f"--format=%H%x1f%(trailers:key={key},valueonly,separator=%x2C)%x1e",
        "-E",
        f"--grep={pattern}",
        *limit,
        cwd=checkout,
    )
    # Newest first: (commit, its group or "" for a commit made before trailers).
    matching = [
        (commit.strip(), value.strip())
        for commit, value in (
            entry.split("\x1f", 1) for entry in listing.split("\x1e") if "\x1f" in entry
        )
    ]
    if group is None:
        if not matching:
            raise SeedError("input", f"no commit matching {pattern!r} to roll back")
        group = matching[0][1]
    if group:
        targets = [commit for commit, value in matching if value == group]
        if not targets:
            raise SeedError(
                "input",
                f"no commit matching {pattern!r} carries {group_trailer}: {group} to roll back",
            )
    else:
        # A commit made before trailers existed is its own promotion.
        targets = [matching[0][0]]

    def reverted(commit: str) -> list[str]:
        return git("log", "--format=%H", "-F", f"--grep=Reverts: {commit}", cwd=checkout).split()

    pending = [c for c in targets if not reverted(c)]
    message = _revert_message(git, checkout, pending or targets, group)
    if not pending:
        return None, message
    ours = set(targets) | {r for c in targets for r in reverted(c)}
    touched = sorted(
        {
            name
            for c in pending
            for name in git(
                "diff-tree", "--no-commit-id", "--name-only", "-r", c, cwd=checkout
            ).split()
        }
    )
    oldest = pending[-1]
    # Reverting under a later change to the same files would undo or tangle with
    # it; the operator decides, rather than git's merge.
    later = [
        c
        for c in git("log", "--format=%H", f"{oldest}..HEAD", "--", *touched, cwd=checkout).split()
        if c not in ours
    ]
    if later:
        named = "; ".join(
            f"{c[:12]} {git('log', '-1', '--format=%s', c, cwd=checkout).strip()!r}" for c in later
        )
        raise SeedError(
            "conflict",
            f"{'promotion ' + group if group else oldest[:12]} is followed by commits that change "
            f"the same files ({', '.join(touched)}): {named}. Roll those back first (run the "
            "rollback again for each promotion after it), or promote the tags you want instead",
        )
    for commit in pending:
        done = subprocess.run(
            ["git", "revert", "--no-commit", commit],
            cwd=checkout,
            env=git.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            subprocess.run(["git", "revert", "--abort"], cwd=checkout, env=git.env, check=False)
            raise SeedError(
                "conflict",
                f"reverting {commit[:12]} conflicts with later commits: {done.stderr.strip()}",
            )
    changed = git("diff", "--cached", "--name-only", cwd=checkout).split()
    return changed or ["."], message
