"""blog-service fixtures on the shared ones: the `blog` schema migrated in a real
PostgreSQL, a real Redis, a JWKS served over HTTP, and the service itself run
as a real process (`python -m blog_service serve`)."""

import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.support.servers import PostgresServer, RedisServer, free_port, wait_for_port

SERVICE_ROOT = Path(__file__).resolve().parents[1]
ISSUER, AUDIENCE, KID = "titanium-auth", "titanium", "test-key"


def migrate(database_url: str) -> None:
    """Run the real `blog-service migrate` command."""
    subprocess.run(
        [sys.executable, "-m", "blog_service", "migrate"],
        env={**os.environ, "BLOG_DATABASE_URL": database_url},
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture(scope="session")
def blog_database_url(service_database: Callable[[str], str]) -> str:
    """The `blog` role's URL, with the schema migrated to head."""
    url = service_database("blog")
    migrate(url)
    return url


@dataclass
class Signer:
    """Mints access tokens the way auth-service does (EdDSA, kid, iss, aud)."""

    key: Ed25519PrivateKey
    jwks_url: str

    def token(self, user_id: int, username: str, *, expires_in: int = 900, **extra) -> str:
        now = int(time.time())
        claims = {
            "sub": str(user_id),
            "username": username,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + expires_in,
            **extra,
        }
        return jwt.encode(claims, self.key, algorithm="EdDSA", headers={"kid": KID})

    def headers(self, user_id: int, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user_id, username)}"}


@pytest.fixture(scope="session")
def signer() -> Iterator[Signer]:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes_raw()
    jwks = {
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "alg": "EdDSA",
                "use": "sig",
                "kid": KID,
                "x": base64.urlsafe_b64encode(public).rstrip(b"=").decode(),
            }
        ]
    }
    payload = json.dumps(jwks).encode()

    class JwksHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), JwksHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Signer(key, f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json")
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class BlogProcess:
    url: str
    metrics_url: str
    process: subprocess.Popen
    log_path: Path

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10, **kwargs)


def start_blog(
    database_url: str, redis_url: str, jwks_url: str, log_dir: Path, **env: str
) -> BlogProcess:
    port, metrics_port = free_port(), free_port()
    log_path = log_dir / f"blog-service-{port}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "blog_service", "serve"],
        env={
            **os.environ,
            "BLOG_PORT": str(port),
            "BLOG_METRICS_PORT": str(metrics_port),
            "BLOG_DATABASE_URL": database_url,
            "BLOG_REDIS_URL": redis_url,
            "BLOG_JWKS_URL": jwks_url,
            **env,
        },
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, timeout=30)
    except TimeoutError:
        process.kill()
        raise RuntimeError(f"blog-service did not start:\n{log_path.read_text()}") from None
    return BlogProcess(
        f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}", process, log_path
    )


def stop_blog(blog: BlogProcess) -> None:
    blog.process.terminate()
    try:
        blog.process.wait(15)
    except subprocess.TimeoutExpired:
        blog.process.kill()
        blog.process.wait(5)


@pytest.fixture(scope="session")
def blog_service(
    blog_database_url: str,
    redis_service: RedisServer,
    signer: Signer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BlogProcess]:
    """One blog-service process for the session, on real PostgreSQL and Redis."""
    blog = start_blog(
        blog_database_url, redis_service.url, signer.jwks_url, tmp_path_factory.mktemp("blog")
    )
    try:
        yield blog
    finally:
        stop_blog(blog)


@pytest.fixture
def api(blog_service: BlogProcess) -> Iterator[httpx.Client]:
    with blog_service.client() as client:
        yield client


@pytest.fixture(scope="session")
def pg(postgres: PostgresServer) -> PostgresServer:
    return postgres
