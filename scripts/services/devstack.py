"""`make services-up` / `make services-down`: the blog on 127.0.0.1 for developers.

PostgreSQL keeps its data under build/services/pg (kept between runs), Redis
runs without persistence, each service gets its own role and schema with a
password generated here (build/services/secrets.env, mode 600), migrations run
as their own step, and the four services start in the background with JSON
logs in build/services/logs/. A development signing key is generated under
build/services/ at the first run. Idempotent: what already runs is left alone.
TITANIUM_SERVICES_STATE moves that directory and TITANIUM_SERVICES_PORT_BASE the
services' ports (default 8000: the gateway; auth +2, user +1, blog +5; metrics
1000 above each), so that scripts/rehearsal.py runs a stack of its own.

usage: python scripts/services/devstack.py up|down|status
"""

import argparse
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support.servers import PostgresServer, provision_service, wait_for_port  # noqa: E402

STATE = Path(os.environ.get("TITANIUM_SERVICES_STATE", ROOT / "build" / "services"))
LOGS = STATE / "logs"
RUN = STATE / "run"
PG_PORT = int(os.environ.get("TITANIUM_PG_PORT", "55432"))
REDIS_PORT = int(os.environ.get("TITANIUM_REDIS_PORT", "56379"))

PORT_BASE = int(os.environ.get("TITANIUM_SERVICES_PORT_BASE", "8000"))

# name, module, env prefix, port, database role/schema (None: no database)
SERVICES = [
    ("user-service", "user_service", "USER_", PORT_BASE + 1, "users"),
    ("auth-service", "auth_service", "AUTH_", PORT_BASE + 2, "auth"),
    ("blog-service", "blog_service", "BLOG_", PORT_BASE + 5, "blog"),
    ("api-gateway", "api_gateway", "GATEWAY_", PORT_BASE, None),
]
URLS = {name: f"http://127.0.0.1:{port}" for name, _, _, port, _ in SERVICES}


def alive(pid_file: Path) -> bool:
    try:
        os.kill(int(pid_file.read_text()), 0)
        return True
    except (OSError, ValueError):
        return False


def secrets_env() -> dict[str, str]:
    path = STATE / "secrets.env"
    if not path.exists():
        lines = [
            f"{role.upper()}_DB_PASSWORD={secrets.token_urlsafe(24)}"
            for *_, role in SERVICES
            if role
        ]
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)
    return dict(line.split("=", 1) for line in path.read_text().split())


def signing_key() -> Path:
    path = STATE / "dev-signing-key.pem"
    if not path.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.write_bytes(pem)
        path.chmod(0o600)
    return path


def start_redis() -> None:
    pid_file = RUN / "redis.pid"
    if alive(pid_file):
        return
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(REDIS_PORT),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=(LOGS / "redis.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    pid_file.write_text(str(process.pid))
    wait_for_port(REDIS_PORT)


def postgres() -> PostgresServer:
    return PostgresServer(data_dir=STATE / "pg", port=PG_PORT)


def service_env(
    prefix: str, port: int, role: str | None, passwords: dict[str, str], pg: PostgresServer
) -> dict[str, str]:
    env = {
        f"{prefix}PORT": str(port),
        f"{prefix}HOST": "127.0.0.1",
        f"{prefix}REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
        f"{prefix}JWKS_URL": f"{URLS['auth-service']}/.well-known/jwks.json",
    }
    if role:
        env[f"{prefix}DATABASE_URL"] = pg.url(role, passwords[f"{role.upper()}_DB_PASSWORD"])
    # `errors-and-slow` runs the services as the GitOps tree does behind Istio's
    # sidecars (TITANIUM_ACCESS_LOG=errors-and-slow make services-up); unset, every request.
    if os.environ.get("TITANIUM_ACCESS_LOG"):
        env[f"{prefix}ACCESS_LOG"] = os.environ["TITANIUM_ACCESS_LOG"]
    return env


def up() -> None:
    for folder in (STATE, LOGS, RUN):
        folder.mkdir(parents=True, exist_ok=True)
    passwords = secrets_env()
    pg = postgres()
    if not (pg.data / "postmaster.pid").exists():
        pg.start()
    start_redis()
    extra = {
        "AUTH_SIGNING_KEY_FILE": str(signing_key()),
        "AUTH_USER_SERVICE_URL": URLS["user-service"],
        "GATEWAY_AUTH_URL": URLS["auth-service"],
        "GATEWAY_USER_URL": URLS["user-service"],
        "GATEWAY_BLOG_URL": URLS["blog-service"],
        # The load generator plays many clients through X-Forwarded-For, as the
        # ingress gateway (one trusted hop) would report them.
        "GATEWAY_TRUSTED_PROXY_HOPS": os.environ.get("GATEWAY_TRUSTED_PROXY_HOPS", "1"),
    }
    for name, module, prefix, port, role in SERVICES:
        env = {**os.environ, **service_env(prefix, port, role, passwords, pg), **extra}
        if role:
            provision_service(pg, role, role, passwords[f"{role.upper()}_DB_PASSWORD"])
            subprocess.run(
                [sys.executable, "-m", module, "migrate"], env=env, check=True, capture_output=True
            )
        pid_file = RUN / f"{name}.pid"
        if alive(pid_file):
            continue
        process = subprocess.Popen(
            [sys.executable, "-m", module, "serve"],
            env=env,
            stdout=(LOGS / f"{name}.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        pid_file.write_text(str(process.pid))
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"{name} did not become ready; see {LOGS / (name + '.log')}")
            time.sleep(0.2)
        print(f"services-up: {name} ready on 127.0.0.1:{port}")
    print(f"services-up: the blog answers at {URLS['api-gateway']}/blog/")


def down() -> None:
    for name in [s[0] for s in reversed(SERVICES)] + ["redis"]:
        pid_file = RUN / f"{name}.pid"
        if alive(pid_file):
            pid = int(pid_file.read_text())
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except OSError:
                    break
                time.sleep(0.1)
        pid_file.unlink(missing_ok=True)
    if (STATE / "pg" / "data" / "postmaster.pid").exists():
        postgres().stop()
    print("services-down: stopped")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["up", "down"])
    args = parser.parse_args()
    up() if args.action == "up" else down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
