"""OpenTelemetry tracing, on only when the standard OTEL_* variables ask for it.

With OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) set, and
OTEL_SDK_DISABLED not "true", spans for the web framework, httpx, SQLAlchemy
and Redis are exported over OTLP/HTTP; OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
and the exporter's own variables are read by the SDK as usual. Without them
nothing is imported and requests pay nothing.
"""

import logging
import os
from typing import Any

log = logging.getLogger(__name__)

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def tracing_requested() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    return any(os.environ.get(name) for name in ENDPOINT_VARIABLES)


class Tracing:
    """The tracer provider of one app, and the instrumentation hooked to it."""

    def __init__(self, service_name: str) -> None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        resource = Resource.create(
            {"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)}
        )
        self.provider = TracerProvider(resource=resource)
        self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        self._instrumented: list[Any] = []

    def instrument_app(self, app: Any) -> None:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.instrumentation.redis import RedisInstrumentor

        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=self.provider, excluded_urls="health/live,health/ready"
        )
        for instrumentor in (HTTPXClientInstrumentor(), RedisInstrumentor()):
            if not instrumentor.is_instrumented_by_opentelemetry:
                instrumentor.instrument(tracer_provider=self.provider)
                self._instrumented.append(instrumentor)
        log.info("tracing exported over OTLP")

    def instrument_engine(self, engine: Any) -> None:
        """A client span per statement, from SQLAlchemy's cursor events. (The
        packaged SQLAlchemy/asyncpg instrumentations lag the SDK by a release
        and would pin older OpenTelemetry for the whole repository.)"""
        from opentelemetry.trace import SpanKind, Status, StatusCode
        from sqlalchemy import event

        tracer = self.provider.get_tracer("titanium_common.db")
        sync_engine = engine.sync_engine
        database = sync_engine.url.database or ""

        @event.listens_for(sync_engine, "before_cursor_execute")
        def start_span(_conn, _cursor, statement, _params, context, _many):
            # The request's span is current here, so this becomes its child.
            context._titanium_span = tracer.start_span(
                statement.split(None, 1)[0].upper() if statement else "SQL",
                kind=SpanKind.CLIENT,
                attributes={
                    "db.system.name": "postgresql",
                    "db.namespace": database,
                    "db.query.text": statement[:2000],
                },
            )

        @event.listens_for(sync_engine, "after_cursor_execute")
        def end_span(_conn, _cursor, _statement, _params, context, _many):
            span = getattr(context, "_titanium_span", None)
            if span is not None:
                span.end()

        @event.listens_for(sync_engine, "handle_error")
        def fail_span(exception_context):
            context = exception_context.execution_context
            span = getattr(context, "_titanium_span", None) if context is not None else None
            if span is not None:
                span.set_status(Status(StatusCode.ERROR, str(exception_context.original_exception)))
                span.end()

    def inject(self, headers: dict[str, str]) -> None:
        """Put the current span's traceparent into outgoing headers."""
        from opentelemetry.propagate import inject

        inject(headers)

    def shutdown(self) -> None:
        for instrumentor in self._instrumented:
            instrumentor.uninstrument()
        self.provider.shutdown()
