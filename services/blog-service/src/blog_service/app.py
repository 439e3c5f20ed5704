"""The blog-service application."""

from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import Response
from titanium_common.app import create_app
from titanium_common.errors import ServiceUnavailable, unavailable_response
from titanium_common.fastpath import FastPath

from blog_service.reads import API_PAGE_SIZE
from blog_service.routers import categories, posts, ui
from blog_service.settings import BlogSettings
from blog_service.state import BlogState, start_blog

# What a 422 really looks like here (titanium_common's error handler), instead
# of FastAPI's default description, so clients and schemathesis see the truth.
VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "title": "ValidationFailed",
    "type": "object",
    "required": ["status", "detail", "fields"],
    "properties": {
        "status": {"type": "integer", "enum": [422]},
        "detail": {"type": "string"},
        "request_id": {"type": "string"},
        "fields": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


def _describe_real_errors(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            document.setdefault("components", {}).setdefault("schemas", {})[
                "HTTPValidationError"
            ] = VALIDATION_ERROR_SCHEMA
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def build_app(settings: BlogSettings) -> FastAPI:
    app = create_app(
        settings,
        title="Titanium blog-service",
        description="Blog posts and categories, and the server-rendered blog UI under /blog/.",
        routers=[posts.router, categories.router, ui.build_router(settings.ui_prefix)],
        on_startup=[start_blog],
    )
    # No trailing-slash redirects (create_app): the API answers /posts/ with a
    # 404; the UI redirects with a relative path (ui.py).
    app.mount(
        f"{settings.ui_prefix}/static",
        StaticFiles(directory=settings.resource_dir / "static"),
        name="static",
    )
    _describe_real_errors(app)
    return app


# The routes (and metrics labels) the fast path answers, as routers/posts.py names it.
FRONT_PAGE_ROUTE = "/posts"


class FrontPageFastPath(FastPath):
    """What uvicorn serves: the two front pages without a query string, `GET
    /posts` (the API's: what the gateway's /api/posts and every client's first
    look ask for) and `GET /blog/` (the UI's), answered from the cached bytes
    without FastAPI's layers (titanium_common's FastPath). They answer what
    the routers answer for their defaults (routers/posts.py's list_posts,
    routers/ui.py's index_page), the same 503 when the database is needed and
    down included. Anything else is the FastAPI app's.
    """

    def __init__(self, app: FastAPI, settings: BlogSettings) -> None:
        super().__init__(app)
        self.index_route = f"{settings.ui_prefix}/"

    def route(self, scope: dict[str, Any]) -> str | None:
        if scope["method"] != "GET" or scope.get("query_string"):
            return None
        path = scope["path"]
        return path if path in (FRONT_PAGE_ROUTE, self.index_route) else None

    async def answer(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        blog: BlogState = self.app.state.ctx.extras["blog"]
        response: Response
        if scope["path"] == self.index_route:
            response = await ui.index_page(
                blog, Request(scope, receive), page=1, category=None, q=None
            )
        else:
            try:
                body = await blog.reader.post_page(
                    limit=API_PAGE_SIZE, offset=0, category=None, search=None
                )
                response = Response(body, media_type="application/json")
            except ServiceUnavailable as exc:
                response = unavailable_response(exc)
        await response(scope, receive, send)


def build_served_app(settings: BlogSettings) -> FrontPageFastPath:
    return FrontPageFastPath(build_app(settings), settings)
