# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""bcrypt for Argo CD's admin password. Every hash gets a random salt: a salt
derived from the password would let anyone who knows how it is derived test
guesses against a leaked hash with one table for every install. A second run
still changes nothing because the role keeps the stored hash while
`bcrypt_matches` says it belongs to the password."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def bcrypt_hash(password: str, rounds: int = 10) -> str:
    """A bcrypt hash (`$2b$`) of `password` with a fresh random salt."""
    try:
        import bcrypt
    except ImportError as error:
        raise AnsibleFilterError("bcrypt_hash needs the bcrypt Python package") from error
    if not password:
        raise AnsibleFilterError("bcrypt_hash: the password is empty")
    if not 4 <= int(rounds) <= 31:
        raise AnsibleFilterError("bcrypt_hash: rounds must be between 4 and 31")
    salt = bcrypt.gensalt(rounds=int(rounds), prefix=b"2b")
    return bcrypt.hashpw(str(password).encode(), salt).decode()


def bcrypt_matches(password: str, hashed: str) -> bool:
    """Whether `hashed` is a bcrypt hash of `password`."""
    import bcrypt

    if not password or not hashed:
        return False
    try:
        return bcrypt.checkpw(str(password).encode(), str(hashed).encode())
    except ValueError:
        return False


class FilterModule:
    def filters(self):
        return {"bcrypt_hash": bcrypt_hash, "bcrypt_matches": bcrypt_matches}
