"""The gateway's rate limits against hostile input and a Redis under pressure.

The real gateway process in front of a scripted upstream (the limits are
counted before anything is forwarded, so what answers behind it does not
matter), with real redis-servers at their memory limits.
"""

import contextlib
import secrets
import time
from collections.abc import Iterator

import httpx
import pytest
import redis

from tests.support.scripted_upstream import ScriptedUpstream, gateway_env
from tests.support.servers import free_port, redis_server
from tests.support.services import running_service

pytestmark = pytest.mark.slow

# The policies the two Redis instances run with in the cluster (gitops/values/common.yml).
LRU = ("--maxmemory-policy", "allkeys-lru")
NOEVICTION = ("--maxmemory-policy", "noeviction")


@contextlib.contextmanager
def gateway(**overrides: str) -> Iterator[str]:
    with ScriptedUpstream() as upstream:
        port = free_port()
        env = gateway_env(port, upstream, overrides.pop("GATEWAY_REDIS_URL"))
        with running_service("api_gateway", port, env | overrides) as running:
            yield running.url


def login(base: str, username: str, address: str) -> httpx.Response:
    return httpx.post(
        base + "/api/auth/login",
        json={"username": username, "password": "x"},
        headers={"X-Forwarded-For": address},
        timeout=10,
    )


def test_rate_limit_keys_stay_small_whatever_the_username(tmp_path):
    with redis_server() as store, gateway(GATEWAY_REDIS_URL=store.url) as base:
        huge = "a" * 900_000  # just under the 1 MiB body limit
        assert login(base, huge, "198.51.100.1").status_code == 200
        keys = redis.Redis.from_url(store.url).keys("*")
    assert keys, "the login was counted"
    assert max(len(key) for key in keys) <= 80, sorted(keys, key=len)[-1][:120]


def test_cache_pressure_never_evicts_a_limit():
    with (
        redis_server("--maxmemory", "2mb", *LRU) as cache,
        redis_server("--maxmemory", "2mb", *NOEVICTION) as limits,
        gateway(GATEWAY_REDIS_URL=cache.url, GATEWAY_RATELIMIT_REDIS_URL=limits.url) as base,
    ):
        filler = redis.Redis.from_url(cache.url)
        username = f"victim-{secrets.token_hex(3)}"
        answers = []
        for attempt in range(6):
            last = login(base, username, f"203.0.113.{attempt + 1}")
            answers.append(last.status_code)
            # Between every two logins the cache fills past its limit and evicts.
            for n in range(40):
                filler.set(f"api-gateway:posts:{attempt}:{n}", secrets.token_bytes(64 * 1024))
        assert answers == [200] * 5 + [429]
        assert last.json()["limit"] == "login_username"


def fill_past_the_limit(store: redis.Redis) -> None:
    """Write bot counters, then lower maxmemory well below what they use: Redis
    frees idle clients' buffers by itself, so a store filled just to its limit
    would soon take writes again and the test would depend on timing."""
    flood = store.pipeline(transaction=False)
    for n in range(20_000):
        flood.set(f"api-gateway:rl:bot:{n}", 1, ex=121)
    flood.execute()
    used = store.info("memory")["used_memory"]
    store.config_set("maxmemory", used - 512 * 1024)
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        store.set("api-gateway:rl:one-more", 1, ex=121)


def test_a_full_limits_store_refuses_logins_and_serves_reads():
    """Flooded to its memory limit, the limits' Redis refuses new counters
    (noeviction: evicting would let a flood reset a password guesser's count);
    logins then fail closed and reads stay up."""
    with (
        redis_server("--maxmemory", "64mb", *NOEVICTION) as limits,
        gateway(GATEWAY_REDIS_URL=limits.url) as base,
    ):
        username = f"victim-{secrets.token_hex(3)}"
        assert login(base, username, "203.0.113.1").status_code == 200
        store = redis.Redis.from_url(limits.url)
        fill_past_the_limit(store)
        answers = [login(base, username, f"203.0.113.{n}").status_code for n in range(2, 12)]
        assert set(answers) == {503}, answers
        read = httpx.get(base + "/api/posts/any", headers={"X-Forwarded-For": "203.0.113.50"})
        assert (read.status_code, read.text) == (200, "/posts/any")
        store.flushdb()  # the flood's counters expire; logins count again
        store.config_set("maxmemory", 64 * 1024 * 1024)
        time.sleep(1.2)  # the cache layer's back-off after a failure
        assert login(base, username, "203.0.113.60").status_code == 200


def test_a_refused_login_does_not_count_its_username(tmp_path):
    with redis_server() as store, gateway(GATEWAY_REDIS_URL=store.url) as base:
        answers = [login(base, f"guess-{n}", "198.51.100.3").status_code for n in range(8)]
        keys = redis.Redis.from_url(store.url).keys("*login_username*")
    assert answers == [200] * 5 + [429] * 3
    assert len(keys) == 5, keys


def test_without_redis_logins_are_refused_and_reads_served():
    dead = f"redis://127.0.0.1:{free_port()}/0"
    with gateway(GATEWAY_REDIS_URL=dead) as base:
        refused = login(base, "alice", "198.51.100.2")
        assert refused.status_code == 503
        assert int(refused.headers["retry-after"]) > 0
        read = httpx.get(base + "/api/posts/any", timeout=10)
        assert (read.status_code, read.text) == (200, "/posts/any")


def test_readiness_reports_the_limits_store_without_going_unready():
    dead = f"redis://127.0.0.1:{free_port()}/0"
    with (
        redis_server() as cache,
        gateway(GATEWAY_REDIS_URL=cache.url, GATEWAY_RATELIMIT_REDIS_URL=dead) as base,
    ):
        ready = httpx.get(base + "/health/ready", timeout=10)
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"redis": "ok", "ratelimit": "degraded"}
