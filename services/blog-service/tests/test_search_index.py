"""Search is answered from trigram indexes, not by reading every post's body."""

import asyncio
import os
import secrets
import subprocess
import sys

from blog_service import repository
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from titanium_common.provision import provision

from tests.support.servers import postgres_server


def _plans_of_a_search(database_url: str) -> list[str]:
    """EXPLAIN of every statement the repository sends for one search, as the blog role."""

    async def scenario() -> list[str]:
        engine = create_async_engine(database_url)
        statements: list[tuple[str, object]] = []

        def record(_conn, _cursor, statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
            if "ILIKE" in statement.upper():
                statements.append((statement, parameters))

        try:
            async with async_sessionmaker(engine)() as session:
                # Without this a near-empty table is read sequentially whatever
                # indexes exist; with it, only a missing index forces a scan.
                await session.execute(text("SET enable_seqscan = off"))
                # Nor may the planner walk every post through the category index
                # inside a join (what it chose once the table held other tests'
                # rows): the posts must be found by what the search matches.
                await session.execute(text("SET enable_nestloop = off"))
                # ...nor walk the category index from end to end beside a merge
                # join (what it chose when the tests ran in another order): with
                # plain index scans off, the trigram indexes' bitmap scans are the
                # one way left to the posts that does not cost a disabled path.
                await session.execute(text("SET enable_indexscan = off"))
                event.listen(engine.sync_engine, "before_cursor_execute", record)
                await repository.list_posts(session, limit=10, offset=0, search="needle")
                event.remove(engine.sync_engine, "before_cursor_execute", record)
                connection = await session.connection()
                plans = []
                for statement, parameters in statements:
                    result = await connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
                    plans.append("\n".join(row[0] for row in result))
                return plans
        finally:
            await engine.dispose()

    return asyncio.run(scenario())


def test_search_uses_the_trigram_indexes(blog_database_url: str) -> None:
    plans = _plans_of_a_search(blog_database_url)
    assert plans, "the search sent no ILIKE"
    for plan in plans:
        assert "Seq Scan on posts" not in plan, plan
    counted = plans[0]
    assert "ix_posts_title_trgm" in counted and "ix_posts_body_markdown_trgm" in counted, counted


def test_the_migration_installs_pg_trgm_where_it_may_and_says_who_must_where_not() -> None:
    with postgres_server() as pg:
        # As the services share a database here: the role has no CREATE on it.
        password = secrets.token_urlsafe(16)
        asyncio.run(provision(pg.admin_dsn, "blog", "blog", password))
        url = pg.url("blog", password)
        refused = _migrate(url)
        assert refused.returncode != 0
        assert "pg_trgm" in refused.stderr and "titanium_common.provision" in refused.stderr

        # As in the cluster, where the role owns its database: it installs the
        # (trusted) extension itself.
        database = pg.psql("SELECT current_database()").strip()
        pg.psql(f"GRANT CREATE ON DATABASE {database} TO blog")
        assert _migrate(url).returncode == 0
        installed = "SELECT extnamespace::regnamespace FROM pg_extension WHERE extname = 'pg_trgm'"
        assert pg.psql(installed).strip() == "blog"


def _migrate(database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "blog_service", "migrate"],
        env={**os.environ, "BLOG_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
