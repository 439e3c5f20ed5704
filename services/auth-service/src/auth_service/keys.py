"""The signing key and the JWKS that publishes its public half."""

import base64
import hashlib
import json
import logging
from dataclasses import dataclass
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

    @property
    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [self.jwk]}


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
    try:
        pem = settings.signing_key_file.read_bytes()
    except OSError as exc:
        raise ValueError(
            f"AUTH_SIGNING_KEY_FILE={settings.signing_key_file}: {exc.strerror}"
        ) from exc
    return _from_private_key(serialization.load_pem_private_key(pem, password=None))
