"""Debian's Chromium drives the blog through the whole stack behind the gateway
(tests/support/blog_browser.py says what it does). Saves build/blog-browser.png.

The four services run as real processes on free ports (so a developer's
`make services-up` on the default ports is left alone), on the session's real
PostgreSQL and Redis. The same scenario runs against the real pods through the
rehearsal node's NodePort (tests/integration/test_rehearsal_node.py).
"""

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.support.blog_browser import chromium_page, register_login_write_and_find_the_post
from tests.support.servers import RedisServer, free_port
from tests.support.services import run_command, running_service

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[3]
SCREENSHOT = REPO_ROOT / "build" / "blog-browser.png"


@pytest.fixture(scope="module")
def gateway_url(
    service_database: Callable[[str], str],
    redis_service: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """user-service, auth-service, blog-service and api-gateway, wired as in production."""
    key_file = tmp_path_factory.mktemp("keys") / "signing-key.pem"
    key_file.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    ports = {name: free_port() for name in ("user", "auth", "blog", "gateway")}
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    jwks = f"{url['auth']}/.well-known/jwks.json"
    # module, env prefix, port, database role (None: no database), extra settings
    stack = [
        ("user_service", "USER_", ports["user"], "users", {}),
        (
            "auth_service",
            "AUTH_",
            ports["auth"],
            "auth",
            {"AUTH_SIGNING_KEY_FILE": str(key_file), "AUTH_USER_SERVICE_URL": url["user"]},
        ),
        ("blog_service", "BLOG_", ports["blog"], "blog", {}),
        (
            "api_gateway",
            "GATEWAY_",
            ports["gateway"],
            None,
            {
                "GATEWAY_AUTH_URL": url["auth"],
                "GATEWAY_USER_URL": url["user"],
                "GATEWAY_BLOG_URL": url["blog"],
            },
        ),
    ]
    with contextlib.ExitStack() as running:
        for module, prefix, port, role, extra in stack:
            env = {
                f"{prefix}PORT": str(port),
                f"{prefix}METRICS_PORT": str(free_port()),
                f"{prefix}REDIS_URL": redis_service.url,
                f"{prefix}JWKS_URL": jwks,
                **extra,
            }
            if role:
                env[f"{prefix}DATABASE_URL"] = service_database(role)
                run_command(module, "migrate", env)
            running.enter_context(running_service(module, port, env, ready_path="/health/ready"))
        yield url["gateway"]


def test_register_login_write_and_find_the_post(gateway_url: str, tmp_path: Path) -> None:
    with chromium_page(tmp_path) as page:
        register_login_write_and_find_the_post(page, gateway_url, SCREENSHOT)
