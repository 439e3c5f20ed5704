"""The app factory every service calls."""

import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Request

from titanium_common.auth import TokenVerifier
from titanium_common.cache import Cache
from titanium_common.db import Database
from titanium_common.errors import install_error_handlers
from titanium_common.health import router as health_router
from titanium_common.logs import configure_logging
from titanium_common.metrics import Metrics
from titanium_common.middleware import ObservabilityMiddleware, options_from
from titanium_common.settings import ServiceSettings
from titanium_common.tracing import Tracing, tracing_requested

log = logging.getLogger(__name__)


@dataclass
class AppContext:
    """Everything a service holds for its lifetime, made and closed in the lifespan."""

    settings: Any
    metrics: Metrics
    cache: Cache
    database: Database | None = None
    verifier: TokenVerifier | None = None
    readiness_checks: dict[str, Callable[[], Awaitable[bool]]] = field(default_factory=dict)
    # Reported by /health/ready as "ok" or "degraded" without making the service
    # unready: what the service works around (the gateway's rate-limit store).
    degradable_checks: dict[str, Callable[[], Awaitable[bool]]] = field(default_factory=dict)
    # Set when OTEL_* variables ask for tracing (see tracing.py); None otherwise.
    tracing: Tracing | None = None
    # Service-specific things (an HTTP client, a signing key...), by name.
    extras: dict[str, Any] = field(default_factory=dict)


Hook = Callable[[AppContext], Awaitable[None]]


async def get_context(request: Request) -> AppContext:
    """FastAPI dependency: the running app's context (async: a plain `def` would
    be run in a worker thread on every request)."""
    return request.app.state.ctx


def create_app(
    settings: ServiceSettings,
    *,
    title: str,
    routers: Iterable[APIRouter] = (),
    on_startup: Iterable[Hook] = (),
    on_shutdown: Iterable[Hook] = (),
    description: str = "",
    version: str = "0.1.0",
) -> FastAPI:
    """A FastAPI app with logs, metrics, health, errors, database, cache and auth wired.

    `on_startup` hooks run after the shared pieces exist (in order); `on_shutdown`
    hooks run before they are closed (in reverse order).
    """
    configure_logging(settings.service_name, settings.log_level)
    metrics = Metrics(settings.service_name)
    tracing = Tracing(settings.service_name) if tracing_requested() else None
    startup_hooks = list(on_startup)
    shutdown_hooks = list(on_shutdown)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = AppContext(
            settings=settings,
            metrics=metrics,
            cache=Cache(
                settings.redis_url,
                metrics,
                timeout=settings.redis_timeout,
                key_prefix=f"{settings.service_name}:",
                password=settings.redis_password_value,
            ),
            tracing=tracing,
        )
        if settings.database_url:
            ctx.database = Database(settings)
            metrics.watch_pool(ctx.database.pool_stats)
            if tracing is not None:
                tracing.instrument_engine(ctx.database.engine)
        if settings.jwks_url:
            ctx.verifier = TokenVerifier(
                settings.jwks_url,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                cache_seconds=settings.jwks_cache_seconds,
            )
        app.state.ctx = ctx
        if settings.metrics_port != 0:
            metrics.serve(settings.effective_metrics_host, settings.effective_metrics_port)
        try:
            for hook in startup_hooks:
                await hook(ctx)
            # A full collection walks every object the imports and start-up made
            # (hundreds of thousands in a FastAPI app): tens of milliseconds added
            # to whichever request triggers it. Frozen, they are never walked again.
            gc.collect()
            gc.freeze()
            log.info("started", extra={"port": settings.port})
            yield
        finally:
            for hook in reversed(shutdown_hooks):
                await hook(ctx)
            if ctx.verifier is not None:
                await ctx.verifier.close()
            await ctx.cache.close()
            if ctx.database is not None:
                await ctx.database.dispose()
            metrics.stop()
            if tracing is not None:
                tracing.shutdown()
            log.info("stopped")

    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        # Swagger UI and ReDoc load their scripts from a CDN, and through the
        # gateway they would run on the blog's origin: no pages, only the
        # document (/openapi.json) for whatever tool an operator points at it.
        docs_url=None,
        redoc_url=None,
        # The middleware refuses an oversized body before any route sees it, so
        # every operation can answer 413: say so, or clients (and fuzzers) are surprised.
        responses={413: {"description": f"Request body over {settings.max_body_bytes} bytes"}},
    )
    # Starlette's trailing-slash redirect builds an absolute URL from the Host
    # header: a client-chosen host at the gateway (an open redirect), a service's
    # internal name behind it. A path is served as written or not at all.
    app.router.redirect_slashes = False
    install_error_handlers(app)
    app.include_router(health_router)
    for router in routers:
        app.include_router(router)
    app.add_middleware(
        ObservabilityMiddleware,
        metrics=metrics,
        **options_from(settings),
        current_trace=tracing.current if tracing is not None else None,
    )
    if tracing is not None:
        tracing.instrument_app(app)
    return app
