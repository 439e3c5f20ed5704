"""An ASGI front for a service's hottest requests, in front of its FastAPI app.

FastAPI's exception, routing, validation and dependency layers cost more CPU
than a cached answer itself (py-spy under wrk: about two thirds of a cached
list's). A service names the few requests it answers without them; those go
through the same observability middleware (request id, body limit, metrics,
the log line) straight to the service's handler, and every other request,
the lifespan, and every request when tracing is on (its instrumentation
opens the spans) is the FastAPI app's.
"""

from typing import Any

from fastapi import FastAPI

from titanium_common.app import AppContext
from titanium_common.middleware import ObservabilityMiddleware, options_from


class FastPath:
    """Subclasses say which requests they take (`route`) and answer them (`answer`)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._observed: ObservabilityMiddleware | None = None

    def route(self, scope: dict[str, Any]) -> str | None:
        """The route template (metrics and logs) of a request this path answers, else None."""
        raise NotImplementedError

    async def answer(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise NotImplementedError

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctx: AppContext = self.app.state.ctx
        template = self.route(scope)
        if template is None or ctx.tracing is not None:
            await self.app(scope, receive, send)
            return
        if self._observed is None:  # the metrics exist once the lifespan has run
            # The same options as the app's own middleware: the body limit and
            # which requests get an access line.
            self._observed = ObservabilityMiddleware(
                self.answer, metrics=ctx.metrics, **options_from(ctx.settings)
            )
        scope["app"] = self.app
        scope.setdefault("state", {})["route_template"] = template
        await self._observed(scope, receive, send)
