"""Async SQLAlchemy engine and sessions, made in the app's lifespan.

A down database turns into a 503 within the connect timeout, and the pool
recovers by itself when the database returns (pre-ping replaces dead
connections), so no restart is needed.
"""

import asyncio
import logging
from collections.abc import AsyncIterator

from fastapi import Request
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from titanium_common.errors import ServiceUnavailable
from titanium_common.settings import ServiceSettings

log = logging.getLogger(__name__)


def is_unavailable(exc: BaseException) -> bool:
    """True when the error means 'database unreachable', not 'bad query'."""
    # PoolTimeout: every pooled connection busy past the wait; overloaded is unavailable too.
    if isinstance(exc, OperationalError | InterfaceError | OSError | TimeoutError | PoolTimeout):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        # asyncpg's names for a server that is starting, stopping or gone.
        name = type(exc.orig).__name__ if exc.orig is not None else ""
        return (
            name
            in {
                "CannotConnectNowError",
                "AdminShutdownError",
                "ConnectionDoesNotExistError",
                "ConnectionFailureError",
                "InternalClientError",
                "TooManyConnectionsError",
            }
            or "connection" in str(exc.orig).lower()
        )
    return False


class Database:
    def __init__(self, settings: ServiceSettings) -> None:
        self.engine: AsyncEngine = create_async_engine(
            settings.database_connect_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            pool_pre_ping=True,
            pool_timeout=settings.database_connect_timeout,
            connect_args={
                "timeout": settings.database_connect_timeout,
                "command_timeout": settings.database_statement_timeout,
                "server_settings": {"application_name": settings.service_name},
            },
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.connect_timeout = settings.database_connect_timeout

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(self.connect_timeout):
                async with self.engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
            return True
        except Exception as exc:  # any failure means not ready; the reason is logged
            log.warning("database ping failed", extra={"error": repr(exc)})
            return False

    def pool_stats(self) -> dict[str, int]:
        pool = self.engine.pool
        return {
            "checked_out": pool.checkedout(),  # type: ignore[attr-defined]
            "idle": pool.checkedin(),  # type: ignore[attr-defined]
            "overflow": max(pool.overflow(), 0),  # type: ignore[attr-defined]
        }

    async def dispose(self) -> None:
        await self.engine.dispose()


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: a session; database outages become a quick 503."""
    database: Database | None = request.app.state.ctx.database
    if database is None:
        raise ServiceUnavailable("database")
    async with database.sessions() as session:
        try:
            yield session
        except Exception as exc:
            if is_unavailable(exc):
                log.warning("database unavailable", extra={"error": repr(exc)})
                raise ServiceUnavailable("database") from exc
            raise
