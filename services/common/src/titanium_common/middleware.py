"""The ASGI middleware in front of every service.

One pass does what each request needs before and after the app: a request id
and W3C trace context, the body-size limit, the per-route metrics and the one
JSON log line. Written as plain ASGI because it runs on every request.
"""

import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from starlette.exceptions import HTTPException

from titanium_common.logs import request_id_var, trace_id_var
from titanium_common.metrics import Metrics

log = logging.getLogger("titanium.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
UNMATCHED_ROUTE = "unmatched"


class BodyTooLarge(HTTPException):
    """An HTTPException, so the framework's body parsing passes it through as a 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit} bytes", {"Connection": "close"})


def parse_traceparent(value: str | None) -> tuple[str, str] | None:
    """(trace_id, flags) of a valid traceparent header, else None."""
    if not value:
        return None
    match = _TRACEPARENT.match(value.strip())
    if not match or match.group(1) == "0" * 32 or match.group(2) == "0" * 16:
        return None
    return match.group(1), match.group(3)


def new_traceparent(trace_id: str, flags: str = "01") -> str:
    """A traceparent for this hop: same trace, a fresh span id."""
    return f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"


def route_template(scope: dict[str, Any]) -> str:
    # An endpoint may name its route in the shared state (the gateway's proxy does):
    # routers may hand endpoints a copy of the scope, but the state dict is shared.
    named = scope.get("state", {}).get("route_template")
    if named:
        return named
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return path or UNMATCHED_ROUTE


def options_from(settings: Any) -> dict[str, Any]:
    """The middleware's options as a service's settings give them, for the app's
    middleware and for a fast path's alike."""
    return {
        "max_body_bytes": settings.max_body_bytes,
        "log_every_request": settings.access_log == "all",
        "slow_seconds": settings.access_log_slow_ms / 1000,
    }


async def _send_json(send: Any, status: int, body: dict[str, object], headers: list) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class ObservabilityMiddleware:
    def __init__(
        self,
        app: Any,
        *,
        metrics: Metrics,
        max_body_bytes: int,
        quiet_routes: frozenset[str] = frozenset({"/health/live", "/health/ready"}),
        log_every_request: bool = True,
        slow_seconds: float = 0.25,
        current_trace: Callable[[], tuple[str, str, str] | None] | None = None,
    ) -> None:
        self.app = app
        # With tracing on: the span the instrumentation opened around this
        # middleware, so logs and hand-made traceparents carry the exported trace.
        self.current_trace = current_trace
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.quiet_routes = quiet_routes
        # Off, only errors and slow requests get a line (errors-and-slow).
        self.log_every_request = log_every_request
        self.slow_seconds = slow_seconds
        self._in_flight = metrics.child(metrics.in_flight)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        headers = dict(scope["headers"])
        incoming_id = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming_id if _REQUEST_ID.match(incoming_id) else secrets.token_hex(16)
        span = self.current_trace() if self.current_trace is not None else None
        # A sampled, exported trace becomes the latency's exemplar: Grafana's
        # latency panels link from a slow bucket to a trace that shows why.
        exemplar = None
        if span is not None:
            trace_id, span_id, flags = span
            traceparent = f"00-{trace_id}-{span_id}-{flags}"
            if int(flags, 16) & 1:
                exemplar = {"trace_id": trace_id}
        else:
            parent = parse_traceparent(headers.get(b"traceparent", b"").decode("latin-1"))
            trace_id, flags = parent if parent else (secrets.token_hex(16), "01")
            traceparent = new_traceparent(trace_id, flags)
        # Handlers and the gateway's proxy read these to propagate them.
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["traceparent"] = traceparent
        request_token = request_id_var.set(request_id)
        trace_token = trace_id_var.set(trace_id)

        method = scope["method"]
        started = time.perf_counter()
        status_holder = {"status": 500, "started": False}
        id_header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                message["headers"] = [*message.get("headers", []), id_header]
            await send(message)

        received = 0

        async def limited_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        in_flight = self._in_flight
        in_flight.inc()
        try:
            declared = headers.get(b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
                await self._too_large(send_with_id, request_id)
            else:
                try:
                    await self.app(scope, limited_receive, send_with_id)
                except BodyTooLarge:
                    if not status_holder["started"]:
                        await self._too_large(send_with_id, request_id)
        except Exception:
            log.exception("unhandled error", extra={"method": method, "path": scope["path"]})
            if not status_holder["started"]:
                await _send_json(
                    send_with_id,
                    500,
                    {"status": 500, "detail": "internal error", "request_id": request_id},
                    [],
                )
        finally:
            in_flight.dec()
            duration = time.perf_counter() - started
            route = route_template(scope)
            status = status_holder["status"]
            metrics = self.metrics
            metrics.child(metrics.requests, method, route, str(status)).inc()
            metrics.child(metrics.latency, method, route).observe(duration, exemplar)
            logged = (
                status >= 400
                or duration >= self.slow_seconds
                or (self.log_every_request and route not in self.quiet_routes)
            )
            if logged and log.isEnabledFor(logging.INFO):
                fields = {
                    "method": method,
                    "route": route,
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(duration * 1000, 3),
                }
                # log.info() would first walk the stack for the caller's file and
                # line, which the JSON line never carries: 39,000 instructions of
                # the 157,000 the line costs (callgrind). The record is the same.
                log.handle(
                    log.makeRecord(
                        log.name, logging.INFO, __file__, 0, "request", (), None, extra=fields
                    )
                )
            request_id_var.reset(request_token)
            trace_id_var.reset(trace_token)

    async def _too_large(self, send: Any, request_id: str) -> None:
        await _send_json(
            send,
            413,
            {
                "status": 413,
                "detail": f"request body over {self.max_body_bytes} bytes",
                "request_id": request_id,
            },
            [(b"connection", b"close")],
        )
