"""gitops_seed's pure parts: scrubbing, error classes, SSH remotes and keys, tree
sync, tag edits, and documentation that matches the argument spec."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
import yaml

from ansible_collections.titanium.platform.plugins.module_utils.git_seed import (
    SeedError,
    classify,
    redact,
    set_image_tags,
    shown_url,
    ssh_endpoint,
    sync_tree,
)
from tests.support.tokens import fresh_private_key_pem

REPO_ROOT = Path(__file__).resolve().parents[4]


def test_redact_removes_url_userinfo_and_known_secrets():
    token = secrets.token_hex(8)
    text = f"fatal: unable to access 'https://bob:{token}@git.example.com/r.git/': {token} rejected"
    scrubbed = redact(text, [token])
    assert token not in scrubbed and "bob" not in scrubbed
    assert "https://***@git.example.com/r.git" in scrubbed


def test_redact_removes_private_key_blocks_even_cut_short():
    block = fresh_private_key_pem().strip()
    header, body, *_ = block.splitlines()
    assert redact(f"bad path {block} here", []) == "bad path [private key removed] here"
    assert body not in redact(f"x {header}\n{body}", [])


@pytest.mark.parametrize(
    "repo, endpoint, shown",
    [
        ("ssh://git@h.example:2222/r.git", ("h.example", 2222), "ssh://git@h.example:2222/r.git"),
        ("ssh://git:pw@h.example/r.git", ("h.example", 22), "ssh://git@h.example/r.git"),
        ("git@h.example:team/r.git", ("h.example", 22), "git@h.example:team/r.git"),
        ("ssh://[::1]:2200/r.git", ("::1", 2200), "ssh://[::1]:2200/r.git"),
        ("https://tok@h.example/r.git", None, "https://***@h.example/r.git"),
        ("file:///srv/r.git", None, "file:///srv/r.git"),
        ("/srv/r.git", None, "/srv/r.git"),
    ],
)
def test_ssh_remotes_are_recognised_and_named_without_secrets(repo, endpoint, shown):
    assert ssh_endpoint(repo) == endpoint
    assert shown_url(repo) == shown


@pytest.mark.parametrize(
    "stderr, kind",
    [
        (
            "Host key verification failed.\nfatal: Could not read from remote repository.",
            "host-key",
        ),
        (
            "@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @\nPermission denied (publickey)",
            "host-key",
        ),
        ("fatal: Authentication failed for 'https://x/r.git/'", "auth"),
        ("fatal: could not read Username for 'https://x': terminal prompts disabled", "auth"),
        ("git@x: Permission denied (publickey).", "auth"),
        (" ! [rejected]        HEAD -> main (fetch first)", "non-fast-forward"),
        (" ! [rejected]        HEAD -> main (non-fast-forward)", "non-fast-forward"),
        (" ! [remote rejected] HEAD -> main (pre-receive hook declined)", "rejected"),
        ("fatal: Could not resolve host: git.example.com", "unreachable"),
        ("fatal: '/srv/none.git' does not appear to be a git repository", "unreachable"),
    ],
)
def test_git_errors_are_classified(stderr, kind):
    assert classify(stderr) == kind


def tree(root: Path, files: dict[str, str]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def listing(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in root.rglob("*") if p.is_file()}


def test_sync_touches_only_managed_paths_and_keeps_preserved_files(tmp_path):
    src = tree(tmp_path / "src", {"a/x.yaml": "new", "a/tags.yaml": "seed", "b/y.yaml": "y"})
    checkout = tree(
        tmp_path / "co",
        {"a/x.yaml": "old", "a/stale.yaml": "s", "a/tags.yaml": "promoted", "c/keep": "k"},
    )
    sync_tree(src, checkout, ["a", "b"], ["a/tags.yaml"])
    assert listing(checkout) == {
        "a/x.yaml": "new",
        "a/tags.yaml": "promoted",
        "b/y.yaml": "y",
        "c/keep": "k",
    }


def test_sync_refuses_escaping_paths_and_strays(tmp_path):
    src = tree(tmp_path / "src", {"a/x": "1", "z/y": "2"})
    with pytest.raises(SeedError, match="outside the managed paths: z/y"):
        sync_tree(src, tmp_path / "co", ["a"], [])
    for bad in ("../up", "/abs", ".", ".git/hooks"):
        with pytest.raises(SeedError):
            sync_tree(src, tmp_path / "co", [bad], [])


def test_set_image_tags_rewrites_only_the_named_image_and_keeps_the_header(tmp_path):
    file = tree(
        tmp_path,
        {
            "images.yaml": "# header\nkind: Component\nimages:\n"
            "- name: r/a\n  newTag: '1.0'\n- name: r/b\n  newTag: '2.0'\n"
        },
    )
    set_image_tags(file, "images.yaml", {"r/b": "2.1"})
    text = (tmp_path / "images.yaml").read_text()
    assert text.startswith("# header\n")
    assert "newTag: '1.0'" in text and "newTag: '2.1'" in text
    with pytest.raises(SeedError, match="pins no image 'r/c'"):
        set_image_tags(file, "images.yaml", {"r/c": "1"})


def test_a_tag_with_a_digest_pins_it_and_a_bare_tag_drops_the_old_one(tmp_path):
    digest = "sha256:" + "0f" * 32
    file = tree(
        tmp_path, {"images.yaml": "images:\n- name: r/a\n  newName: reg/r/a\n  newTag: '1.0'\n"}
    )
    set_image_tags(file, "images.yaml", {"r/a": f"1.1@{digest}"})
    (entry,) = yaml.safe_load((tmp_path / "images.yaml").read_text())["images"]
    assert entry == {"name": "r/a", "newName": "reg/r/a", "newTag": "1.1", "digest": digest}
    set_image_tags(file, "images.yaml", {"r/a": "1.2"})
    (entry,) = yaml.safe_load((tmp_path / "images.yaml").read_text())["images"]
    assert entry == {"name": "r/a", "newName": "reg/r/a", "newTag": "1.2"}
    with pytest.raises(SeedError, match="is not a sha256 digest"):
        set_image_tags(file, "images.yaml", {"r/a": "1.3@sha256:abc"})
