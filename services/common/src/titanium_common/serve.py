"""The `serve` and `migrate` commands every service's `__main__` offers."""

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from titanium_common.logs import configure_logging
from titanium_common.settings import ServiceSettings

# How long a service keeps an idle client connection open (uvicorn's default,
# said here so its clients can stay below it: titanium_common.clients).
SERVER_KEEPALIVE_SECONDS = 5


class WritesCoalesced:
    """A transport whose writes of one event-loop turn leave as one send.

    uvicorn writes a response's head and its body separately, and uvloop sends
    each at once: two send syscalls, and on loopback two deliveries the peer
    reads apart. Under wrk the gateway spent an eighth of its samples (py-spy)
    in uvicorn's send, most of it in those syscalls. Held until the end of the
    turn, they go as one; order is kept, and close() sends what is held first.
    """

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._held: list[bytes] = []
        self._loop = asyncio.get_running_loop()

    def write(self, data: bytes) -> None:
        if not self._held:
            self._loop.call_soon(self._send_held)
        self._held.append(data)

    def _send_held(self) -> None:
        held, self._held = self._held, []
        if held and not self._transport.is_closing():
            self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        self._send_held()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(WritesCoalesced(transport))  # type: ignore[arg-type]


def serve(app: Any, settings: ServiceSettings) -> None:
    """One uvicorn worker: scale with replicas, not processes."""
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        workers=1,
        log_config=None,
        access_log=False,
        server_header=False,
        # The gateway derives the client address from X-Forwarded-For with its own
        # trusted-hop count; uvicorn rewriting it first would count a hop twice.
        proxy_headers=False,
        loop="uvloop",
        http=CoalescingHttpToolsProtocol,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=SERVER_KEEPALIVE_SECONDS,
    )


def migrate(alembic_dir: Path, settings: ServiceSettings) -> None:
    """Upgrade the service's schema to the newest migration."""
    from alembic import command
    from alembic.config import Config

    configure_logging(settings.service_name, settings.log_level)
    config = Config()
    config.set_main_option("script_location", str(alembic_dir))
    config.attributes["database_url"] = settings.database_connect_url
    command.upgrade(config, "head")
    logging.getLogger(__name__).info("migrated", extra={"revision": "head"})


def main(
    *,
    prog: str,
    load_settings: Callable[[], ServiceSettings],
    build_app: Callable[[ServiceSettings], Any],
    alembic_dir: Path | None,
    argv: list[str] | None = None,
) -> int:
    parser = argparse.ArgumentParser(prog=prog)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the HTTP service")
    if alembic_dir is not None:
        commands.add_parser("migrate", help="upgrade the database schema to the newest revision")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        if args.command == "migrate":
            assert alembic_dir is not None
            migrate(alembic_dir, settings)
            return 0
        app = build_app(settings)
    except ValueError as exc:  # settings and key errors: say what is wrong, no traceback
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    serve(app, settings)
    return 0


def run_async_migrations(target_metadata: Any, schema: str) -> None:
    """The body of a service's alembic/env.py: online migrations over asyncpg."""
    from alembic import context
    from sqlalchemy import pool
    from sqlalchemy.ext.asyncio import create_async_engine

    url = context.config.attributes.get("database_url") or context.config.get_main_option(
        "sqlalchemy.url"
    )

    def do_run(connection: Any) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table_schema=schema,
            include_schemas=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
            await connection.commit()
        await engine.dispose()

    asyncio.run(run())
