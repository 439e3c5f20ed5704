"""One JSON error shape for every service: {"detail": ..., "status": ..., "request_id": ...}."""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from titanium_common.logs import request_id_var

log = logging.getLogger(__name__)


class ServiceUnavailable(Exception):
    """A dependency the request cannot do without is down: answer 503 at once."""

    def __init__(self, dependency: str) -> None:
        super().__init__(dependency)
        self.dependency = dependency


def error_body(status: int, detail: object, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {"status": status, "detail": detail}
    body.update(extra)
    request_id = request_id_var.get()
    if request_id:
        body["request_id"] = request_id
    return body


def unavailable_response(exc: ServiceUnavailable) -> JSONResponse:
    """The 503 every service answers when a dependency it needs is down (also
    what a service's own fast path answers, outside FastAPI's handlers)."""
    return JSONResponse(
        error_body(503, f"{exc.dependency} unavailable"),
        status_code=503,
        headers={"Retry-After": "1"},
    )


def _field_name(location: tuple[object, ...] | list[object]) -> str:
    return ".".join(str(part) for part in location)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            error_body(exc.status_code, exc.detail),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [
            {"field": _field_name(err.get("loc", ())), "message": err.get("msg", "invalid")}
            for err in exc.errors()
        ]
        return JSONResponse(
            error_body(422, "invalid request", fields=fields),
            status_code=422,
        )

    @app.exception_handler(ServiceUnavailable)
    async def unavailable(_request: Request, exc: ServiceUnavailable) -> JSONResponse:
        return unavailable_response(exc)
