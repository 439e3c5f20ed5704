"""Calls to the next service in the graph, over one pooled aiohttp session."""

import logging
import time
from typing import Any

import aiohttp
from fastapi import Request
from titanium_common.app import AppContext

log = logging.getLogger(__name__)

# What a call carries on from the request that caused it: the request id and
# trace context (one request, one id across the graph), and the user the mesh
# routes on (a header-based route to reviews v2 matches `end-user` on the call
# productpage makes, so productpage must pass it on).
PROPAGATED = ("x-request-id", "traceparent", "end-user")


class Downstream:
    """One service this one calls: its base URL and the session every call shares."""

    def __init__(self, name: str, base_url: str, session: aiohttp.ClientSession) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.session = session

    async def get_json(self, ctx: AppContext, path: str, request: Request) -> Any | None:
        """The callee's JSON, or None when it fails, is slow or says no: callers
        show what they have rather than fail the page."""
        headers = {key: request.headers[key] for key in PROPAGATED if key in request.headers}
        state = request.scope.get("state", {})
        if state.get("request_id"):
            headers["x-request-id"] = state["request_id"]
        if state.get("traceparent"):
            headers["traceparent"] = state["traceparent"]
        started = time.perf_counter()
        status = "error"
        try:
            async with self.session.get(self.base_url + path, headers=headers) as response:
                status = str(response.status)
                if response.status != 200:
                    return None
                return await response.json()
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            log.warning("call failed", extra={"upstream": self.name, "error": type(exc).__name__})
            return None
        finally:
            ctx.metrics.child(ctx.metrics.upstream, self.name, status).observe(
                time.perf_counter() - started
            )


def session(connect_timeout: float, read_timeout: float) -> aiohttp.ClientSession:
    timeout = aiohttp.ClientTimeout(
        total=connect_timeout + read_timeout, sock_connect=connect_timeout
    )
    return aiohttp.ClientSession(timeout=timeout, raise_for_status=False)
