"""Alembic environment: online migrations over asyncpg, version table in `blog`."""

from blog_service.models import SCHEMA, Base
from titanium_common.serve import run_async_migrations

run_async_migrations(Base.metadata, SCHEMA)
