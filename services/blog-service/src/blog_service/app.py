"""The blog-service application."""

from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from titanium_common.app import create_app

from blog_service.routers import categories, posts, ui
from blog_service.settings import BlogSettings
from blog_service.state import start_blog

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
