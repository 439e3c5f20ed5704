"""Read-through cache of list pages, posts and categories, invalidated by generation.

A counter in Redis, the *generation*, is bumped by each write after its
transaction commits, and every cached entry carries the generation it was
computed under: one key per page, post or category list, whose value is
`<generation>|<bytes>`. An entry is a hit only when its generation is the
current one. Why this is correct:

* A reader reads the generation g **before** querying PostgreSQL and stores its
  result marked g.
* A writer commits, **then** bumps the counter past g.
* So any value marked g comes from a query that started after every write
  whose bump produced a generation <= g had committed: it reflects all of
  them. A value computed before a write can only ever be marked with a
  generation that the write's bump has already retired; nobody takes it as a
  hit again, and the next reader overwrites it.

There is no key to enumerate and delete, so no pattern of list pages (filters,
offsets, searches) can be missed. A hit is one `MGET` of the counter and the
entry: a plain command, cheaper to send and parse than the Lua script that
did the same before (a lookup took 130 µs of CPU with the script, 105 with
this and the shared client's connection slots, measured in-process).

Two ways the counter could go wrong are handled:

* Redis evicts or loses the counter: it is re-created from the clock in
  microseconds (SET NX), which is always ahead of any generation reached by
  increments since, so old entries are never taken as hits again.
* A bump fails because Redis is unreachable from this replica: the bump is
  remembered and replayed before this replica next uses the cache, and the TTL
  bounds how long another replica can serve the superseded entry.

Redis being down never fails a request: the shared `titanium_common.Cache`
turns every operation into a miss (the caller reads PostgreSQL), logs once per
outage, counts it in `dependency_degraded_total` and backs off for a moment so
requests do not each pay a connection timeout.
"""

import asyncio
import functools
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio import Redis
from titanium_common.cache import Cache

# Between an entry's generation and its bytes; generations are decimal digits.
_MARK = b"|"
T = TypeVar("T")


class GenerationCache:
    def __init__(self, cache: Cache, *, ttl_seconds: int = 300) -> None:
        self._cache = cache
        self._namespace = f"{cache.key_prefix}cache"
        self._generation_key = f"{self._namespace}:generation"
        self._ttl = ttl_seconds
        self._pending_bump = False
        self._filling: dict[tuple[int, str], asyncio.Future] = {}

    async def lookup(self, name: str, *parts: object) -> tuple[int | None, bytes | None]:
        """(generation, cached value) in one round trip; (None, None) without Redis.

        Store a value computed after this call with `set(generation, ...)`.
        """
        if self._pending_bump:
            await self.bump()
        if self._pending_bump or self._cache.client is None:
            self._cache.record(name, hit=False)
            return None, None
        key = self.key(name, *parts)
        current, entry = await self._cache.run(
            "lookup", lambda redis: redis.mget(self._generation_key, key), (None, None)
        )
        if current is None:
            # A miss: Redis is down, or the counter was lost and is re-created here.
            self._cache.record(name, hit=False)
            return (await self.generation() if self._cache.available else None), None
        value = self._unmarked(current, entry)
        self._cache.record(name, hit=value is not None)
        return int(current), value

    @staticmethod
    def _unmarked(generation: bytes, entry: bytes | None) -> bytes | None:
        """The entry's bytes if it was stored under `generation`, else None."""
        if entry is None or not entry.startswith(generation + _MARK):
            return None
        return entry[len(generation) + 1 :]

    def once(
        self, generation: int | None, compute: Callable[[], Awaitable[T]], name: str, *parts: object
    ) -> Awaitable[T]:
        """`compute()` of a missed entry, run once in this process for every
        reader that missed it under the same generation.

        After a write every reader misses at once; without this, each of them
        queried PostgreSQL for the same page (50 readers, a write every 100
        reads: p99 306 ms through the gateway). Sharing is safe: readers that
        hold the same generation read it after the same writes' bumps, so one
        query that started after its own read of that generation reflects every
        write any of them must see (the argument above). The query runs as its
        own task, so a reader that goes away does not take it from the others.
        """
        if generation is None:
            return compute()
        key = (generation, self._suffix(name, parts))
        filling = self._filling.get(key)
        if filling is None:
            filling = asyncio.ensure_future(compute())
            self._filling[key] = filling
            filling.add_done_callback(lambda _done: self._filling.pop(key, None))
        return asyncio.shield(filling)

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

    def key(self, name: str, *parts: object) -> str:
        return f"{self._namespace}{self._suffix(name, parts)}"

    async def get(self, generation: int | None, name: str, *parts: object) -> bytes | None:
        value = None
        if generation is not None:
            entry = await self._cache.get(self.key(name, *parts))
            value = self._unmarked(str(generation).encode(), entry)
        self._cache.record(name, hit=value is not None)
        return value

    async def set(self, generation: int | None, value: bytes, name: str, *parts: object) -> None:
        if generation is not None:
            marked = str(generation).encode() + _MARK + value
            await self._cache.set(self.key(name, *parts), marked, self._ttl)
