from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from titanium_common import AppContext, Cache, create_app, health
from titanium_common.fastpath import FastPath

from api_gateway import ratelimit
from api_gateway.proxy import proxy
from api_gateway.routing import resolve
from api_gateway.settings import Settings
from api_gateway.upstream import Upstream

METHODS = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]


PUBLIC_PREFIXES = ("/api/auth", "/api/users", "/api/posts", "/api/categories", "/blog")


def route_label(prefix: str, path: str) -> str:
    """The route template metrics and logs carry, the same on either path in."""
    return prefix if path == prefix else prefix + "/{rest:path}"


def labelled_route(path: str) -> Route:
    """A proxy route that names itself in the scope, as FastAPI's routes do, so
    metrics and logs carry the route template rather than "unmatched"."""

    async def endpoint(request: Request) -> Response:
        request.scope["state"]["route_template"] = path
        return await proxy(request)

    return Route(path, endpoint, methods=METHODS, include_in_schema=False)


async def root() -> RedirectResponse:
    return RedirectResponse("/blog/", status_code=302)


def build_app(settings: Settings) -> FastAPI:
    async def start(ctx: AppContext) -> None:
        ctx.extras["limits"] = (
            Cache(
                settings.ratelimit_redis_url,
                ctx.metrics,
                timeout=settings.redis_timeout,
                key_prefix=f"{settings.service_name}:",
                password=settings.redis_password_value,
            )
            if settings.ratelimit_redis_url
            else ctx.cache
        )
        ctx.extras["counter"] = ratelimit.Counter(ctx.extras["limits"])
        if ctx.extras["limits"] is not ctx.cache:
            # Down, logins are refused: the readiness answer says so, and its ping
            # ends the cache layer's back-off as soon as the store is back.
            ctx.degradable_checks["ratelimit"] = ctx.extras["limits"].ping
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

    app.get("/", include_in_schema=False)(root)

    # Whole-segment prefixes; the proxy re-checks the raw path against the table.
    for prefix in PUBLIC_PREFIXES:
        for path in (prefix, prefix + "/{rest:path}"):
            app.router.routes.append(labelled_route(path))
    return app


# GETs the fast path answers with the very endpoints FastAPI routes them to: the
# seed shape asks both on every iteration, half of its requests.
LOCAL_ROUTES: dict[str, Callable[[Request], Awaitable[Response]]] = {
    "/": lambda _request: root(),
    "/health/ready": health.ready,
}


class ProxyFastPath(FastPath):
    """What uvicorn serves: proxied requests go through the observability
    middleware straight to the proxy, skipping FastAPI's exception, routing and
    dependency layers (a third of the gateway's CPU per request in a py-spy
    profile under wrk; titanium_common's FastPath), and so do GET / and GET
    /health/ready, to the endpoints FastAPI would call; everything else (the
    other methods there, liveness, OpenAPI, lifespan) is the FastAPI app's.
    With tracing on, every request takes the FastAPI path, whose
    instrumentation opens the span the proxy continues.
    """

    def route(self, scope: dict[str, Any]) -> str | None:
        if scope["path"] in LOCAL_ROUTES:
            return scope["path"] if scope["method"] == "GET" else None
        match = resolve(scope.get("raw_path", b"").decode("latin-1") or scope["path"])
        return None if match is None else route_label(match[0].prefix, scope["path"])

    async def answer(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        local = LOCAL_ROUTES.get(scope["path"])
        response = await (local(request) if local is not None else proxy(request))
        await response(scope, receive, send)


def build_served_app(settings: Settings) -> ProxyFastPath:
    return ProxyFastPath(build_app(settings))
