from pathlib import Path

import httpx
from fastapi import FastAPI
from titanium_common import AppContext, create_app

from auth_service.keys import load_signing_key
from auth_service.routers import accounts, sessions
from auth_service.settings import Settings

ALEMBIC_DIR = Path(__file__).resolve().parents[2] / "alembic"


def build_app(settings: Settings) -> FastAPI:
    # Loaded before the app exists, so a missing key stops the start with its setting's name.
    key = load_signing_key(settings)

    async def start(ctx: AppContext) -> None:
        ctx.extras["key"] = key
        ctx.extras["users"] = httpx.AsyncClient(
            base_url=settings.user_service_url,
            timeout=settings.upstream_timeout,
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
        )

    async def stop(ctx: AppContext) -> None:
        await ctx.extras["users"].aclose()

    return create_app(
        settings,
        title="auth-service",
        description="Registration, login, refresh-token rotation and the JWKS.",
        routers=[accounts.router, sessions.router],
        on_startup=[start],
        on_shutdown=[stop],
    )
