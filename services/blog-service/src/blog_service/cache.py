"""Read-through cache of list pages, posts and categories, invalidated by generation.

Every cached key embeds the current *generation*, a counter in Redis that each
write bumps after its transaction commits. Why this is correct:

* A reader reads the generation g **before** querying PostgreSQL and stores its
  result under g.
* A writer commits, **then** bumps the counter past g.
* So any value stored under g comes from a query that started after every
  write whose bump produced a generation <= g had committed: it reflects all of
  them. A value computed before a write can only ever be stored under a
  generation that the write's bump has already retired; nobody reads it again.

There is no key to enumerate and delete, so no pattern of list pages (filters,
offsets, searches) can be missed. Old generations simply expire by TTL.

Two ways the counter could go wrong are handled:

* Redis evicts or loses the counter: it is re-created from the clock in
  microseconds (SET NX), which is always ahead of any generation reached by
  increments since, so old entries are never read again.
* A bump fails because Redis is unreachable from this replica: the bump is
  remembered and replayed before this replica next uses the cache, and the TTL
  bounds how long another replica can serve the superseded entry.

Redis being down never fails a request: the shared `titanium_common.Cache`
turns every operation into a miss (the caller reads PostgreSQL), logs once per
outage, counts it in `dependency_degraded_total` and backs off for a moment so
requests do not each pay a connection timeout.
"""

import functools
import hashlib
import json
import time

from redis.asyncio import Redis
from titanium_common.cache import Cache

# A read in one round trip: the generation (re-created from the clock when
# missing, as in _ensure_and_read) and the entry stored under it.
_LOOKUP = """
local generation = redis.call('GET', KEYS[1])
if not generation then
  redis.call('SET', KEYS[1], ARGV[1], 'NX')
  generation = redis.call('GET', KEYS[1])
end
return {generation, redis.call('GET', ARGV[2] .. generation .. ARGV[3])}
"""


class GenerationCache:
    def __init__(self, cache: Cache, *, ttl_seconds: int = 300) -> None:
        self._cache = cache
        self._namespace = f"{cache.key_prefix}cache"
        self._generation_key = f"{self._namespace}:generation"
        self._ttl = ttl_seconds
        self._pending_bump = False
        self._lookup = cache.client.register_script(_LOOKUP) if cache.client else None

    async def lookup(self, name: str, *parts: object) -> tuple[int | None, bytes | None]:
        """(generation, cached value) in one round trip; (None, None) without Redis.

        Store a value computed after this call with `set(generation, ...)`.
        """
        if self._pending_bump:
            await self.bump()
        if self._pending_bump or self._lookup is None:
            self._cache.record(name, hit=False)
            return None, None
        script = self._lookup
        suffix = self._suffix(name, parts)

        async def call(redis: Redis) -> tuple[int, bytes | None]:
            generation, value = await script(
                keys=[self._generation_key],
                args=[time.time_ns() // 1000, f"{self._namespace}:", suffix],
                client=redis,
            )
            return int(generation), value

        generation, value = await self._cache.run("lookup", call, (None, None))
        self._cache.record(name, hit=value is not None)
        return generation, value

    async def _ensure_and_read(self, redis: Redis, *, increment: bool) -> int:
        async with redis.pipeline(transaction=True) as pipe:
            # Re-created from the clock when missing, never from 0 or 1: see above.
            pipe.set(self._generation_key, time.time_ns() // 1000, nx=True)
            if increment:
                pipe.incr(self._generation_key)
            else:
                pipe.get(self._generation_key)
            results = await pipe.execute()
        return int(results[-1])

    async def generation(self) -> int | None:
        """The current generation, or None when the cache cannot be used now."""
        if self._pending_bump:
            await self.bump()
            if self._pending_bump:
                return None
        return await self._cache.run(
            "generation", lambda redis: self._ensure_and_read(redis, increment=False), None
        )

    async def bump(self) -> None:
        """Retire every cached entry; call after a write has committed."""
        bumped = await self._cache.run(
            "bump", lambda redis: self._ensure_and_read(redis, increment=True), None
        )
        # Replayed before this replica next reads the cache; the TTL bounds
        # what other replicas may serve meanwhile.
        self._pending_bump = bumped is None

    @staticmethod
    @functools.lru_cache(maxsize=4096)
    def _suffix(name: str, parts: tuple[object, ...]) -> str:
        # A JSON array is an injective encoding of the parts, so two different
        # queries (say offset 10 and offset 15) can never share a key; hashing
        # bounds the key length whatever the search text. Remembered for the
        # few pages read on every request (a bounded number: made-up queries
        # only push each other out).
        encoded = json.dumps(parts, separators=(",", ":"), default=str).encode()
        return f":{name}:{hashlib.sha256(encoded).hexdigest()}"

    def key(self, generation: int, name: str, *parts: object) -> str:
        return f"{self._namespace}:{generation}{self._suffix(name, parts)}"

    async def get(self, generation: int | None, name: str, *parts: object) -> bytes | None:
        value = None
        if generation is not None:
            value = await self._cache.get(self.key(generation, name, *parts))
        self._cache.record(name, hit=value is not None)
        return value

    async def set(self, generation: int | None, value: bytes, name: str, *parts: object) -> None:
        if generation is not None:
            await self._cache.set(self.key(generation, name, *parts), value, self._ttl)
