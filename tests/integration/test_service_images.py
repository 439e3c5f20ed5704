"""The services' images, built from services/Dockerfile with podman on the local
Python base (scripts/services/build-image.sh, as `make images` does) and run the
way the cluster runs them: as uid 10001 on a read-only root filesystem with no
capabilities, migrating and serving against a real PostgreSQL."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.servers import free_port

pytestmark = pytest.mark.slow
REPO_ROOT = Path(__file__).resolve().parents[2]
SERVICES = REPO_ROOT / "services"
# Where the cluster mounts auth-service's key (gitops/services/base/__service__).
KEY_DIR = "/var/run/secrets/titanium/signing-key"
# What the cluster's securityContext does to every service container.
LOCKED_DOWN = ["--read-only", "--cap-drop=all", "--security-opt=no-new-privileges"]


@dataclass(frozen=True)
class Service:
    prefix: str
    package: str
    schema: str | None  # its database role and schema; None: no database


IMAGES = {
    "api-gateway": Service("GATEWAY", "api_gateway", None),
    "user-service": Service("USER", "user_service", "users"),
    "auth-service": Service("AUTH", "auth_service", "auth"),
    "blog-service": Service("BLOG", "blog_service", "blog"),
    # Bookinfo's one image; BOOKINFO_SERVICE picks the service (productpage by default).
    "bookinfo": Service("BOOKINFO", "bookinfo", None),
}


@pytest.fixture(scope="module")
def podman_env() -> dict[str, str]:
    if shutil.which("podman") is None:
        pytest.skip("podman is missing: `make setup` installs it (requirements/apt.txt)")
    return {**os.environ, "CONTAINERS_CONF": str(REPO_ROOT / "molecule/k3s/containers.conf")}


def podman(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["podman", *args], env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)}: rc={result.returncode}\n{result.stderr}")
    return result


@pytest.fixture
def image(service, podman_env, figures) -> Iterator[str]:
    """The service's image under a tag of this test's own, removed afterwards.
    Built with podman's layer cache, as `make images` builds: the build is the
    same either way, and the rehearsal, which runs `make images` at the start of
    a test run, then pays for the layers once instead of twice. A change to the
    Dockerfile or the sources still rebuilds from the first layer it touches."""
    name = f"localhost/titanium-{service}:test-{secrets.token_hex(4)}"
    started = time.monotonic()
    build = subprocess.run(
        [str(REPO_ROOT / "scripts/services/build-image.sh"), service, name],
        env=podman_env,
        capture_output=True,
        text=True,
    )
    figures(f"{build.stdout.strip()}; {time.monotonic() - started:.0f} s with the base check")
    assert build.returncode == 0, build.stderr[-4000:]
    try:
        yield name
    finally:
        podman(podman_env, "rmi", "--force", name, check=False)


def shell(env: dict[str, str], image: str, script: str, *, root: bool = False) -> str:
    """`sh -c SCRIPT` in the image as it runs, or as root to see every file."""
    options = ["--user=0"] if root else LOCKED_DOWN
    return podman(env, "run", "--rm", *options, "--entrypoint=sh", image, "-c", script).stdout


def expected_files(service: str) -> set[str]:
    """/app as the image should hold it: the shared library's and the service's
    sources and resources that Git has or would have (never what it ignores)."""
    folders = {"common/src": "src"} | {
        f"{service}/{part}": part for part in ("src", "alembic", "templates", "static")
    }
    files = set()
    for folder, target in folders.items():
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", folder],
            cwd=SERVICES,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        files |= {
            f"/app/{target}/{Path(path).relative_to(folder)}"
            for path in listed
            if (SERVICES / path).is_file()
        }
    return files


def is_compiled(path: str) -> bool:
    return Path(path).parent.name == "__pycache__" and path.endswith(".pyc")


def check_contents(env: dict[str, str], image: str, service: str) -> None:
    in_image = set(shell(env, image, "find /app -type f").split())
    sources = {path for path in in_image if not is_compiled(path)}
    assert sources == expected_files(service), "the image's /app differs from the sources"
    orphans = {
        pyc
        for pyc in in_image - sources
        if f"{Path(pyc).parents[1]}/{Path(pyc).name.split('.')[0]}.py" not in sources
    }
    assert orphans == set(), "compiled files without their source (a host's __pycache__?)"
    leftovers = shell(
        env,
        image,
        "find / -xdev \\( -name '.env' -o -name '*.env' -o -name '*.key' -o -name 'id_rsa*'"
        " -o -name '*signing*' -o -name conftest.py -o -name '*.egg-info' \\) -print",
        root=True,
    )
    assert leftovers.split() == [], "secrets or development leftovers in the image"
    tools = shell(
        env, image, "for c in gcc cc c++ clang ld as make; do command -v $c; done; ls /opt/venv/bin"
    ).split()
    assert [tool for tool in tools if "/" in tool or tool.startswith("pip")] == [], (
        "a compiler, or pip in the virtualenv, in the runtime image"
    )


def check_config(env: dict[str, str], image: str, service: str) -> None:
    config = json.loads(podman(env, "image", "inspect", image).stdout)[0]["Config"]
    spec = IMAGES[service]
    assert config.get("User") == "10001:10001", "the image runs as root"
    assert config["Entrypoint"] == ["python", "-m", spec.package]
    assert config["Cmd"] == ["serve"]
    assert {f"{spec.prefix}_HOST=0.0.0.0", f"{spec.prefix}_ENVIRONMENT=production"} <= set(
        config["Env"]
    )
    assert shell(env, image, "id -u; id -g").split() == ["10001", "10001"]


def settings(service: str, database_url: str | None) -> dict[str, str]:
    """What the cluster's ConfigMap and Secrets would give; loopback, since the
    test runs the container on the host's network to reach its PostgreSQL."""
    prefix = IMAGES[service].prefix
    values = {"HOST": "127.0.0.1", "PORT": str(free_port()), "METRICS_PORT": str(free_port())}
    if database_url:
        values["DATABASE_URL"] = database_url
    return {f"{prefix}_{name}": value for name, value in values.items()}


def env_args(values: dict[str, str]) -> list[str]:
    return [f"--env={name}={value}" for name, value in values.items()]


@contextmanager
def serving(
    env: dict[str, str], image: str, service: str, values: dict[str, str], *extra: str
) -> Iterator[str]:
    """`IMAGE` (its default command, serve) running until the block ends; yields its URL."""
    name = f"titanium-image-test-{secrets.token_hex(4)}"
    port = values[f"{IMAGES[service].prefix}_PORT"]
    podman(env, "run", "--detach", f"--name={name}", "--network=host", *LOCKED_DOWN,
           *extra, *env_args(values), image)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            state = podman(env, "inspect", "--format={{.State.Running}}", name).stdout.strip()
            assert state == "true", podman(env, "logs", name).stderr[-4000:]
            try:
                if httpx.get(f"{url}/health/live", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, podman(env, "logs", name).stderr[-4000:]
            time.sleep(0.2)
        yield url
    finally:
        podman(env, "rm", "--force", "--time=5", name, check=False)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("service", list(IMAGES))
def test_image_builds_and_serves_locked_down(
    service, image, podman_env, service_database, tmp_path
):
    env, spec = podman_env, IMAGES[service]
    check_config(env, image, service)
    check_contents(env, image, service)

    values = settings(service, service_database(spec.schema) if spec.schema else None)
    if spec.schema:
        migrate = podman(env, "run", "--rm", "--network=host", *LOCKED_DOWN,
                         *env_args(values), image, "migrate")  # fmt: skip
        assert "migrated" in migrate.stdout + migrate.stderr

    mounts: list[str] = []
    if service == "auth-service":
        refused = podman(env, "run", "--rm", *LOCKED_DOWN, *env_args(values), image, check=False)
        assert refused.returncode == 2 and "AUTH_SIGNING_KEY_FILE" in refused.stderr
        # Readable by uid 10001, as the Secret's files are through fsGroup in the cluster.
        keys = tmp_path / "signing-key"
        keys.mkdir(mode=0o755)
        key = keys / "private-key.pem"
        # As auth-service's README tells an operator to make one.
        subprocess.run(
            ["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(key)], check=True
        )
        key.chmod(0o444)
        mounts = [f"--volume={keys}:{KEY_DIR}:ro"]
        values["AUTH_SIGNING_KEY_FILE"] = f"{KEY_DIR}/{key.name}"

    with serving(env, image, service, values, *mounts) as url:
        assert httpx.get(f"{url}/health/ready", timeout=5).status_code == 200
        if service == "auth-service":
            jwks = httpx.get(f"{url}/.well-known/jwks.json", timeout=5).json()
            assert [key["alg"] for key in jwks["keys"]] == ["EdDSA"]
        if service == "blog-service":  # templates/ and static/ found in /app
            page = httpx.get(f"{url}/blog/", timeout=5)
            assert page.status_code == 200 and "<html" in page.text.lower()
            assert httpx.get(f"{url}/blog/static/blog.css", timeout=5).status_code == 200
        if service == "bookinfo":  # productpage, its callees absent: the page says so
            product = httpx.get(f"{url}/api/v1/products/0", timeout=10).json()
            assert product["details"] == {"error": "details are unavailable"}
