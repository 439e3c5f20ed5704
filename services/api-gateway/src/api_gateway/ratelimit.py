"""Sliding-window rate limits kept in Redis, so every gateway replica shares them.

A fixed window lets a client send twice its limit across a window boundary, and
makes "the 21st request is refused" depend on the clock. The sliding-window
counter weighs the previous window's count by how much of it still overlaps
the last `window_seconds`: two keys per limit, one pipelined round trip.
If Redis is down the limits are not enforced (the blog keeps serving): that
choice is logged and counted by the cache layer as
`dependency_degraded_total{dependency="redis",operation="ratelimit"}`.
"""

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


async def check(cache: Cache, limits: list[Limit], window_seconds: int) -> Verdict:
    now = time.time()
    window = int(now // window_seconds)
    overlap = 1 - (now % window_seconds) / window_seconds
    current = [cache.key("rl", limit.name, limit.subject, window) for limit in limits]
    previous = [cache.key("rl", limit.name, limit.subject, window - 1) for limit in limits]

    async def count(redis: Redis) -> list[tuple[int, int]]:
        pipe = redis.pipeline(transaction=False)
        for now_key, before_key in zip(current, previous, strict=True):
            pipe.incr(now_key)
            # Kept through the next window, where it is the weighted previous count.
            pipe.expire(now_key, 2 * window_seconds + 1, nx=True)
            pipe.get(before_key)
        results = await pipe.execute()
        return [(int(results[i]), int(results[i + 2] or 0)) for i in range(0, len(results), 3)]

    counts = await cache.run("ratelimit", count, None)
    if counts is None:
        return Verdict(True)
    for limit, (used_now, used_before) in zip(limits, counts, strict=True):
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
