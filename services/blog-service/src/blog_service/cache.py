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
offsets, searches) can be missed.

A hit costs a share of one `GET` of the counter and no entry from Redis:

* The lookups that ask for the generation before a read of it is sent share
  that read; those that ask once it is out wait for the next one. So every
  lookup still reads a generation from a `GET` sent after the lookup began,
  which is all the argument above needs, and under load one round trip
  answers every request that arrived in the same turn of the event loop.
* Each process keeps the entries it stored, marked as in Redis
  (`HeldEntries`), until they expire there, and those it read from Redis for
  a few seconds: one marked with the current generation is a hit without
  fetching its bytes again. Only otherwise is the entry read from Redis. After
  a lost bump, an entry is thus served at most the TTL and those seconds.

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
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from redis.asyncio import Redis
from titanium_common.cache import Cache

# Between an entry's generation and its bytes; generations are decimal digits.
_MARK = b"|"
T = TypeVar("T")


class SharedRead(Generic[T]):
    """`read()` for every caller that asked before it was sent: a caller joins
    the read being prepared, never one already out, so what it gets was read
    after it asked."""

    def __init__(self, read: Callable[[], Awaitable[T]]) -> None:
        self._read = read
        self._next: asyncio.Future | None = None

    def __call__(self) -> Awaitable[T]:
        if self._next is None:
            self._next = asyncio.ensure_future(self._send())
        # Shielded: a caller that goes away does not cancel the others' read.
        return asyncio.shield(self._next)

    async def _send(self) -> T:
        self._next = None  # sent from here on: later callers wait for the next
        return await self._read()


class HeldEntries:
    """The marked entries this process read or stored, each until its expiry
    (which bounds staleness after a lost bump), the most recently used up to
    `max_bytes` of them."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        # key -> (generation, value, expiry on the monotonic clock)
        self._entries: OrderedDict[str, tuple[bytes, bytes, float]] = OrderedDict()
        self._bytes = 0

    def get(self, key: str, generation: bytes) -> bytes | None:
        held = self._entries.get(key)
        if held is None or held[0] != generation:
            return None
        if held[2] <= time.monotonic():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return held[1]

    def put(self, key: str, generation: bytes, value: bytes, ttl_seconds: float) -> None:
        self._drop(key)
        if len(value) > self.max_bytes or ttl_seconds <= 0:
            return
        self._entries[key] = (generation, value, time.monotonic() + ttl_seconds)
        self._bytes += len(value)
        while self._bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        held = self._entries.pop(key, None)
        if held is not None:
            self._bytes -= len(held[1])


class GenerationCache:
    def __init__(
        self,
        cache: Cache,
        *,
        ttl_seconds: int = 300,
        held_bytes: int = 8 * 1024 * 1024,
        read_hold_seconds: float = 5.0,
    ) -> None:
        self._cache = cache
        # An entry read from Redis has an expiry there this process does not
        # know (asking costs a command per miss: the fresh-reads run's p99 went
        # from 52-55 to 69-78 ms); it is held this long, at most.
        self._read_hold_seconds = min(read_hold_seconds, ttl_seconds)
        self._namespace = f"{cache.key_prefix}cache"
        self._generation_key = f"{self._namespace}:generation"
        self._ttl = ttl_seconds
        self._pending_bump = False
        self._filling: dict[tuple[int, str], asyncio.Future] = {}
        self._current = SharedRead(
            lambda: self._cache.run("lookup", lambda redis: redis.get(self._generation_key), None)
        )
        self._held = HeldEntries(held_bytes)

    async def lookup(self, name: str, *parts: object) -> tuple[int | None, bytes | None]:
        """(generation, cached value); (None, None) without Redis.

        Store a value computed after this call with `set(generation, ...)`.
        """
        if self._pending_bump:
            await self.bump()
        if self._pending_bump or self._cache.client is None:
            self._cache.record(name, hit=False)
            return None, None
        current = await self._current()
        if current is None:
            # A miss: Redis is down, or the counter was lost and is re-created here.
            self._cache.record(name, hit=False)
            return (await self.generation() if self._cache.available else None), None
        key = self.key(name, *parts)
        value = self._held.get(key, current)
        if value is None:
            value = self._unmarked(current, await self._cache.get(key))
            if value is not None:
                self._held.put(key, current, value, self._read_hold_seconds)
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
            key, mark = self.key(name, *parts), str(generation).encode()
            if await self._cache.set(key, mark + _MARK + value, self._ttl):
                self._held.put(key, mark, value, self._ttl)
