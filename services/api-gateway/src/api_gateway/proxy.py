"""Forwarding one request upstream.

Plain Starlette endpoint rather than a FastAPI route: it runs on every request
and needs no validation or dependency injection.
"""

import json
import logging
import time
from collections.abc import AsyncIterator

import aiohttp
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from titanium_common import AppContext
from titanium_common.auth import InvalidToken
from titanium_common.errors import ServiceUnavailable, error_body

from api_gateway import ratelimit
from api_gateway.clients import client_address
from api_gateway.routing import resolve
from api_gateway.settings import Settings
from api_gateway.upstream import (
    Upstream,
    UpstreamConnectError,
    UpstreamDisconnected,
    UpstreamProtocolError,
    UpstreamResponse,
    forwardable,
)

log = logging.getLogger(__name__)

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
READS = frozenset({"GET", "HEAD", "OPTIONS"})
# Set by the gateway from what it knows, never passed on from the client.
GATEWAY_SET = frozenset(
    {
        "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-request-id",
        "traceparent", "tracestate", "forwarded", "x-real-ip",
    }
)  # fmt: skip
# Request bodies up to this size are read whole (login needs its body for the
# per-username limit; a whole body can be sent again on a retry); larger ones stream.
BUFFERED_REQUEST_BYTES = 64 * 1024
NO_BODY_STATUSES = frozenset({204, 304})
# Limits that refuse when Redis cannot count; every other limit lets requests
# through (reads and authenticated writes keep the blog up during an outage).
FAIL_CLOSED = frozenset({"login_address", "login_username"})
LIMITS_DOWN_RETRY_AFTER = 5


def _login_username(body: bytes) -> str:
    try:
        value = json.loads(body).get("username", "")
    except (ValueError, AttributeError):
        return ""
    return value.strip().lower() if isinstance(value, str) else ""


async def _user_key(ctx: AppContext, request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer ") or ctx.verifier is None:
        return None
    try:
        user = await ctx.verifier.verify(header[7:].strip())
    except (InvalidToken, ServiceUnavailable):
        return None  # the upstream answers 401; the write is limited by address
    return str(user.id)


async def _limits(
    ctx: AppContext, request: Request, address: str, body: bytes
) -> list[ratelimit.Limit]:
    settings: Settings = ctx.settings
    method = request.method
    if method in READS:
        return [ratelimit.Limit("reads", address, settings.reads_per_address)]
    if request.url.path == "/api/auth/login":
        limits = [ratelimit.Limit("login_address", address, settings.login_per_address)]
        username = _login_username(body)
        if username:
            limits.append(ratelimit.Limit("login_username", username, settings.login_per_username))
        return limits
    user = await _user_key(ctx, request)
    subject = f"user:{user}" if user else f"addr:{address}"
    return [ratelimit.Limit("writes", subject, settings.writes_per_user)]


def _forward_headers(request: Request, address: str) -> list[tuple[str, str]]:
    headers = [
        (name, value)
        for name, value in forwardable(request.headers.items())
        if name not in GATEWAY_SET
    ]
    state = request.scope.get("state", {})
    prior = request.headers.get("x-forwarded-for")
    peer = request.client.host if request.client else address
    # What request.url.scheme reads, without building a URL on every request.
    scheme = request.scope.get("scheme", "http")
    headers += [
        ("x-forwarded-for", f"{prior}, {peer}" if prior else peer),
        ("x-forwarded-proto", request.headers.get("x-forwarded-proto", scheme)),
        ("x-forwarded-host", request.headers.get("host", "")),
        ("x-request-id", state.get("request_id", "")),
        # With tracing on, the aiohttp instrumentation replaces it with its
        # client span's, so the service's span is that span's child.
        ("traceparent", state.get("traceparent", "")),
    ]
    return headers


async def proxy(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    settings: Settings = ctx.settings
    raw_path = (
        request.scope.get("raw_path", b"").decode("latin-1").split("?", 1)[0] or request.url.path
    )
    match = resolve(raw_path)
    if match is None:
        return JSONResponse(error_body(404, "Not Found"), status_code=404)
    route, upstream_path = match

    declared = request.headers.get("content-length", "")
    # A body is streamed only when there is one (sized or chunked) too big to
    # hold; a GET without a body stays bodiless, and so retryable.
    streamed = raw_path != "/api/auth/login" and (
        int(declared) > BUFFERED_REQUEST_BYTES
        if declared.isdigit()
        else "transfer-encoding" in request.headers
    )
    body: bytes | AsyncIterator[bytes] = b"" if streamed else await request.body()
    address = client_address(
        request.client.host if request.client else None,
        request.headers.get("x-forwarded-for"),
        settings.trusted_proxy_hops,
    )
    limits = await _limits(ctx, request, address, b"" if streamed else body)
    verdict = await ratelimit.check(
        ctx.extras["counter"], limits, settings.rate_limit_window_seconds
    )
    if not verdict.decided and any(limit.name in FAIL_CLOSED for limit in limits):
        # Unlimited password guessing is worse than a short outage of logins.
        return JSONResponse(
            error_body(503, "login is unavailable while rate limits cannot be checked"),
            status_code=503,
            headers={"Retry-After": str(LIMITS_DOWN_RETRY_AFTER)},
        )
    if not verdict.allowed:
        ctx.metrics.rate_limited.labels(ctx.metrics.service, verdict.limit).inc()
        return JSONResponse(
            error_body(429, "rate limit exceeded", limit=verdict.limit),
            status_code=429,
            headers={"Retry-After": str(verdict.retry_after)},
        )

    upstream: Upstream = ctx.extras["upstreams"][route.upstream]
    query = request.scope.get("query_string", b"").decode("latin-1")
    target = upstream_path + (f"?{query}" if query else "")
    headers = _forward_headers(request, address)
    if streamed:
        body = request.stream()  # read through the body-size limit as it goes
        if declared.isdigit():
            headers.append(("content-length", declared))
    # A streamed body is gone once sent: never sent twice.
    retryable = request.method in IDEMPOTENT and not streamed
    attempts = 1 + (settings.idempotent_retries if retryable else 0)
    started = time.perf_counter()
    for attempt in range(attempts):
        try:
            answer = await upstream.request(request.method, target, headers, body)
            break
        except (UpstreamConnectError, UpstreamDisconnected) as exc:
            if attempt + 1 < attempts:
                continue
            return _upstream_failed(ctx, route.upstream, started, 502, "upstream unreachable", exc)
        except TimeoutError as exc:
            return _upstream_failed(ctx, route.upstream, started, 504, "upstream timed out", exc)
        except (UpstreamProtocolError, aiohttp.ClientError, OSError, ValueError) as exc:
            return _upstream_failed(ctx, route.upstream, started, 502, "upstream failed", exc)
    return await _pass_on(ctx, request.method, route.upstream, started, answer)


async def _pass_on(
    ctx: AppContext, method: str, upstream: str, started: float, answer: UpstreamResponse
) -> Response:
    if method == "HEAD" or answer.status in NO_BODY_STATUSES or answer.small:
        try:
            content = await answer.read()  # aiohttp reads no body after HEAD, 204, 304
        except TimeoutError as exc:
            return _upstream_failed(ctx, upstream, started, 504, "upstream timed out", exc)
        except (UpstreamProtocolError, aiohttp.ClientError, OSError) as exc:
            return _upstream_failed(ctx, upstream, started, 502, "upstream failed", exc)
        response: Response = Response(content, status_code=answer.status)
        response.raw_headers += answer.headers
        if method == "HEAD" and answer.length is not None:
            response.headers["content-length"] = str(answer.length)
    else:
        # Streamed: the status is sent before the body is all here. If the upstream
        # breaks off, the error ends the response mid-body and the server drops the
        # connection, so the client sees a cut answer, never a complete-looking one.
        response = StreamingResponse(answer.stream(), status_code=answer.status)
        response.raw_headers += answer.headers
        if answer.length is not None:
            response.headers["content-length"] = str(answer.length)
    ctx.metrics.child(ctx.metrics.upstream, upstream, str(answer.status)).observe(
        time.perf_counter() - started
    )
    return response


def _upstream_failed(
    ctx: AppContext, upstream: str, started: float, status: int, detail: str, exc: Exception
) -> JSONResponse:
    ctx.metrics.upstream.labels(ctx.metrics.service, upstream, "error").observe(
        time.perf_counter() - started
    )
    log.warning(detail, extra={"upstream": upstream, "error": repr(exc)})
    return JSONResponse(error_body(status, detail, upstream=upstream), status_code=status)
