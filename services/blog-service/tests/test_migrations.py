"""Migrations that change data, run step by step against a real PostgreSQL."""

import asyncio
import secrets

from alembic import command
from alembic.config import Config
from titanium_common.provision import provision

from tests.support.servers import SERVICE_EXTENSIONS, postgres_server

from .conftest import SERVICE_ROOT


def test_posts_written_before_excerpts_existed_get_one() -> None:
    with postgres_server() as pg:
        password = secrets.token_urlsafe(16)
        asyncio.run(provision(pg.admin_dsn, "blog", "blog", password, SERVICE_EXTENSIONS["blog"]))
        config = Config()
        config.set_main_option("script_location", str(SERVICE_ROOT / "alembic"))
        config.attributes["database_url"] = pg.url("blog", password)
        command.upgrade(config, "0002")
        pg.psql(
            "INSERT INTO blog.posts (title, body_markdown, body_html, author_id, author_name,"
            " category_id) SELECT 'Old', E'# Old\\n\\nA *kept* post', '', 1, 'old', min(id)"
            " FROM blog.categories"
        )
        command.upgrade(config, "head")
        assert pg.psql("SELECT excerpt FROM blog.posts WHERE title = 'Old'").strip() == (
            "Old A kept post"
        )
