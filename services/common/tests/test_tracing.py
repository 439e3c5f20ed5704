"""Tracing exports over OTLP only when OTEL_* asks, with web, database and Redis spans."""

import http.server
import threading
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from titanium_common import AppContext, ServiceSettings, create_app, db_session
from titanium_common.app import get_context

router = APIRouter()


@router.get("/traced/{item}")
async def traced(
    item: str,
    session: Annotated[AsyncSession, Depends(db_session)],
    ctx: Annotated[AppContext, Depends(get_context)],
) -> dict[str, object]:
    await ctx.cache.set("traced", item, 10)
    return {"n": (await session.execute(text("SELECT 7"))).scalar_one()}


@pytest.fixture
def collector():
    received: list[bytes] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["content-length"])))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()


@pytest.mark.slow
def test_spans_exported_when_otel_endpoint_set(
    collector, monkeypatch, service_database, redis_service
):
    endpoint, received = collector
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    settings = ServiceSettings(
        service_name="traced-svc",
        metrics_port=0,
        database_url=service_database("tracetest"),
        redis_url=redis_service.url,
    )
    with TestClient(create_app(settings, title="t", routers=[router])) as client:
        assert client.app.state.ctx.tracing is not None
        assert client.get("/traced/abc").json() == {"n": 7}
    exported = b"".join(received)
    assert b"traced-svc" in exported
    assert b"/traced/{item}" in exported
    assert b"SELECT 7" in exported
    assert b"SET" in exported  # the Redis command span


def test_no_tracing_without_otel_variables(monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    with TestClient(create_app(ServiceSettings(metrics_port=0), title="t")) as client:
        assert client.app.state.ctx.tracing is None


@pytest.mark.slow
def test_latency_exemplar_names_the_exported_trace(collector, monkeypatch):
    endpoint, received = collector
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    settings = ServiceSettings(service_name="exemplar-svc", metrics_port=0)
    with TestClient(create_app(settings, title="t")) as client:
        assert client.get("/openapi.json").status_code == 200
        metrics = client.app.state.ctx.metrics
    exemplars = [
        sample.exemplar.labels["trace_id"]
        for family in metrics.registry.collect()
        if family.name == "http_request_duration_seconds"
        for sample in family.samples
        if sample.exemplar is not None
    ]
    assert len(exemplars) == 1
    # The exemplar's trace is the one exported (OTLP carries the id's 16 bytes).
    assert bytes.fromhex(exemplars[0]) in b"".join(received)
