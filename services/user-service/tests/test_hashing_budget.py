"""A burst of registrations against a real user-service process: argon2 never
holds more memory than its budget, and what does not fit is told to retry."""

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.support.services import running_user_service

pytestmark = pytest.mark.slow

HASH_MIB = 32
BURST = 24


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc status")


def registration(name: str) -> dict[str, str]:
    return {"username": name, "email": f"{name}@example.org", "password": "correct horse"}


@pytest.fixture(scope="module")
def tight_user_service(service_database, redis_service):
    with running_user_service(
        service_database("users"),
        redis_service.url,
        USER_ARGON2_PARALLELISM="1",
        USER_ARGON2_MEMORY_KIB=str(HASH_MIB * 1024),
        # Room for one hash at a time and two waiting.
        USER_ARGON2_MEMORY_BUDGET_MIB=str(HASH_MIB),
        USER_ARGON2_QUEUE_LIMIT="2",
    ) as service:
        yield service


def test_a_registration_burst_stays_in_the_memory_budget_and_the_rest_retry(
    tight_user_service,
):
    url = tight_user_service.url + "/internal/users"
    pid = tight_user_service.process.pid
    # One hash first, so the peak already holds one hash's memory and the start-up.
    assert httpx.post(url, json=registration("burst_warmup"), timeout=30).status_code == 201
    before = peak_rss_mib(pid)

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(
            timeout=30, limits=httpx.Limits(max_connections=BURST)
        ) as client:
            return await asyncio.gather(
                *(client.post(url, json=registration(f"burst_{n}")) for n in range(BURST))
            )

    answers = asyncio.run(burst())
    grown = peak_rss_mib(pid) - before

    # A second hash at once would have added HASH_MIB to the peak.
    assert grown < HASH_MIB / 2, f"peak RSS grew {grown:.0f} MiB during the burst"
    statuses = sorted(answer.status_code for answer in answers)
    assert set(statuses) <= {201, 503}, statuses
    assert 201 in statuses, statuses
    busy = [answer for answer in answers if answer.status_code == 503]
    assert busy, f"{BURST} at once with one slot and two waiting: some must be refused"
    assert all(answer.headers["retry-after"] == "1" for answer in busy)
    assert busy[0].json()["detail"] == "password hashing unavailable"

    # Told to retry, a refused registration goes through once the burst is over.
    refused = busy[0].request.content
    retried = httpx.post(url, content=refused, headers={"content-type": "application/json"})
    assert retried.status_code == 201, retried.text
