"""The JWKS refetch while auth-service hangs: one fetch for any crowd of
requests, none for each unknown key id, and a known key keeps working while
the fetch waits. A real HTTP server stands in for auth-service's JWKS."""

import asyncio
import time

import pytest
from titanium_common.auth import InvalidToken, TokenVerifier
from titanium_common.errors import ServiceUnavailable

from tests.support.tokens import JwksEndpoint, TokenFactory, serving_jwks

HANG_SECONDS = 1.0
CROWD = 20


async def outcomes(verifier: TokenVerifier, tokens: list[str]) -> list[object]:
    async def one(token: str) -> object:
        try:
            return await verifier.verify(token)
        except (InvalidToken, ServiceUnavailable) as exc:
            return type(exc)

    # The old verifier fetched once per waiting request, one after another.
    return await asyncio.wait_for(asyncio.gather(*(one(t) for t in tokens)), 8)


def verifier_for(url: str, **options: object) -> TokenVerifier:
    return TokenVerifier(url, issuer="titanium-auth", audience="titanium", **options)


@pytest.mark.slow
def test_one_fetch_for_a_crowd_while_auth_service_hangs_and_none_during_the_backoff():
    tokens = TokenFactory(kid="k1")
    jwks = JwksEndpoint(tokens.jwks, hang_seconds=HANG_SECONDS)
    jwks.hang = True

    async def scenario(url: str) -> None:
        verifier = verifier_for(url)
        try:
            crowd = [tokens.token(n, f"user{n}") for n in range(CROWD)]
            assert await outcomes(verifier, crowd) == [ServiceUnavailable] * CROWD
            assert jwks.fetches == 1
            started = time.monotonic()
            assert await outcomes(verifier, crowd) == [ServiceUnavailable] * CROWD
            assert time.monotonic() - started < HANG_SECONDS / 2, "waited on a fetch"
            assert jwks.fetches == 1
        finally:
            await verifier.close()

    with serving_jwks(jwks) as url:
        asyncio.run(scenario(url))


@pytest.mark.slow
def test_unknown_key_ids_share_one_refetch_and_known_keys_do_not_wait_for_it():
    tokens = TokenFactory(kid="k1")
    strangers = [TokenFactory(kid=f"stranger-{n}") for n in range(CROWD)]
    jwks = JwksEndpoint(tokens.jwks, hang_seconds=HANG_SECONDS)

    async def scenario(url: str) -> None:
        # Keys go stale when an early refetch is next allowed, 5 s on.
        verifier = verifier_for(url, cache_seconds=5)
        try:
            assert (await verifier.verify(tokens.token(1, "ada"))).id == 1
            assert jwks.fetches == 1
            jwks.hang = True
            await asyncio.sleep(5.2)
            known = [tokens.token(n, f"user{n}") for n in range(5)]
            unknown = [stranger.token(9, "mallory") for stranger in strangers]
            started = time.monotonic()
            known_results = await outcomes(verifier, known)
            assert [user.id for user in known_results] == list(range(5))
            assert time.monotonic() - started < HANG_SECONDS / 2, "a known key waited"
            assert await outcomes(verifier, unknown) == [InvalidToken] * CROWD
            assert jwks.fetches == 2
            assert await outcomes(verifier, unknown) == [InvalidToken] * CROWD
            assert jwks.fetches == 2
        finally:
            await verifier.close()

    with serving_jwks(jwks) as url:
        asyncio.run(scenario(url))
