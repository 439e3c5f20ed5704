"""Liveness and readiness.

Ready means: the database answers (when the service has one). Redis down does
not make a service unready — caching and rate limiting degrade instead — but
the answer says so, so operators see it.
"""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
async def ready(request: Request) -> JSONResponse:
    ctx = request.app.state.ctx
    checks: dict[str, str] = {}
    healthy = True
    if ctx.database is not None:
        database_up = await ctx.database.ping()
        checks["database"] = "ok" if database_up else "down"
        healthy = database_up
    if ctx.cache.client is not None:
        checks["redis"] = "ok" if await ctx.cache.ping() else "degraded"
    for name, check in ctx.degradable_checks.items():
        checks[name] = "ok" if await check() else "degraded"
    for name, check in ctx.readiness_checks.items():
        ok = await check()
        checks[name] = "ok" if ok else "down"
        healthy = healthy and ok
    return JSONResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status_code=200 if healthy else 503,
    )
