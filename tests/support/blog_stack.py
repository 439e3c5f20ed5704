"""The whole blog as real processes: PostgreSQL, Redis, migrations, the four
services and the gateway in front of them, each on free 127.0.0.1 ports.

    with blog_stack(workdir) as stack:
        client, user = new_user(stack)      # registered and logged in through the gateway
        stack.services["blog"].process      # kill it to see the gateway fail
        stack.metrics_ports["gateway"]      # each service's dedicated metrics port

Used by tests/integration/test_blog_e2e.py and the observability tier (tests/e2e).
"""

import contextlib
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.support.servers import (
    PostgresServer,
    RedisServer,
    free_port,
    postgres_server,
    provision_service,
    redis_server,
)
from tests.support.services import RunningService, run_command, running_service

PASSWORD = "e2e password 1"
# Short name in the stack -> the service's own name (its metrics' `service` label).
SERVICE_NAMES = {
    "user": "user-service",
    "auth": "auth-service",
    "blog": "blog-service",
    "gateway": "api-gateway",
}


class Stack:
    def __init__(
        self,
        pg: PostgresServer,
        redis: RedisServer,
        services: dict[str, RunningService],
        metrics_ports: dict[str, int],
    ):
        self.pg, self.redis, self.services = pg, redis, services
        self.metrics_ports = metrics_ports
        self.gateway = services["gateway"].url

    def client(self, address: str | None = None) -> httpx.Client:
        """A client that looks like its own address behind the one trusted proxy."""
        address = address or f"192.0.2.{secrets.randbelow(250) + 1}-{secrets.token_hex(2)}"
        return httpx.Client(base_url=self.gateway, headers={"X-Forwarded-For": address}, timeout=10)


@contextlib.contextmanager
def blog_stack(
    workdir: Path,
    gateway_settings: dict[str, str] | None = None,
    service_env: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """`gateway_settings` override the gateway's environment, e.g. the trusted
    hop count a rendered tree gives it; `service_env` is added to every
    service's, e.g. the OTEL_* variables that turn tracing on."""
    key_file = workdir / "auth-key.pem"
    key_file.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ports = {name: free_port() for name in SERVICE_NAMES}
    metrics_ports = {name: free_port() for name in SERVICE_NAMES}
    with postgres_server() as pg, redis_server() as redis:
        jwks = f"http://127.0.0.1:{ports['auth']}/.well-known/jwks.json"

        def env(prefix: str, name: str, role: str | None) -> dict[str, str]:
            values = {
                **(service_env or {}),
                f"{prefix}PORT": str(ports[name]),
                f"{prefix}METRICS_PORT": str(metrics_ports[name]),
                f"{prefix}REDIS_URL": redis.url,
                f"{prefix}JWKS_URL": jwks,
            }
            if role:
                values[f"{prefix}DATABASE_URL"] = provision_service(
                    pg, role, role, secrets.token_urlsafe(12)
                )
            return values

        user_env = env("USER_", "user", "users") | {
            "USER_ARGON2_TIME_COST": "1",
            "USER_ARGON2_MEMORY_KIB": "8192",
        }
        auth_env = env("AUTH_", "auth", "auth") | {
            "AUTH_ENVIRONMENT": "production",
            "AUTH_SIGNING_KEY_FILE": str(key_file),
            "AUTH_USER_SERVICE_URL": f"http://127.0.0.1:{ports['user']}",
        }
        blog_env = env("BLOG_", "blog", "blog")
        gateway_env = (
            env("GATEWAY_", "gateway", None)
            | {
                "GATEWAY_AUTH_URL": f"http://127.0.0.1:{ports['auth']}",
                "GATEWAY_USER_URL": f"http://127.0.0.1:{ports['user']}",
                "GATEWAY_BLOG_URL": f"http://127.0.0.1:{ports['blog']}",
                "GATEWAY_TRUSTED_PROXY_HOPS": "1",
                "GATEWAY_LOGIN_PER_ADDRESS": "5",
                "GATEWAY_WRITES_PER_USER": "20",
            }
            | (gateway_settings or {})
        )
        run_command("user_service", "migrate", user_env)
        run_command("auth_service", "migrate", auth_env)
        run_command("blog_service", "migrate", blog_env)
        with (
            running_service("user_service", ports["user"], user_env) as user,
            running_service("auth_service", ports["auth"], auth_env) as auth,
            running_service("blog_service", ports["blog"], blog_env) as blog,
            running_service("api_gateway", ports["gateway"], gateway_env) as gateway,
        ):
            services = {"user": user, "auth": auth, "blog": blog, "gateway": gateway}
            yield Stack(pg, redis, services, metrics_ports)


def new_user(stack: Stack, client: httpx.Client | None = None) -> tuple[httpx.Client, dict]:
    """Register and log in a fresh user; the client carries its access token."""
    client = client or stack.client()
    username = f"u{secrets.token_hex(5)}"
    created = client.post(
        "/api/auth/register",
        json={"username": username, "email": f"{username}@example.org", "password": PASSWORD},
    )
    assert created.status_code == 201, created.text
    tokens = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert tokens.status_code == 200, tokens.text
    client.headers["Authorization"] = f"Bearer {tokens.json()['access_token']}"
    return client, {"username": username, "id": created.json()["id"], **tokens.json()}
