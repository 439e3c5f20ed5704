"""The shared Redis client under a burst, against a real Redis: more calls than
connections wait their turn instead of degrading, and a wait longer than the
timeout degrades like an outage."""

import asyncio

import pytest
import redis
from titanium_common.cache import Cache
from titanium_common.metrics import Metrics

from tests.support.servers import redis_server

HOLD_SECONDS = 0.05  # each call keeps its connection this long (an empty BLPOP)


def held_call(key: str):
    return lambda client: client.blpop([key], timeout=HOLD_SECONDS)


def degraded(metrics: Metrics) -> float:
    return metrics.degraded.labels(metrics.service, "redis", "burst")._value.get()


def connections(url: str) -> int:
    return len(redis.Redis.from_url(url).client_list(_type="normal")) - 1  # less this one


@pytest.fixture(scope="module")
def private_redis():
    """Its own server: the connections counted must all be this test's (the
    session's shared Redis also serves the other tests' services)."""
    with redis_server() as server:
        yield server


def test_a_burst_over_the_pool_waits_its_turn_and_never_degrades(private_redis) -> None:
    metrics = Metrics("slots")
    cache = Cache(private_redis.url, metrics, max_connections=2, timeout=2.0)
    most = 0

    async def scenario() -> list:
        nonlocal most

        async def watch() -> None:
            nonlocal most
            while True:
                most = max(most, await asyncio.to_thread(connections, private_redis.url))
                await asyncio.sleep(0.01)

        watcher = asyncio.create_task(watch())
        try:
            return await asyncio.gather(
                *(cache.run("burst", held_call("slots:empty"), "degraded") for _ in range(20))
            )
        finally:
            watcher.cancel()
            await cache.close()

    results = asyncio.run(scenario())
    assert results == [None] * 20  # every BLPOP answered (nothing to pop), none degraded
    assert degraded(metrics) == 0
    assert 1 <= most <= 2


def test_a_wait_longer_than_the_timeout_degrades(redis_service) -> None:
    # One connection, three calls holding it 0.6 s each, 0.9 s allowed: the
    # second waits 0.6 s and is answered, the third would wait 1.2 s.
    metrics = Metrics("slots-timeout")
    cache = Cache(redis_service.url, metrics, max_connections=1, timeout=0.9)

    async def scenario() -> list:
        slow = lambda client: client.blpop(["slots:never"], timeout=0.6)  # noqa: E731
        try:
            return await asyncio.gather(*(cache.run("burst", slow, "degraded") for _ in range(3)))
        finally:
            await cache.close()

    assert asyncio.run(scenario()) == [None, None, "degraded"]
    assert degraded(metrics) == 1
