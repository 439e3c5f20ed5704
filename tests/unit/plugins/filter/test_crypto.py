"""The bcrypt filters behind the argocd role's admin password hash (tasks/config.yml
"Decide the admin password hash"). The decision itself, on a real argocd-secret
(a first run stores a hash of the vaulted password, a second keeps it, a new
password gets a new hash and time and then settles):
tests/integration/test_platform_roles.py."""

from __future__ import annotations

import secrets

import bcrypt

from ansible_collections.titanium.platform.plugins.filter.crypto import (
    bcrypt_hash,
    bcrypt_matches,
)


def test_argocd_admin_hash_has_a_random_salt_and_a_matching_stored_hash_is_kept():
    """A salt derived from the password makes one precomputed table fit every install;
    idempotence comes from keeping a stored hash that still matches instead."""
    password = secrets.token_urlsafe(18)
    first, second = (bcrypt_hash(password, 10) for _ in range(2))
    assert first != second, "the same password hashed twice gave the same salt and hash"
    assert first[:29] != second[:29]
    for hashed in (first, second):
        assert hashed.startswith("$2b$10$")
        assert bcrypt.checkpw(password.encode(), hashed.encode())
    assert bcrypt_matches(password, first)
    assert not bcrypt_matches("not-" + password, first)
