"""The gateway's pure decisions, and its rate limits on a real Redis."""

import asyncio

import pytest
from api_gateway import ratelimit
from api_gateway.clients import client_address
from api_gateway.routing import resolve
from titanium_common import Cache
from titanium_common.metrics import Metrics

from tests.support.servers import free_port


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/auth/login", ("auth", "/login")),
        ("/api/auth/.well-known/jwks.json", ("auth", "/.well-known/jwks.json")),
        ("/api/users/alice", ("user", "/users/alice")),
        ("/api/users/me", ("user", "/users/me")),
        ("/api/posts", ("blog", "/posts")),
        ("/api/posts/12", ("blog", "/posts/12")),
        ("/api/categories", ("blog", "/categories")),
        ("/blog/", ("blog", "/blog/")),
        ("/blog/static/blog.css", ("blog", "/blog/static/blog.css")),
        ("/api/postsecret", None),
        ("/api", None),
        ("/internal/users", None),
        ("/api/users/internal/users", None),
        ("/api/users/Internal/users", None),
        ("/api/users/%69nternal/users", None),
        ("/api/users/%2569nternal/users", None),
        ("/api/auth/../users/internal", None),
        ("/api/auth/%2e%2e/x", None),
        ("/api/users/alice;internal", None),
    ],
)
def test_routing_table(path, expected):
    match = resolve(path)
    assert (None if match is None else (match[0].upstream, match[1])) == expected


@pytest.mark.parametrize(
    ("peer", "forwarded", "hops", "expected"),
    [
        ("10.0.0.1", None, 0, "10.0.0.1"),
        ("10.0.0.1", "1.2.3.4", 0, "10.0.0.1"),  # nothing trusted: the header is ignored
        ("10.0.0.1", "1.2.3.4", 1, "1.2.3.4"),
        ("10.0.0.1", "6.6.6.6, 1.2.3.4", 1, "1.2.3.4"),  # the forged left entry is skipped
        ("10.0.0.1", "6.6.6.6, 1.2.3.4, 10.0.0.9", 2, "1.2.3.4"),
        ("10.0.0.1", None, 1, "10.0.0.1"),  # fewer hops than trusted: the nearest known
    ],
)
def test_client_address(peer, forwarded, hops, expected):
    assert client_address(peer, forwarded, hops) == expected


def test_rate_limits_shared_in_redis_and_undecided_when_redis_is_down(redis_service):
    async def scenario():
        metrics = Metrics("gw-test")
        cache = Cache(redis_service.url, metrics, key_prefix="gw-test:")
        other_replica = Cache(redis_service.url, metrics, key_prefix="gw-test:")
        limits = [ratelimit.Limit("login_address", "203.0.113.5", 3)]
        counters = [ratelimit.Counter(c) for c in (cache, other_replica)]
        verdicts = [await ratelimit.check(counters[n % 2], limits, 60) for n in range(4)]
        assert [v.allowed for v in verdicts] == [True, True, True, False]
        assert 1 <= verdicts[-1].retry_after <= 61 and verdicts[-1].limit == "login_address"
        dead = Cache(f"redis://127.0.0.1:{free_port()}/0", metrics, key_prefix="gw-test:")
        undecided = await ratelimit.check(ratelimit.Counter(dead), limits, 60)
        assert undecided.allowed and not undecided.decided  # the caller chooses
        assert metrics.degraded.labels("gw-test", "redis", "ratelimit")._value.get() == 1
        for c in (cache, other_replica, dead):
            await c.close()

    asyncio.run(scenario())


def test_a_window_boundary_does_not_reset_the_limit(redis_service, monkeypatch):
    """Three requests just before a boundary and one just after: still refused,
    where a fixed window would have let the fourth through."""
    clock = [600.0 * 1000 - 0.5]  # half a second before a 60 s boundary
    monkeypatch.setattr(ratelimit.time, "time", lambda: clock[0])

    async def scenario():
        cache = Cache(redis_service.url, Metrics("gw-test"), key_prefix="gw-boundary:")
        counter = ratelimit.Counter(cache)
        limits = [ratelimit.Limit("writes_user", "alice", 3)]
        before = [(await ratelimit.check(counter, limits, 60)).allowed for _ in range(3)]
        clock[0] += 1.0
        after = await ratelimit.check(counter, limits, 60)
        clock[0] += 59.0  # the earlier requests have slid out of the window
        later = await ratelimit.check(counter, limits, 60)
        await cache.close()
        return before, after, later

    before, after, later = asyncio.run(scenario())
    assert before == [True, True, True]
    assert not after.allowed and 1 <= after.retry_after <= 60
    assert later.allowed


def test_concurrent_checks_share_round_trips_and_stay_exact(redis_service):
    """200 checks at once, from two replicas, on 20 clients with a limit of 5:
    exactly 5 allowed per client (no count lost or shared by the batching), in
    far fewer script calls than checks (Redis's own command statistics)."""
    import redis as sync_redis

    admin = sync_redis.Redis.from_url(redis_service.url)

    def script_calls() -> int:
        stats = admin.info("commandstats")
        return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("evalsha", "eval"))

    async def scenario():
        metrics = Metrics("gw-batch")
        caches = [Cache(redis_service.url, metrics, key_prefix="gw-batch:") for _ in range(2)]
        counters = [ratelimit.Counter(c) for c in caches]
        limits = [[ratelimit.Limit("reads", f"198.51.100.{n}", 5)] for n in range(20)]
        verdicts = await asyncio.gather(
            *(ratelimit.check(counters[n % 2], limits[n % 20], 60) for n in range(200))
        )
        for c in caches:
            await c.close()
        return verdicts

    before = script_calls()
    verdicts = asyncio.run(scenario())
    calls = script_calls() - before
    allowed = [0] * 20
    for n, verdict in enumerate(verdicts):
        assert verdict.decided
        allowed[n % 20] += verdict.allowed
    assert allowed == [5] * 20
    assert 2 <= calls <= 20, f"{calls} script calls for 200 checks"
