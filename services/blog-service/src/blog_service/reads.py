"""Cached reads shared by the JSON API and the UI.

Answers are cached as the exact JSON bytes the API returns, so a cache hit
costs two Redis round trips and no serialisation, and never touches
PostgreSQL: with the database down, whatever is cached is still served.
"""

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from titanium_common.db import is_unavailable
from titanium_common.errors import ServiceUnavailable

from blog_service import repository
from blog_service.cache import GenerationCache
from blog_service.schemas import CategoryWithCount, PostPage

log = logging.getLogger(__name__)


class BlogReader:
    def __init__(self, cache: GenerationCache, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.cache = cache
        self.sessions = sessions

    async def _from_database(self, query):  # type: ignore[no-untyped-def]
        try:
            async with self.sessions() as session:
                return await query(session)
        except Exception as exc:
            if is_unavailable(exc):
                log.warning("database unavailable for a read", extra={"error": repr(exc)})
                raise ServiceUnavailable("database") from exc
            raise

    async def post_page(
        self, *, limit: int, offset: int, category: str | None, search: str | None
    ) -> bytes:
        parts = (limit, offset, category, search)
        generation, cached = await self.cache.lookup("posts", *parts)
        if cached is not None:
            return cached

        async def query(session: AsyncSession) -> bytes:
            posts, total = await repository.list_posts(
                session, limit=limit, offset=offset, category_slug=category, search=search
            )
            page = PostPage(
                items=[repository.post_out(post) for post in posts],
                total=total,
                limit=limit,
                offset=offset,
            )
            return page.model_dump_json().encode()

        body = await self._from_database(query)
        await self.cache.set(generation, body, "posts", *parts)
        return body

    async def post(self, post_id: int) -> bytes | None:
        generation, cached = await self.cache.lookup("post", post_id)
        if cached is not None:
            return cached

        async def query(session: AsyncSession) -> bytes | None:
            post = await repository.get_post(session, post_id)
            return None if post is None else repository.post_out(post).model_dump_json().encode()

        body = await self._from_database(query)
        if body is not None:
            await self.cache.set(generation, body, "post", post_id)
        return body

    async def categories(self) -> bytes:
        generation, cached = await self.cache.lookup("categories")
        if cached is not None:
            return cached

        async def query(session: AsyncSession) -> bytes:
            categories = await repository.categories_with_counts(session)
            return b"[" + b",".join(c.model_dump_json().encode() for c in categories) + b"]"

        body = await self._from_database(query)
        await self.cache.set(generation, body, "categories")
        return body


def category_list(raw: bytes) -> list[CategoryWithCount]:
    from pydantic import TypeAdapter

    return TypeAdapter(list[CategoryWithCount]).validate_json(raw)
