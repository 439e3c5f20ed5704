from pathlib import Path

from fastapi import FastAPI
from titanium_common import AppContext, create_app
from titanium_common.clients import service_client

from auth_service.keys import load_signing_key
from auth_service.routers import accounts, sessions
from auth_service.settings import Settings

ALEMBIC_DIR = Path(__file__).resolve().parents[2] / "alembic"


def build_app(settings: Settings) -> FastAPI:
    # Loaded before the app exists, so a missing key stops the start with its setting's name.
    key = load_signing_key(settings)

    async def start(ctx: AppContext) -> None:
        ctx.extras["key"] = key
        ctx.extras["users"] = service_client(
            base_url=settings.user_service_url,
            timeout=settings.upstream_timeout,
            max_connections=50,
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
