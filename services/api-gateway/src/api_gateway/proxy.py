"""Forwarding one request upstream.

Plain Starlette endpoint rather than a FastAPI route: it runs on every request
and needs no validation or dependency injection.
"""

import asyncio
import json
import logging
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from titanium_common import AppContext
from titanium_common.auth import InvalidToken
from titanium_common.errors import ServiceUnavailable, error_body

from api_gateway import ratelimit
from api_gateway.clients import client_address
from api_gateway.routing import resolve
from api_gateway.settings import Settings
from api_gateway.upstream import Upstream, UpstreamConnectError, UpstreamProtocolError

log = logging.getLogger(__name__)

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
READS = frozenset({"GET", "HEAD", "OPTIONS"})
HOP_BY_HOP = frozenset(
    {
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
        "trailer", "transfer-encoding", "upgrade", "host", "content-length",
        "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-request-id",
        "traceparent", "tracestate", "forwarded", "x-real-ip",
    }
)  # fmt: skip
# Header names as the upstream client returns them (lower-case bytes).
# x-request-id: the middleware sets ours (the same id) on the way out.
RESPONSE_DROP = frozenset(
    {
        b"connection", b"keep-alive", b"transfer-encoding", b"content-length", b"server",
        b"date", b"x-request-id",
    }
)  # fmt: skip


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


def _forward_headers(ctx: AppContext, request: Request, address: str) -> list[tuple[str, str]]:
    headers = [(k, v) for k, v in request.headers.items() if k not in HOP_BY_HOP]
    state = request.scope.get("state", {})
    prior = request.headers.get("x-forwarded-for")
    peer = request.client.host if request.client else address
    headers += [
        ("x-forwarded-for", f"{prior}, {peer}" if prior else peer),
        ("x-forwarded-proto", request.headers.get("x-forwarded-proto", request.url.scheme)),
        ("x-forwarded-host", request.headers.get("host", "")),
        ("x-request-id", state.get("request_id", "")),
    ]
    if ctx.tracing is not None:  # continue the exported span, not only the trace id
        carrier: dict[str, str] = {}
        ctx.tracing.inject(carrier)
        headers += list(carrier.items())
    if not any(name == "traceparent" for name, _ in headers):
        headers.append(("traceparent", state.get("traceparent", "")))
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

    body = await request.body()
    address = client_address(
        request.client.host if request.client else None,
        request.headers.get("x-forwarded-for"),
        settings.trusted_proxy_hops,
    )
    verdict = await ratelimit.check(
        ctx.cache,
        await _limits(ctx, request, address, body),
        settings.rate_limit_window_seconds,
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
    headers = _forward_headers(ctx, request, address)
    attempts = 1 + (settings.idempotent_retries if request.method in IDEMPOTENT else 0)
    started = time.perf_counter()
    for attempt in range(attempts):
        try:
            status, upstream_headers, content = await upstream.request(
                request.method, target, headers, body
            )
            break
        except UpstreamConnectError as exc:
            if attempt + 1 < attempts:
                continue
            return _upstream_failed(ctx, route.upstream, started, 502, "upstream unreachable", exc)
        except TimeoutError as exc:
            return _upstream_failed(ctx, route.upstream, started, 504, "upstream timed out", exc)
        except (UpstreamProtocolError, OSError, ValueError, asyncio.IncompleteReadError) as exc:
            return _upstream_failed(ctx, route.upstream, started, 502, "upstream failed", exc)
    ctx.metrics.upstream.labels(ctx.metrics.service, route.upstream, str(status)).observe(
        time.perf_counter() - started
    )
    response = Response(content, status_code=status)
    response.raw_headers += [
        (name, value) for name, value in upstream_headers if name not in RESPONSE_DROP
    ]
    return response


def _upstream_failed(
    ctx: AppContext, upstream: str, started: float, status: int, detail: str, exc: Exception
) -> JSONResponse:
    ctx.metrics.upstream.labels(ctx.metrics.service, upstream, "error").observe(
        time.perf_counter() - started
    )
    log.warning(detail, extra={"upstream": upstream, "error": repr(exc)})
    return JSONResponse(error_body(status, detail, upstream=upstream), status_code=status)
