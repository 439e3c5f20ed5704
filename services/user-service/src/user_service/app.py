from pathlib import Path

from fastapi import FastAPI
from titanium_common import AppContext, create_app

from user_service.passwords import Passwords
from user_service.routers import internal, users
from user_service.settings import Settings

ALEMBIC_DIR = Path(__file__).resolve().parents[2] / "alembic"


def build_app(settings: Settings) -> FastAPI:
    async def start(ctx: AppContext) -> None:
        ctx.extras["passwords"] = Passwords(settings)

    async def stop(ctx: AppContext) -> None:
        if "passwords" in ctx.extras:
            ctx.extras["passwords"].close()

    return create_app(
        settings,
        title="user-service",
        description="Profiles and credentials of the Titanium blog's users.",
        routers=[users.router, internal.router],
        on_startup=[start],
        on_shutdown=[stop],
    )
