"""Access tokens for tests: a fresh Ed25519 key, its JWKS, and signed tokens."""

import json
import time

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


class TokenFactory:
    def __init__(
        self, kid: str = "test-key", issuer: str = "titanium-auth", audience: str = "titanium"
    ) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.kid, self.issuer, self.audience = kid, issuer, audience

    @property
    def jwks(self) -> dict[str, list[dict[str, str]]]:
        public = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(self.key.public_key()))
        public.update(kid=self.kid, use="sig", alg="EdDSA")
        return {"keys": [public]}

    def token(self, user_id: int, username: str, ttl: int = 300) -> str:
        claims = {
            "sub": str(user_id),
            "username": username,
            "iss": self.issuer,
            "aud": self.audience,
            "exp": int(time.time()) + ttl,
        }
        return jwt.encode(claims, self.key, "EdDSA", headers={"kid": self.kid})

    def headers(self, user_id: int, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user_id, username)}"}
