"""argon2id hashing, run in worker threads: a hash takes tens of milliseconds
of CPU and must never stall the event loop. Each hash also holds
`argon2_memory_kib` for its whole run, so how many run at once is bounded by
the memory budget, not by how many requests arrive."""

import asyncio
import concurrent.futures
import contextlib
import logging
from collections.abc import Callable
from typing import TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from titanium_common.errors import ServiceUnavailable

from user_service.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


class HashingSlots:
    """At most `slots` hashes in threads at once, at most `queue_limit` more
    waiting for one; beyond that a 503 with Retry-After, at once.

    The threads of a pool sized to the slots are what bound the memory: a
    request whose client went away still has its hash running (a thread cannot
    be stopped), so a slot is freed when the hash ends, never when the request does.
    """

    def __init__(self, slots: int, queue_limit: int) -> None:
        self.slots = slots
        self.capacity = slots + queue_limit
        self._admitted = 0  # running or waiting; only touched on the event loop
        self._pool = concurrent.futures.ThreadPoolExecutor(slots, thread_name_prefix="argon2")

    async def run(self, work: Callable[[], T]) -> T:
        if self._admitted >= self.capacity:
            log.warning("password hashing saturated", extra={"admitted": self._admitted})
            raise ServiceUnavailable("password hashing")
        loop = asyncio.get_running_loop()
        future = self._pool.submit(work)
        self._admitted += 1
        future.add_done_callback(lambda _: _call_soon(loop, self._release))
        return await asyncio.wrap_future(future, loop=loop)

    def _release(self) -> None:
        self._admitted -= 1

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    # After shutdown the loop may be closed; nobody counts slots any more then.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(callback)


def hashing_slots(settings: Settings) -> int:
    return max(1, settings.argon2_memory_budget_mib * 1024 // settings.argon2_memory_kib)


class Passwords:
    def __init__(self, settings: Settings) -> None:
        self.hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        self.slots = HashingSlots(hashing_slots(settings), settings.argon2_queue_limit)
        # Unknown users are checked against this, so a miss costs what a hit costs.
        self._decoy = self.hasher.hash("decoy password never used")

    async def hash(self, password: str) -> str:
        return await self.slots.run(lambda: self.hasher.hash(password))

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        def check() -> bool:
            try:
                return self.hasher.verify(stored_hash or self._decoy, password) and bool(
                    stored_hash
                )
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

        return await self.slots.run(check)

    def needs_rehash(self, stored_hash: str) -> bool:
        return self.hasher.check_needs_rehash(stored_hash)

    def close(self) -> None:
        self.slots.close()
