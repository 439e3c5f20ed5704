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

import hashlib
import json
import time

from redis.asyncio import Redis
from titanium_common.cache import Cache


class GenerationCache:
    def __init__(self, cache: Cache, *, ttl_seconds: int = 300) -> None:
        self._cache = cache
        self._namespace = f"{cache.key_prefix}cache"
        self._generation_key = f"{self._namespace}:generation"
        self._ttl = ttl_seconds
        self._pending_bump = False

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

    def key(self, generation: int, name: str, *parts: object) -> str:
        # A JSON array is an injective encoding of the parts, so two different
        # queries (say offset 10 and offset 15) can never share a key; hashing
        # bounds the key length whatever the search text.
        encoded = json.dumps(parts, separators=(",", ":"), default=str).encode()
        return f"{self._namespace}:{generation}:{name}:{hashlib.sha256(encoded).hexdigest()}"

    async def get(self, generation: int | None, name: str, *parts: object) -> bytes | None:
        value = None
        if generation is not None:
            value = await self._cache.get(self.key(generation, name, *parts))
        self._cache.record(name, hit=value is not None)
        return value

    async def set(self, generation: int | None, value: bytes, name: str, *parts: object) -> None:
        if generation is not None:
            await self._cache.set(self.key(generation, name, *parts), value, self._ttl)
