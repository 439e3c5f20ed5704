"""pytest fixtures over tests.support.servers, shared by services/ and tests/.

Import them where needed: `from tests.support.fixtures import *  # noqa: F403`
(services/conftest.py does so for every service's tests).
"""

import secrets
from collections.abc import Callable, Iterator

import pytest

from tests.support.servers import (
    PostgresServer,
    RedisServer,
    postgres_server,
    provision_service,
    redis_server,
)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL 15 for the session; tests isolate by role and schema."""
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def redis_service() -> Iterator[RedisServer]:
    """One real Redis 7 for the session."""
    with redis_server() as server:
        yield server


@pytest.fixture(scope="session")
def service_database(postgres: PostgresServer) -> Callable[[str], str]:
    """Factory: `service_database("blog")` provisions role and schema `blog` (once)
    and returns the asyncpg URL that role connects with."""
    urls: dict[str, str] = {}

    def make(name: str) -> str:
        if name not in urls:
            urls[name] = provision_service(postgres, name, name, secrets.token_urlsafe(16))
        return urls[name]

    return make
