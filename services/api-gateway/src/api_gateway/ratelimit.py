"""Sliding-window rate limits kept in Redis, so every gateway replica shares them.

A fixed window lets a client send twice its limit across a window boundary, and
makes "the 21st request is refused" depend on the clock. The sliding-window
counter weighs the previous window's count by how much of it still overlaps
the last `window_seconds`: two keys per limit, one scripted round trip each.

Every key has the same bounded size whatever the client sent: the subject (an
address, a username of any length) is hashed. If Redis cannot answer, the
verdict is "undecided" and the caller chooses (the gateway refuses logins and
lets reads through); the cache layer logs it and counts
`dependency_degraded_total{dependency="redis",operation="ratelimit"}`.

Every check is exact, and none costs a round trip of its own: a `Counter`
sends the counts asked for while its previous batch was out as one script call
(one INCR per limit, in the order they were asked, so no count is lost or
shared). Under load a round trip carries dozens of checks; with one request at
a time it carries one, as before.
"""

import asyncio
import hashlib
import math
import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from titanium_common import Cache


@dataclass(frozen=True)
class Limit:
    name: str
    subject: str
    per_window: int


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0
    limit: str = ""
    # False when Redis could not be asked: `allowed` is then only a default.
    decided: bool = True


UNDECIDED = Verdict(True, decided=False)

# For each limit, the current window's count after this request and the
# previous window's count: keys in pairs (now, before), one expiry per pair. The
# current window's key is kept through the next one, where it is the weighted
# previous count. The decision stays in Python; the script only counts.
# Bytes, so the script needs no client to be hashed; each call names its client.
COUNT = AsyncScript(
    None,
    b"""
local counts = {}
for pair = 1, #ARGV do
  local used_now = redis.call('INCR', KEYS[2 * pair - 1])
  if used_now == 1 then redis.call('EXPIRE', KEYS[2 * pair - 1], ARGV[pair]) end
  counts[#counts + 1] = used_now
  counts[#counts + 1] = tonumber(redis.call('GET', KEYS[2 * pair]) or '0')
end
return counts
""",
)


class Counter:
    """Counts limits in Redis, one script call for all the checks that queued
    while the previous call was out (at most `batch` limits a call)."""

    def __init__(self, cache: Cache, *, batch: int = 256) -> None:
        self.cache = cache
        self.batch = batch
        self._queued: list[tuple[str, str, int, asyncio.Future]] = []
        self._sending = False
        # The running sender, held: the event loop keeps only a weak reference.
        self._sender: asyncio.Task | None = None

    async def count(
        self, now_key: str, before_key: str, expire_seconds: int
    ) -> tuple[int, int] | None:
        """(this window's count with this request, the previous window's), or None
        when Redis cannot be asked."""
        future = asyncio.get_running_loop().create_future()
        self._queued.append((now_key, before_key, expire_seconds, future))
        if not self._sending:
            self._sending = True
            self._sender = asyncio.get_running_loop().create_task(self._send_queued())
        return await future

    async def _send_queued(self) -> None:
        try:
            while self._queued:
                sent, self._queued = self._queued[: self.batch], self._queued[self.batch :]
                try:
                    counts = await self._send(sent)
                except BaseException as exc:
                    # Not Redis being down (that is None): nobody may wait forever.
                    left, self._queued = sent + self._queued, []
                    for *_, future in left:
                        if not future.done():
                            future.set_exception(exc)
                    raise
                for index, (*_, future) in enumerate(sent):
                    if not future.done():  # the request may have gone meanwhile
                        future.set_result(
                            None if counts is None else (counts[2 * index], counts[2 * index + 1])
                        )
        finally:
            self._sending = False

    async def _send(self, sent: list[tuple[str, str, int, asyncio.Future]]) -> list[int] | None:
        keys = [key for now_key, before_key, *_ in sent for key in (now_key, before_key)]
        expiries = [expire for _, _, expire, _ in sent]

        async def call(redis: Redis) -> list[int]:
            return [int(count) for count in await COUNT(keys=keys, args=expiries, client=redis)]

        return await self.cache.run("ratelimit", call, None)


def subject_key(subject: str) -> str:
    """A fixed-size stand-in for a client-chosen subject (128 bits: no collisions
    between clients to speak of, and no way to grow a key with a long username)."""
    return hashlib.blake2b(subject.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


async def check(counter: Counter, limits: list[Limit], window_seconds: int) -> Verdict:
    """Count the request against each limit in order, stopping at the first that
    refuses: a request refused by address never creates a key for its username."""
    now = time.time()
    window = int(now // window_seconds)
    overlap = 1 - (now % window_seconds) / window_seconds
    cache = counter.cache
    for limit in limits:
        subject = subject_key(limit.subject)
        counts = await counter.count(
            cache.key("rl", limit.name, subject, window),
            cache.key("rl", limit.name, subject, window - 1),
            2 * window_seconds + 1,
        )
        if counts is None:
            return UNDECIDED
        used_now, used_before = counts
        if used_now + used_before * overlap > limit.per_window:
            return Verdict(
                False,
                _seconds_until_allowed(limit, used_now, used_before, overlap, now, window_seconds),
                limit.name,
            )
    return Verdict(True)


def _seconds_until_allowed(
    limit: Limit, used_now: int, used_before: int, overlap: float, now: float, window_seconds: int
) -> int:
    until_next_window = (now // window_seconds + 1) * window_seconds - now
    if used_now >= limit.per_window or used_before == 0:
        # This window alone is full: it has to become the (decaying) previous one.
        wait = until_next_window
    else:
        # The previous window's share has to decay until one more request fits.
        room = limit.per_window - used_now
        wait = window_seconds * (overlap - room / used_before)
    return max(1, math.ceil(min(wait, until_next_window)))
