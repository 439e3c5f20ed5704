"""Access tokens for tests: a fresh Ed25519 key, its JWKS, and signed tokens."""

import contextlib
import http.server
import json
import time
from collections.abc import Iterator

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.support.servers import serving


def fresh_private_key_pem() -> str:
    """A private key made now, for tests that need key material: none stands in Git."""
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


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


class JwksEndpoint:
    """What `serving_jwks` answers: `jwks`, or, while `hang` is set, a 503 after
    `hang_seconds` (auth-service stuck). `fetches` counts the requests."""

    def __init__(self, jwks: dict, hang_seconds: float = 1.0) -> None:
        self.jwks = jwks
        self.hang = False
        self.hang_seconds = hang_seconds
        self.fetches = 0


@contextlib.contextmanager
def serving_jwks(jwks: dict | JwksEndpoint) -> Iterator[str]:
    """Serve a JWKS over HTTP on a free loopback port; yields its URL."""
    endpoint = jwks if isinstance(jwks, JwksEndpoint) else JwksEndpoint(jwks)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            endpoint.fetches += 1
            if endpoint.hang:
                time.sleep(endpoint.hang_seconds)
                self.send_response(503)
                self.send_header("content-length", "0")
                self.end_headers()
                return
            body = json.dumps(endpoint.jwks).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with serving(server) as port:
        yield f"http://127.0.0.1:{port}/.well-known/jwks.json"
