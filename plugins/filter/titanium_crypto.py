# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""bcrypt for Argo CD's admin password, with a salt derived from the password and a
seed so that the same password always gives the same hash: a second run changes
nothing, and a new password (or seed) gives a new hash."""

from __future__ import annotations

import base64
import hashlib
import hmac

from ansible.errors import AnsibleFilterError

_STANDARD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_BCRYPT = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_TO_BCRYPT = str.maketrans(_STANDARD, _BCRYPT)


def stable_bcrypt(password: str, seed: str, rounds: int = 10) -> str:
    """A bcrypt hash (`$2b$`) whose 16-byte salt is HMAC-SHA256(seed, password)."""
    try:
        import bcrypt
    except ImportError as error:
        raise AnsibleFilterError("stable_bcrypt needs the bcrypt Python package") from error
    if not password:
        raise AnsibleFilterError("stable_bcrypt: the password is empty")
    if not 4 <= int(rounds) <= 31:
        raise AnsibleFilterError("stable_bcrypt: rounds must be between 4 and 31")
    digest = hmac.new(str(seed).encode(), str(password).encode(), hashlib.sha256).digest()
    salt22 = base64.b64encode(digest[:16]).decode().rstrip("=").translate(_TO_BCRYPT)
    salt = f"$2b${int(rounds):02d}${salt22}".encode()
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
        return {"stable_bcrypt": stable_bcrypt, "bcrypt_matches": bcrypt_matches}
