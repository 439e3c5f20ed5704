"""blog-service settings, read from `BLOG_*` environment variables."""

from pathlib import Path

from pydantic import Field
from titanium_common.settings import ServiceSettings, service_config

# src/blog_service/settings.py -> the service folder holding templates/, static/, alembic/
_SOURCE_ROOT = Path(__file__).resolve().parents[2]


class BlogSettings(ServiceSettings):
    model_config = service_config("BLOG_")

    service_name: str = "blog-service"
    port: int = 8005
    # Where templates/, static/ and alembic/ live: the source tree by default,
    # /app in the container image.
    resource_dir: Path = _SOURCE_ROOT
    # Cached entries also expire, which bounds staleness if a generation bump
    # was lost while Redis was unreachable from this replica (see cache.py).
    cache_ttl_seconds: int = 300
    # Where the UI's routes live and what its links start with. The gateway
    # forwards /blog/* with the path unchanged, so both are /blog.
    ui_prefix: str = "/blog"
    # Where the browser reaches the JSON API: the gateway's /api/*.
    public_api_base: str = "/api"
    page_size: int = 10
    # Deeper offsets are refused (422): PostgreSQL reads and discards every
    # row before the offset, so an unbounded one is a cheap way to burn CPU.
    # Past this, narrow the list with a category or a search instead.
    max_list_offset: int = 10_000
    # A list page's JSON stops short of this many bytes, whatever `limit`
    # asks; `next_offset` says where to go on. One summary is a few KiB at
    # the most, so the floor always leaves room for one.
    list_max_bytes: int = Field(65_536, ge=8_192)
    # Which list pages are cached: those without a search, of the API's
    # default size or the UI's, among the first this many pages. Any other
    # query goes to PostgreSQL, so no stream of distinct queries can fill Redis.
    list_cached_pages: int = Field(5, ge=0)
