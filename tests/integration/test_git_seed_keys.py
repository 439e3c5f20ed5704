"""gitops_seed's private-key check on keys ssh-keygen makes: a readable, a
too-open, a passphrase-protected, a missing and a pasted key. The rest of the
Git helper's pure parts: tests/unit/plugins/module_utils/test_git_seed.py."""

from __future__ import annotations

import secrets
import subprocess

import pytest

from ansible_collections.titanium.platform.plugins.module_utils.git_seed import (
    SeedError,
    check_private_key,
)


def test_unusable_private_keys_are_refused_before_connecting(tmp_path):
    key = tmp_path / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    check_private_key(str(key))
    key.chmod(0o640)
    with pytest.raises(SeedError, match=f"mode 640.*chmod 600 {key}"):
        check_private_key(str(key))
    key.chmod(0o600)
    subprocess.run(
        ["ssh-keygen", "-q", "-p", "-P", "", "-N", secrets.token_hex(8), "-f", str(key)], check=True
    )
    with pytest.raises(SeedError, match="use a key without a passphrase"):
        check_private_key(str(key))
    with pytest.raises(SeedError, match="is not a file"):
        check_private_key(str(tmp_path / "missing"))
    with pytest.raises(SeedError, match="looks like key material") as pasted:
        check_private_key(key.read_text())
    assert "PRIVATE" not in str(pasted.value)
