"""Faults: PostgreSQL or Redis going away under a running blog-service.

These use their own PostgreSQL and Redis, since they stop them."""

import secrets
import time
from collections.abc import Iterator

import httpx
import pytest
import redis

from tests.support.servers import (
    PostgresServer,
    RedisServer,
    postgres_server,
    provision_service,
    redis_server,
)

from .conftest import BlogProcess, Signer, migrate, start_blog, stop_blog

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="module")
def own_redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture(scope="module")
def fragile_blog(
    own_postgres: PostgresServer,
    own_redis: RedisServer,
    signer: Signer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BlogProcess]:
    url = provision_service(own_postgres, "blog", "blog", secrets.token_urlsafe(16))
    migrate(url)
    blog = start_blog(url, own_redis.url, signer.jwks_url, tmp_path_factory.mktemp("fragile"))
    try:
        yield blog
    finally:
        stop_blog(blog)


def _wait_until(check, timeout: float) -> float:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        time.sleep(0.1)
    raise AssertionError(f"not recovered within {timeout} s")


def test_postgres_down_then_back(
    fragile_blog: BlogProcess, own_postgres: PostgresServer, own_redis: RedisServer, signer: Signer
) -> None:
    headers = signer.headers(1, "alice")
    with fragile_blog.client() as api:
        written = api.post(
            "/posts", json={"title": "Kept", "body": "b", "category": "Drills"}, headers=headers
        )
        assert written.status_code == 201
        post_id = written.json()["id"]
        # Warm the cache for what should survive the outage.
        assert api.get(f"/posts/{post_id}").status_code == 200
        assert api.get("/posts").status_code == 200
        assert api.get("/blog/").status_code == 200

        own_postgres.stop()
        try:
            assert api.get("/health/ready").status_code == 503
            assert api.get("/health/live").status_code == 200

            started = time.monotonic()
            refused = api.post(
                "/posts", json={"title": "Lost", "body": "b", "category": "x"}, headers=headers
            )
            assert refused.status_code == 503
            assert refused.headers["Retry-After"]
            assert time.monotonic() - started < 3.0  # quickly, not after a hang

            # Cached reads are still served, the UI included.
            assert api.get(f"/posts/{post_id}").json()["title"] == "Kept"
            assert api.get("/posts").json()["items"][0]["id"] == post_id
            assert api.get("/blog/").status_code == 200
            # What was never cached cannot be: a 503, not a 500.
            assert api.get("/posts", params={"q": "never-cached"}).status_code == 503
            assert api.get("/blog/?page=99").status_code == 503
            # The front page (served outside the router) retired by a write on
            # another replica: the same 503 as through the router.
            store = redis.Redis.from_url(own_redis.url)
            store.incr("blog-service:cache:generation")
            store.close()
            front, routed = api.get("/posts"), api.get("/posts", params={"limit": 10})
            assert front.status_code == routed.status_code == 503
            assert front.headers["Retry-After"] == routed.headers["Retry-After"] == "1"
            assert {**front.json(), "request_id": ""} == {**routed.json(), "request_id": ""}
            front, routed = api.get("/blog/"), api.get("/blog/", params={"page": 1})
            assert front.status_code == routed.status_code == 503
            assert front.headers["Retry-After"] == routed.headers["Retry-After"] == "1"
            assert front.text == routed.text
        finally:
            own_postgres.start()

        recovered = _wait_until(lambda: api.get("/health/ready").status_code == 200, 5.0)
        assert recovered < 5.0
        after = api.post(
            "/posts", json={"title": "After", "body": "b", "category": "Drills"}, headers=headers
        )
        assert after.status_code == 201
        # The write acknowledged before the outage is still there.
        assert api.get(f"/posts/{post_id}").json()["title"] == "Kept"
        titles = [p["title"] for p in api.get("/posts").json()["items"]]
        assert titles[:2] == ["After", "Kept"]


def test_redis_down_serves_from_postgres(
    fragile_blog: BlogProcess, own_redis: RedisServer, signer: Signer
) -> None:
    headers = signer.headers(2, "bob")
    with fragile_blog.client() as api:
        own_redis.stop()
        try:
            assert api.get("/health/ready").status_code == 200
            created = api.post(
                "/posts",
                json={"title": "No cache", "body": "b", "category": "Drills"},
                headers=headers,
            )
            assert created.status_code == 201
            post_id = created.json()["id"]
            assert api.get(f"/posts/{post_id}").status_code == 200
            assert api.get("/posts").json()["items"][0]["id"] == post_id
            assert api.get("/blog/").status_code == 200
        finally:
            own_redis.start()
        # Back with Redis: the cache is used again and still correct.
        time.sleep(1.2)
        assert api.get(f"/posts/{post_id}").json()["title"] == "No cache"
        edited = api.patch(f"/posts/{post_id}", json={"title": "Edited"}, headers=headers)
        assert edited.status_code == 200
        assert api.get(f"/posts/{post_id}").json()["title"] == "Edited"

    metrics = httpx.get(f"{fragile_blog.metrics_url}/metrics").text
    assert 'dependency_degraded_total{dependency="redis"' in metrics
