"""Sliding-window rate limits kept in Redis, so every gateway replica shares them.

A fixed window lets a client send twice its limit across a window boundary, and
makes "the 21st request is refused" depend on the clock. The sliding-window
counter weighs the previous window's count by how much of it still overlaps
the last `window_seconds`: two keys per limit, one pipelined round trip each.

Every key has the same bounded size whatever the client sent: the subject (an
address, a username of any length) is hashed. If Redis cannot answer, the
verdict is "undecided" and the caller chooses (the gateway refuses logins and
lets reads through); the cache layer logs it and counts
`dependency_degraded_total{dependency="redis",operation="ratelimit"}`.
"""

import hashlib
import math
import time
from dataclasses import dataclass

from redis.asyncio import Redis
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


def subject_key(subject: str) -> str:
    """A fixed-size stand-in for a client-chosen subject (128 bits: no collisions
    between clients to speak of, and no way to grow a key with a long username)."""
    return hashlib.blake2b(subject.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


async def check(cache: Cache, limits: list[Limit], window_seconds: int) -> Verdict:
    """Count the request against each limit in order, stopping at the first that
    refuses: a request refused by address never creates a key for its username."""
    now = time.time()
    window = int(now // window_seconds)
    overlap = 1 - (now % window_seconds) / window_seconds
    for limit in limits:
        subject = subject_key(limit.subject)
        now_key = cache.key("rl", limit.name, subject, window)
        before_key = cache.key("rl", limit.name, subject, window - 1)

        async def count(redis: Redis, now_key: str = now_key, before_key: str = before_key):
            pipe = redis.pipeline(transaction=False)
            pipe.incr(now_key)
            # Kept through the next window, where it is the weighted previous count.
            pipe.expire(now_key, 2 * window_seconds + 1, nx=True)
            pipe.get(before_key)
            used_now, _, used_before = await pipe.execute()
            return int(used_now), int(used_before or 0)

        counts = await cache.run("ratelimit", count, None)
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
