"""Migrations that change data, run step by step against a real PostgreSQL."""

import asyncio
import secrets

from alembic import command
from alembic.config import Config
from titanium_common.provision import provision

from tests.support.servers import SERVICE_EXTENSIONS, PostgresServer, postgres_server

from .conftest import SERVICE_ROOT


def _migrated_over(pg: PostgresServer, revision: str, old_rows_sql: str) -> Config:
    """Schema `blog` up to `revision`, rows written by that era's service, then up to head."""
    password = secrets.token_urlsafe(16)
    asyncio.run(provision(pg.admin_dsn, "blog", "blog", password, SERVICE_EXTENSIONS["blog"]))
    config = Config()
    config.set_main_option("script_location", str(SERVICE_ROOT / "alembic"))
    config.attributes["database_url"] = pg.url("blog", password)
    command.upgrade(config, revision)
    pg.psql(old_rows_sql)
    command.upgrade(config, "head")
    return config


def test_posts_written_before_excerpts_existed_get_one() -> None:
    with postgres_server() as pg:
        _migrated_over(
            pg,
            "0002",
            "INSERT INTO blog.posts (title, body_markdown, body_html, author_id, author_name,"
            " category_id) SELECT 'Old', E'# Old\\n\\nA *kept* post', '', 1, 'old', min(id)"
            " FROM blog.categories",
        )
        assert pg.psql("SELECT excerpt FROM blog.posts WHERE title = 'Old'").strip() == (
            "Old A kept post"
        )


def test_categories_stored_before_keys_keep_their_slugs() -> None:
    from blog_service.repository import category_for_name
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    with postgres_server() as pg:
        # Names and the ASCII-only slugs the service gave them then.
        config = _migrated_over(
            pg,
            "0003",
            "INSERT INTO blog.categories (name, slug) VALUES ('C++/Rust', 'c-rust'),"
            " ('Ünïcode & Friends!', 'unicode-friends'), ('Straße', 'strae'),"
            " ('STRASSE', 'strasse');"
            "INSERT INTO blog.posts (title, body_markdown, body_html, excerpt, author_id,"
            " author_name, category_id) SELECT 'Old', 'b', '', 'b', 1, 'old', id"
            " FROM blog.categories WHERE slug = 'strasse'",
        )
        rows = pg.psql(
            "SELECT slug, coalesce(name_key, '<none>') FROM blog.categories ORDER BY id"
        ).splitlines()
        assert rows == [
            "general|general",
            "technology|technology",
            "tutorials|tutorials",
            "travel|travel",
            "food|food",
            "c-rust|c++/rust",
            "unicode-friends|ünïcode & friends!",
            "strae|strasse",
            "strasse|<none>",  # the younger twin keeps its URL and its post
        ]

        async def named(*names: str) -> list[tuple[str, str]]:
            engine = create_async_engine(config.attributes["database_url"])
            try:
                async with async_sessionmaker(engine)() as session:
                    found = [await category_for_name(session, name) for name in names]
                    pairs = [(c.name, c.slug) for c in found]
                    await session.commit()
                    return pairs
            finally:
                await engine.dispose()

        c_rust, unicode, strasse, c_space_rust, technology = asyncio.run(
            named("c++/rust", "ÜNÏCODE & friends!", "strasse", "C Rust", "TECHNOLOGY")
        )
        assert c_rust == ("C++/Rust", "c-rust")
        assert unicode == ("Ünïcode & Friends!", "unicode-friends")
        assert strasse == ("Straße", "strae")
        assert technology == ("Technology", "technology")
        # "c-rust" is the old category's: the new one takes the hashed slug.
        assert c_space_rust[0] == "C Rust" and c_space_rust[1].startswith("c-rust--")
        assert (
            pg.psql(
                "SELECT count(*) FROM blog.posts p JOIN blog.categories c"
                " ON c.id = p.category_id WHERE c.slug = 'strasse'"
            ).strip()
            == "1"
        )
