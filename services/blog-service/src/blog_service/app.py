"""The blog-service application."""

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from titanium_common.app import create_app

from blog_service.routers import categories, posts, ui
from blog_service.settings import BlogSettings
from blog_service.state import start_blog


def build_app(settings: BlogSettings) -> FastAPI:
    app = create_app(
        settings,
        title="Titanium blog-service",
        description="Blog posts and categories, and the server-rendered blog UI under /blog/.",
        routers=[posts.router, categories.router, ui.build_router(settings.ui_prefix)],
        on_startup=[start_blog],
    )
    app.mount(
        f"{settings.ui_prefix}/static",
        StaticFiles(directory=settings.resource_dir / "static"),
        name="static",
    )
    return app
