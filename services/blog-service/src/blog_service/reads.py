"""Cached reads shared by the JSON API and the UI.

Answers are cached as the exact JSON bytes the API returns, so a cache hit
costs at most a share of one Redis round trip and no serialisation, and never
touches PostgreSQL: with the database down, whatever is cached is still served.

Only a bounded set of list pages is cached (`BlogSettings.list_cached_pages`):
the pages everyone reads, the first few of the front page and of each
category, at the sizes the API and the UI ask for by default. Searches, deep
offsets and odd sizes are each asked rarely, so caching them would buy little
and let anyone create an entry per request; they go to PostgreSQL, whose
search is indexed and whose offsets are capped. A category page is cached
only when the category has posts, so made-up slugs leave nothing behind: the
entries per generation stay under (categories + 1) x 2 sizes x pages, and
as many UI pages around them (routers/ui.py).
"""

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from titanium_common.db import is_unavailable
from titanium_common.errors import ServiceUnavailable

from blog_service import repository
from blog_service.cache import GenerationCache
from blog_service.schemas import CategoryWithCount, PostSummary
from blog_service.settings import BlogSettings

log = logging.getLogger(__name__)


# The page's JSON around its items, with room for the largest numbers it can hold.
_ENVELOPE_BYTES = 128
# The API's default `limit` (routers/posts.py): one of the sizes worth caching.
API_PAGE_SIZE = 10


def page_json(
    summaries: list[PostSummary], *, total: int, limit: int, offset: int, max_bytes: int
) -> bytes:
    """A PostPage's JSON, with as many of `summaries` as fit in `max_bytes` (one at least)."""
    items: list[bytes] = []
    size = _ENVELOPE_BYTES
    for summary in summaries:
        item = summary.model_dump_json().encode()
        if items and size + len(item) + 1 > max_bytes:
            break
        items.append(item)
        size += len(item) + 1
    following = offset + len(items)
    next_offset = str(following) if following < total else "null"
    # Concatenated rather than dumped again: each item is already pydantic's
    # JSON, and the envelope is numbers.
    tail = f'],"total":{total},"limit":{limit},"offset":{offset},"next_offset":{next_offset}}}'
    return b'{"items":[' + b",".join(items) + tail.encode()


class BlogReader:
    def __init__(
        self,
        cache: GenerationCache,
        sessions: async_sessionmaker[AsyncSession],
        settings: BlogSettings,
    ) -> None:
        self.cache = cache
        self.sessions = sessions
        self.max_bytes = settings.list_max_bytes
        self.cached_sizes = frozenset({API_PAGE_SIZE, settings.page_size})
        self.cached_pages = settings.list_cached_pages

    def cacheable(self, limit: int, offset: int, search: str | None) -> bool:
        """Whether the list page (and the UI page around it) is one of those cached."""
        return (
            search is None
            and limit in self.cached_sizes
            and offset % limit == 0
            and offset < limit * self.cached_pages
        )

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
        cacheable = self.cacheable(limit, offset, search)
        generation = None
        if cacheable:
            generation, cached = await self.cache.lookup("posts", *parts)
            if cached is not None:
                return cached

        async def query(session: AsyncSession) -> tuple[bytes, int]:
            posts, total = await repository.list_posts(
                session, limit=limit, offset=offset, category_slug=category, search=search
            )
            summaries = [repository.post_summary(post) for post in posts]
            body = page_json(
                summaries, total=total, limit=limit, offset=offset, max_bytes=self.max_bytes
            )
            return body, total

        async def fill() -> bytes:
            body, total = await self._from_database(query)
            if cacheable and (category is None or total > 0):
                await self.cache.set(generation, body, "posts", *parts)
            return body

        return await self.cache.once(generation, fill, "posts", *parts)

    async def post(self, post_id: int) -> bytes | None:
        generation, cached = await self.cache.lookup("post", post_id)
        if cached is not None:
            return cached

        async def query(session: AsyncSession) -> bytes | None:
            post = await repository.get_post(session, post_id)
            return None if post is None else repository.post_out(post).model_dump_json().encode()

        async def fill() -> bytes | None:
            body = await self._from_database(query)
            if body is not None:
                await self.cache.set(generation, body, "post", post_id)
            return body

        return await self.cache.once(generation, fill, "post", post_id)

    async def categories(self) -> bytes:
        generation, cached = await self.cache.lookup("categories")
        if cached is not None:
            return cached

        async def query(session: AsyncSession) -> bytes:
            categories = await repository.categories_with_counts(session)
            return b"[" + b",".join(c.model_dump_json().encode() for c in categories) + b"]"

        async def fill() -> bytes:
            body = await self._from_database(query)
            await self.cache.set(generation, body, "categories")
            return body

        return await self.cache.once(generation, fill, "categories")


def category_list(raw: bytes) -> list[CategoryWithCount]:
    from pydantic import TypeAdapter

    return TypeAdapter(list[CategoryWithCount]).validate_json(raw)
