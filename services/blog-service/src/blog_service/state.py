"""What blog-service keeps for the app's lifetime, beside the shared context."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from titanium_common.app import AppContext

from blog_service.cache import GenerationCache
from blog_service.markdown import Renderer
from blog_service.reads import BlogReader
from blog_service.settings import BlogSettings


@dataclass
class BlogState:
    settings: BlogSettings
    cache: GenerationCache
    reader: BlogReader
    templates: Jinja2Templates
    renderer: Renderer


async def start_blog(ctx: AppContext) -> None:
    """Lifespan hook: build the blog's pieces on the shared ones."""
    settings: BlogSettings = ctx.settings
    assert ctx.database is not None, "blog-service needs BLOG_DATABASE_URL"
    cache = GenerationCache(ctx.cache, ttl_seconds=settings.cache_ttl_seconds)
    ctx.extras["blog"] = BlogState(
        settings=settings,
        cache=cache,
        reader=BlogReader(cache, ctx.database.sessions, settings),
        templates=Jinja2Templates(directory=settings.resource_dir / "templates"),
        renderer=Renderer(),
    )


# async: FastAPI runs a plain `def` dependency in a worker thread, a hop per request.
async def blog_state(request: Request) -> BlogState:
    return request.app.state.ctx.extras["blog"]


Blog = Annotated[BlogState, Depends(blog_state)]
