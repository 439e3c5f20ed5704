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
"""

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

# One command instead of a three-command pipeline: measured on the 2-core
# machine, 100 µs of the gateway's CPU per check instead of 145. The decision
# stays below, in Python; the script only counts. The current window's key is
# kept through the next one, where it is the weighted previous count.
# Bytes, so the script needs no client to be hashed; each call names its client.
COUNT = AsyncScript(
    None,
    b"""
local used_now = redis.call('INCR', KEYS[1])
if used_now == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {used_now, tonumber(redis.call('GET', KEYS[2]) or '0')}
""",
)


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
            used_now, used_before = await COUNT(
                keys=[now_key, before_key], args=[2 * window_seconds + 1], client=redis
            )
            return int(used_now), int(used_before)

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
