"""OpenTelemetry tracing, on only when the standard OTEL_* variables ask for it.

With OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) set, and
OTEL_SDK_DISABLED not "true", spans for the web framework, the HTTP clients
(httpx; aiohttp where the service has it, the gateway's upstream client),
SQLAlchemy and Redis are exported over OTLP/HTTP. OTEL_SERVICE_NAME,
OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER(_ARG) and the exporter's own
variables are read by the SDK as usual. Without them nothing is imported and
requests pay nothing.
"""

import importlib.util
import logging
import os
from typing import Any

log = logging.getLogger(__name__)

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
# Probes would be a trace every few seconds per pod, each telling nothing.
UNTRACED_URLS = "health/live,health/ready"


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
        # The sampler is the SDK's default reading of OTEL_TRACES_SAMPLER:
        # parent-based, so a service follows the gateway's (or the mesh's) decision.
        self.provider = TracerProvider(resource=resource)
        self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        self._instrumented: list[Any] = []

    def _instrument(self, instrumentor: Any, **options: Any) -> None:
        # Instrumentors are process-wide singletons: one app per process in a
        # service, but a test process builds many.
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=self.provider, **options)
            self._instrumented.append(instrumentor)

    def instrument_app(self, app: Any) -> None:
        """Server spans that continue an incoming traceparent, and client spans
        that send theirs on. Call before the app's HTTP clients are made."""
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.instrumentation.redis import RedisInstrumentor

        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=self.provider, excluded_urls=UNTRACED_URLS
        )
        self._instrument(HTTPXClientInstrumentor())
        self._instrument(RedisInstrumentor())
        if importlib.util.find_spec("aiohttp") is not None:
            from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor

            self._instrument(AioHttpClientInstrumentor())
        log.info("tracing exported over OTLP")

    def instrument_engine(self, engine: Any) -> None:
        """A client span per statement, children of the request's span."""
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        # Its declared range stops below SQLAlchemy 2.1, which the services run;
        # the engine events it listens to are unchanged in 2.1, and
        # test_tracing.py fails if its statement spans go missing.
        self._instrument(SQLAlchemyInstrumentor(), engine=engine.sync_engine, skip_dep_check=True)

    @staticmethod
    def current() -> tuple[str, str, str] | None:
        """(trace id, span id, flags) of the span current now, as hex, if any:
        what the logs carry and what a hand-made traceparent continues."""
        from opentelemetry import trace

        span_context = trace.get_current_span().get_span_context()
        if not span_context.is_valid:
            return None
        return (
            format(span_context.trace_id, "032x"),
            format(span_context.span_id, "016x"),
            format(span_context.trace_flags, "02x"),
        )

    def shutdown(self) -> None:
        for instrumentor in self._instrumented:
            instrumentor.uninstrument()
        self.provider.shutdown()
