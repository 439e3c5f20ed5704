"""Run a Titanium service as a real uvicorn process for end-to-end tests."""

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.servers import free_port


@dataclass
class RunningService:
    name: str
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")


def run_command(module: str, command: str, env: dict[str, str], timeout: float = 60) -> str:
    """Run `python -m module command` (e.g. migrate) and return its output; raise on failure."""
    result = subprocess.run(
        [sys.executable, "-m", module, command],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{module} {command} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout + result.stderr


@contextlib.contextmanager
def running_service(
    module: str, port: int, env: dict[str, str], *, ready_path: str = "/health/live"
) -> Iterator[RunningService]:
    """Start `python -m module serve` with `env` and wait until it answers."""
    log_file = tempfile.NamedTemporaryFile(prefix=f"{module}-", suffix=".log", delete=False)  # noqa: SIM115  closed below
    process = subprocess.Popen(
        [sys.executable, "-m", module, "serve"],
        env={**os.environ, **env},
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    service = RunningService(module, port, process, Path(log_file.name))
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{module} exited {process.returncode}:\n{service.logs()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(service.url + ready_path, timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{module} not ready in 30 s:\n{service.logs()}")
            time.sleep(0.1)
        yield service
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log_file.close()
        Path(log_file.name).unlink(missing_ok=True)


@contextlib.contextmanager
def running_user_service(
    database_url: str, redis_url: str, **settings: str
) -> Iterator[RunningService]:
    """user-service migrated and serving, with cheap argon2 unless `settings`
    (USER_* variables) say otherwise."""
    env = {
        "USER_DATABASE_URL": database_url,
        "USER_REDIS_URL": redis_url,
        "USER_PORT": str(free_port()),
        "USER_METRICS_PORT": "0",
        "USER_ARGON2_TIME_COST": "1",
        "USER_ARGON2_MEMORY_KIB": "8192",
        **settings,
    }
    run_command("user_service", "migrate", env)
    with running_service("user_service", int(env["USER_PORT"]), env) as service:
        yield service
