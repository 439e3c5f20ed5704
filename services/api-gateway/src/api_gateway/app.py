from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from titanium_common import AppContext, Cache, create_app

from api_gateway.proxy import proxy
from api_gateway.settings import Settings
from api_gateway.upstream import Upstream

METHODS = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]


def labelled_route(path: str) -> Route:
    """A proxy route that names itself in the scope, as FastAPI's routes do, so
    metrics and logs carry the route template rather than "unmatched"."""

    async def endpoint(request: Request) -> Response:
        request.scope["state"]["route_template"] = path
        return await proxy(request)

    return Route(path, endpoint, methods=METHODS, include_in_schema=False)


def build_app(settings: Settings) -> FastAPI:
    async def start(ctx: AppContext) -> None:
        ctx.extras["limits"] = (
            Cache(
                settings.ratelimit_redis_url,
                ctx.metrics,
                timeout=settings.redis_timeout,
                key_prefix=f"{settings.service_name}:",
                password=settings.redis_password,
            )
            if settings.ratelimit_redis_url
            else ctx.cache
        )
        ctx.extras["upstreams"] = {
            name: Upstream(
                url,
                max_connections=settings.pool_connections,
                connect_timeout=settings.connect_timeout,
                read_timeout=settings.read_timeout,
            )
            for name, url in (
                ("auth", settings.auth_url),
                ("user", settings.user_url),
                ("blog", settings.blog_url),
            )
        }

    async def stop(ctx: AppContext) -> None:
        for upstream in ctx.extras["upstreams"].values():
            await upstream.aclose()
        if ctx.extras["limits"] is not ctx.cache:
            await ctx.extras["limits"].close()

    app = create_app(
        settings,
        title="api-gateway",
        description="The blog's only public entry: /api/* to the services, /blog/* to the UI.",
        on_startup=[start],
        on_shutdown=[stop],
    )

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/blog/", status_code=302)

    # Whole-segment prefixes; the proxy re-checks the raw path against the table.
    for prefix in ("/api/auth", "/api/users", "/api/posts", "/api/categories", "/blog"):
        for path in (prefix, prefix + "/{rest:path}"):
            app.router.routes.append(labelled_route(path))
    return app
