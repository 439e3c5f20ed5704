"""The signing key and the JWKS that publishes its public half, and the next
key's beside it during a rotation."""

import base64
import hashlib
import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from auth_service.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SigningKey:
    private_key: Any
    algorithm: str
    kid: str
    jwk: dict[str, str]
    # Public keys published beside this one that never sign (the next key).
    also_published: tuple[dict[str, str], ...] = ()

    @property
    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [self.jwk, *self.also_published]}


def _from_private_key(private_key: Any) -> SigningKey:
    public = private_key.public_key()
    if isinstance(private_key, Ed25519PrivateKey):
        algorithm = "EdDSA"
        jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(public))
    elif isinstance(private_key, RSAPrivateKey):
        algorithm = "RS256"
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public))
    else:
        raise ValueError("signing key must be Ed25519 or RSA")
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # The key id follows the key: a rotated key gets a new id, so verifiers refetch.
    kid = base64.urlsafe_b64encode(hashlib.sha256(der).digest()[:12]).decode().rstrip("=")
    jwk.update(kid=kid, use="sig", alg=algorithm)
    return SigningKey(private_key, algorithm, kid, jwk)


def load_signing_key(settings: Settings) -> SigningKey:
    if settings.signing_key_file is None:
        if settings.environment != "development":
            raise ValueError(
                "AUTH_SIGNING_KEY_FILE is not set: outside development mode auth-service "
                "needs a mounted private key (PEM, Ed25519 or RSA) and will not start without one"
            )
        log.warning("no AUTH_SIGNING_KEY_FILE: using a throw-away development key")
        return _from_private_key(Ed25519PrivateKey.generate())
    key = _read(settings.signing_key_file, "AUTH_SIGNING_KEY_FILE")
    if settings.next_signing_key_file is None:
        return key
    upcoming = _read(settings.next_signing_key_file, "AUTH_NEXT_SIGNING_KEY_FILE")
    if upcoming.kid == key.kid:
        return key  # the same key in both files: published once
    return replace(key, also_published=(upcoming.jwk,))


def _read(path: Path, setting: str) -> SigningKey:
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{setting}={path}: {exc.strerror}") from exc
    return _from_private_key(serialization.load_pem_private_key(pem, password=None))
