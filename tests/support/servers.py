"""Real PostgreSQL 15 and Redis 7 as plain processes on free 127.0.0.1 ports.

No mocks: tests get the actual servers Debian ships. PostgreSQL refuses to run
as root, so when the tests run as root the data directory is handed to the
`postgres` user (created by Debian's package) and every server command runs
through `runuser`.

    with postgres_server() as pg:      # pg.admin_dsn, pg.url(role, password)
        pg.restart()                   # stop and start on the same port
    with redis_server() as redis:      # redis.url
        redis.stop(); redis.start()
"""

import contextlib
import os
import pwd
import shutil
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from tests.support.ports import free_port

PG_BIN = Path(os.environ.get("TITANIUM_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_SUPERUSER = "titanium"
PG_DATABASE = "titanium"


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@contextlib.contextmanager
def serving(server: socketserver.BaseServer) -> Iterator[int]:
    """Serve `server` from a thread while the block runs; yields its port, and
    shuts it down and closes it after."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def stop_process(process: subprocess.Popen, grace: float = 15.0) -> None:
    """SIGTERM, then SIGKILL if it has not exited after `grace` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def _run_as() -> tuple[list[str], str | None]:
    """The command prefix and owner for PostgreSQL's processes."""
    if os.geteuid() != 0:
        return [], None
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise RuntimeError("running as root needs the `postgres` user: install postgresql") from exc
    return ["runuser", "-u", "postgres", "--"], "postgres"


class PostgresServer:
    def __init__(self, data_dir: Path | None = None, port: int | None = None) -> None:
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(
                f"PostgreSQL binaries not found in {PG_BIN}: apt-get install postgresql"
            )
        self._own_dir = data_dir is None
        self.base = data_dir or Path(tempfile.mkdtemp(prefix="titanium-pg-"))
        self.base.mkdir(parents=True, exist_ok=True)
        self.data = self.base / "data"
        self.port = port or free_port()
        self.prefix, owner = _run_as()
        if owner:
            shutil.chown(self.base, owner)
        self.base.chmod(0o700)

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://{PG_SUPERUSER}@127.0.0.1:{self.port}/{PG_DATABASE}"

    def url(self, role: str, password: str, driver: str = "postgresql+asyncpg") -> str:
        """The role's URL, its password escaped by SQLAlchemy (any character works)."""
        from sqlalchemy.engine import URL

        url = URL.create(
            driver,
            username=role,
            password=password,
            host="127.0.0.1",
            port=self.port,
            database=PG_DATABASE,
        )
        return url.render_as_string(hide_password=False)

    def _pg(self, *args: str, **kwargs: object) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.prefix, *args], check=True, capture_output=True, text=True, **kwargs
        )

    def init(self) -> None:
        if (self.data / "PG_VERSION").exists():
            return
        self._pg(
            str(PG_BIN / "initdb"),
            "-D", str(self.data),
            "-U", PG_SUPERUSER,
            # Local superuser trusted on loopback only; service roles use passwords.
            "--auth-local=trust", "--auth-host=scram-sha-256",
            "--no-sync", "-E", "UTF8", "--locale=C",
        )  # fmt: skip
        hba = self.data / "pg_hba.conf"
        hba.write_text(
            f"local all all trust\n"
            f"host all {PG_SUPERUSER} 127.0.0.1/32 trust\n"
            f"host all all 127.0.0.1/32 scram-sha-256\n"
        )

    def start(self) -> None:
        self.init()
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.base} "
            "-c fsync=off -c synchronous_commit=on -c full_page_writes=off "
            "-c max_connections=200"
        )
        self._pg(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.base / "postgres.log"), "-w", "-t", "30", "start",
        )  # fmt: skip
        self._ensure_database()

    def _ensure_database(self) -> None:
        query = f"SELECT 1 FROM pg_database WHERE datname = '{PG_DATABASE}'"  # noqa: S608  constant
        exists = self.psql(query, "postgres")
        if exists.strip() != "1":
            self.psql(f"CREATE DATABASE {PG_DATABASE}", "postgres")

    def psql(self, sql: str, database: str = PG_DATABASE) -> str:
        return self._pg(
            str(PG_BIN / "psql"), "-h", str(self.base), "-p", str(self.port),
            "-U", PG_SUPERUSER, "-d", database, "-tAq", "-v", "ON_ERROR_STOP=1", "-c", sql,
        ).stdout  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, down_seconds: float = 0.0) -> None:
        """Stop, stay down for `down_seconds`, start again on the same port."""
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def cleanup(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        if self._own_dir:
            shutil.rmtree(self.base, ignore_errors=True)


class RedisServer:
    def __init__(self, port: int | None = None, extra_args: tuple[str, ...] = ()) -> None:
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server not found: apt-get install redis-server")
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="titanium-redis-"))
        self.extra_args = extra_args
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
                *self.extra_args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def postgres_server(data_dir: Path | None = None) -> Iterator[PostgresServer]:
    server = PostgresServer(data_dir)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@contextlib.contextmanager
def redis_server(*extra_args: str) -> Iterator[RedisServer]:
    """A private redis-server; `extra_args` as on its command line (--maxmemory 1mb)."""
    server = RedisServer(extra_args=extra_args)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


# Extensions a service's migrations need: here every service shares one
# database, where its role may not create them, so provisioning does.
SERVICE_EXTENSIONS = {"blog": ("pg_trgm",)}


def provision_service(pg: PostgresServer, role: str, schema: str, password: str) -> str:
    """Create the role and schema a service owns; return its asyncpg URL."""
    import asyncio

    from titanium_common.provision import provision

    asyncio.run(provision(pg.admin_dsn, role, schema, password, SERVICE_EXTENSIONS.get(schema, ())))
    return pg.url(role, password)
