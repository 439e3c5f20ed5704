"""Fixed-window rate limits kept in Redis, so every gateway replica shares them.

One pipelined round trip per check. If Redis is down the limits are not
enforced (the blog keeps serving): that choice is logged and counted by the
cache layer as `dependency_degraded_total{dependency="redis",operation="ratelimit"}`.
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
    keys = [cache.key("rl", limit.name, limit.subject, window) for limit in limits]

    async def count(redis: Redis) -> list[int]:
        pipe = redis.pipeline(transaction=False)
        for key in keys:
            pipe.incr(key)
            pipe.expire(key, window_seconds + 1, nx=True)
        results = await pipe.execute()
        return results[0::2]

    counts = await cache.run("ratelimit", count, None)
    if counts is None:
        return Verdict(True)
    for limit, used in zip(limits, counts, strict=True):
        if used > limit.per_window:
            retry_after = max(1, math.ceil((window + 1) * window_seconds - now))
            return Verdict(False, retry_after, limit.name)
    return Verdict(True)
