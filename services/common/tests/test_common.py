"""The shared library against real PostgreSQL and Redis (fixtures in services/conftest.py)."""

import asyncio
import json
import time
from typing import Annotated

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from titanium_common import CurrentUser, ServiceSettings, create_app, current_user, db_session
from titanium_common.fastpath import FastPath
from titanium_common.middleware import parse_traceparent

from tests.support.servers import free_port

router = APIRouter()


class Item(BaseModel):
    name: str
    count: int


@router.post("/items/{item_id}", status_code=201)
async def make_item(item_id: int, item: Item) -> dict[str, object]:
    return {"id": item_id, **item.model_dump()}


@router.get("/whoami")
async def whoami(user: Annotated[CurrentUser, Depends(current_user)]) -> dict[str, object]:
    return {"id": user.id, "username": user.username}


@router.get("/db")
async def db_value(session: Annotated[AsyncSession, Depends(db_session)]) -> dict[str, int]:
    return {"value": (await session.execute(text("SELECT 41 + 1"))).scalar_one()}


@router.get("/cached")
async def cached(request_value: str = "x") -> dict[str, object]:
    return {"value": request_value}


@router.get("/slow")
async def slow() -> dict[str, object]:
    await asyncio.sleep(0.05)
    return {"slow": True}


def make_client(**overrides: object) -> TestClient:
    settings = ServiceSettings(service_name="testsvc", metrics_port=0, **overrides)
    return TestClient(create_app(settings, title="test", routers=[router]))


def test_errors_are_json_with_exact_codes():
    with make_client() as client:
        missing = client.get("/nowhere")
        assert missing.status_code == 404
        assert missing.json()["status"] == 404
        assert client.delete("/whoami").status_code == 405
        invalid = client.post("/items/abc", json={"name": 3})
        assert invalid.status_code == 422
        fields = {entry["field"] for entry in invalid.json()["fields"]}
        assert {"path.item_id", "body.name", "body.count"} <= fields
        assert (
            client.post(
                "/items/1", content=b"{", headers={"content-type": "application/json"}
            ).status_code
            == 422
        )


def test_body_over_one_mebibyte_is_413_declared_or_streamed():
    with make_client() as client:
        big = json.dumps({"name": "x" * (1024 * 1024), "count": 1})
        assert client.post("/items/1", content=big).status_code == 413

        def chunks():
            for _ in range(20):
                yield b"x" * 65536 * 2

        assert client.post("/items/1", content=chunks()).status_code == 413
        assert client.post("/items/1", json={"name": "ok", "count": 1}).status_code == 201


def test_request_id_and_traceparent_propagate():
    with make_client() as client:
        answer = client.get("/health/live", headers={"X-Request-ID": "abc-123"})
        assert answer.headers["x-request-id"] == "abc-123"
        generated = client.get("/health/live", headers={"X-Request-ID": "bad id\n"})
        assert generated.headers["x-request-id"] != "bad id\n"
    assert parse_traceparent("00-" + "a" * 32 + "-" + "b" * 16 + "-01") == ("a" * 32, "01")
    assert parse_traceparent("00-" + "0" * 32 + "-" + "b" * 16 + "-01") is None
    assert parse_traceparent("garbage") is None


def test_one_json_access_line_per_request_and_none_for_quiet_probes(capsys):
    with make_client() as client:
        capsys.readouterr()
        traceparent = "00-" + "c" * 32 + "-" + "d" * 16 + "-01"
        answer = client.get(
            "/cached?request_value=y",
            headers={"X-Request-ID": "line-1", "traceparent": traceparent},
        )
        assert answer.status_code == 200
        assert client.get("/health/live").status_code == 200  # a quiet route: no line
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    [line] = [entry for entry in lines if entry["event"] == "request"]
    assert set(line) == {
        "time", "level", "service", "event", "logger", "request_id", "trace_id",
        "method", "route", "path", "status", "duration_ms",
    }  # fmt: skip
    assert line["level"] == "info" and line["logger"] == "titanium.access"
    assert line["service"] == "testsvc" and line["request_id"] == "line-1"
    assert line["trace_id"] == "c" * 32
    assert (line["method"], line["route"], line["path"], line["status"]) == (
        "GET", "/cached", "/cached", 200
    )  # fmt: skip
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["time"].endswith("+00:00") and len(line["time"]) == len(
        "2026-01-01T00:00:00.000+00:00"
    )


def test_errors_and_slow_logs_only_errors_and_slow_requests(capsys):
    with make_client(access_log="errors-and-slow", access_log_slow_ms=20) as client:
        capsys.readouterr()
        assert client.get("/cached").status_code == 200  # fast and fine: the sidecar logs it
        assert client.get("/nowhere").status_code == 404
        assert client.get("/slow").status_code == 200
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    logged = [(line["path"], line["status"]) for line in lines if line["event"] == "request"]
    assert logged == [("/nowhere", 404), ("/slow", 200)]


class FastAnswer(FastPath):
    def route(self, scope):
        return "/fast" if scope["path"] == "/fast" else None

    async def answer(self, scope, receive, send):
        await PlainTextResponse("fast")(scope, receive, send)


@pytest.mark.parametrize(("mode", "logged"), [("all", ["/fast"]), ("errors-and-slow", [])])
def test_a_fast_path_writes_access_lines_as_the_settings_say(capsys, mode, logged):
    """The fast paths (blog-service's front page, the gateway's proxy) skip the
    app's middleware and wrap their own: the same settings must reach it."""
    settings = ServiceSettings(service_name="testsvc", metrics_port=0, access_log=mode)
    with TestClient(FastAnswer(create_app(settings, title="t", routers=[router]))) as client:
        capsys.readouterr()
        assert client.get("/fast").text == "fast"
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["path"] for line in lines if line["event"] == "request"] == logged


def test_metrics_count_exact_status_per_route_on_their_own_port():
    metrics_port = free_port()
    settings = ServiceSettings(service_name="testsvc", port=free_port(), metrics_port=metrics_port)
    with TestClient(create_app(settings, title="t", routers=[router])) as client:
        client.post("/items/1", json={"name": "a", "count": 1})
        client.post("/items/x", json={})
        client.get("/nowhere")
        import httpx

        body = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        assert client.get("/metrics").status_code == 404
    created = 'method="POST",route="/items/{item_id}",service="testsvc",status="201"} 1.0'
    assert "http_requests_total{" + created in body
    assert 'route="/items/{item_id}",service="testsvc",status="422"' in body
    assert 'route="unmatched",service="testsvc",status="404"' in body
    assert 'http_request_duration_seconds_bucket{le="0.001"' in body


def test_jwt_verified_locally_against_jwks():
    key = Ed25519PrivateKey.generate()
    public = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key()))
    public.update(kid="k1", use="sig", alg="EdDSA")
    claims = {"sub": "7", "username": "ada", "iss": "titanium-auth", "aud": "titanium"}

    def token(**extra: object) -> str:
        return jwt.encode(
            {**claims, "exp": int(time.time()) + 60, **extra}, key, "EdDSA", headers={"kid": "k1"}
        )

    with make_client(jwks_url="http://127.0.0.1:1/unused") as client:
        client.app.state.ctx.verifier.load_jwks({"keys": [public]})
        ok = client.get("/whoami", headers={"Authorization": f"Bearer {token()}"})
        assert ok.json() == {"id": 7, "username": "ada"}
        expired = token(exp=int(time.time()) - 10)
        assert (
            client.get("/whoami", headers={"Authorization": f"Bearer {expired}"}).status_code == 401
        )
        forged = jwt.encode(
            {**claims, "exp": int(time.time()) + 60},
            Ed25519PrivateKey.generate(),
            "EdDSA",
            headers={"kid": "k1"},
        )
        assert (
            client.get("/whoami", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
        )
        assert client.get("/whoami").status_code == 401


@pytest.mark.slow
def test_database_outage_is_a_quick_503_and_recovers(postgres, service_database, redis_service):
    url = service_database("commontest")
    with make_client(database_url=url, redis_url=redis_service.url) as client:
        assert client.get("/db").json() == {"value": 42}
        assert client.get("/health/ready").json()["checks"] == {"database": "ok", "redis": "ok"}
        postgres.stop()
        try:
            started = time.monotonic()
            down = client.get("/db")
            assert down.status_code == 503
            assert time.monotonic() - started < 3
            assert client.get("/health/ready").status_code == 503
        finally:
            postgres.start()
        deadline = time.monotonic() + 5
        while client.get("/db").status_code != 200:
            assert time.monotonic() < deadline, "no recovery within 5 s"
            time.sleep(0.1)


@pytest.mark.slow
def test_redis_outage_degrades_and_is_counted(redis_service):
    from titanium_common.cache import Cache
    from titanium_common.metrics import Metrics

    metrics = Metrics("testsvc")
    dead = Cache(f"redis://127.0.0.1:{free_port()}/0", metrics)
    live = Cache(redis_service.url, metrics)

    async def scenario():
        assert await dead.get("k") is None
        assert await dead.set("k", "v", 10) is False
        assert await live.set("k", "v", 10) is True
        assert await live.get("k") == b"v"
        await dead.close()
        await live.close()

    import asyncio

    asyncio.run(scenario())
    degraded = metrics.degraded.labels("testsvc", "redis", "get")._value.get()
    assert degraded >= 1
