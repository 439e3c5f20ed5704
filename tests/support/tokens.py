"""Access tokens for tests: a fresh Ed25519 key, its JWKS, and signed tokens."""

import contextlib
import http.server
import json
import threading
import time
from collections.abc import Iterator

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


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


@contextlib.contextmanager
def serving_jwks(jwks: dict) -> Iterator[str]:
    """Serve `jwks` over HTTP on a free loopback port; yields its URL."""
    body = json.dumps(jwks).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()
