"""Refresh and logout of one login racing each other on a real PostgreSQL, the
way two replicas (or a double-clicking client) would: each call on its own
connection, interleaved by the event loop. A race is a matter of timing, so each
case runs many rounds; one bad round fails the test."""

import asyncio

import pytest
from auth_service import tokens
from auth_service.app import ALEMBIC_DIR
from auth_service.keys import load_signing_key
from auth_service.settings import Settings
from fastapi import HTTPException
from titanium_common.db import Database
from titanium_common.serve import migrate

from tests.support.tokens import fresh_private_key_pem

pytestmark = pytest.mark.slow
ROUNDS = 60


@pytest.fixture(scope="module")
def settings(service_database, tmp_path_factory):
    key_file = tmp_path_factory.mktemp("keys") / "signing.pem"
    key_file.write_text(fresh_private_key_pem())
    settings = Settings(
        database_url=service_database("auth"),
        signing_key_file=key_file,
        environment="production",
        metrics_port=0,
    )
    migrate(ALEMBIC_DIR, settings)
    return settings


class Auth:
    """tokens.* each in a session of its own, as separate requests would be."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.key = load_signing_key(settings)
        self.database = Database(settings)

    async def login(self, user_id: int) -> str:
        async with self.database.sessions() as session:
            pair = await tokens.issue(session, self.key, self.settings, user_id, f"u{user_id}")
            await session.commit()
        return pair.refresh_token

    async def refresh(self, presented: str) -> str | None:
        """The new refresh token, or None when refused."""
        async with self.database.sessions() as session:
            try:
                pair = await tokens.rotate(session, self.key, self.settings, presented)
            except HTTPException as exc:
                assert exc.status_code == 401
                return None
        return pair.refresh_token

    async def logout(self, presented: str) -> None:
        async with self.database.sessions() as session:
            await tokens.logout(session, presented)


def run_rounds(settings: Settings, one_round) -> None:
    async def main() -> None:
        auth = Auth(settings)
        try:
            for number in range(ROUNDS):
                await one_round(auth, number)
        finally:
            await auth.database.dispose()

    asyncio.run(main())


def test_no_token_of_a_login_works_after_a_logout_that_raced_a_refresh(settings):
    async def one_round(auth: Auth, number: int) -> None:
        presented = await auth.login(1000 + number)
        issued, _ = await asyncio.gather(auth.refresh(presented), auth.logout(presented))
        for token in (presented, issued):
            if token is not None:
                assert await auth.refresh(token) is None, f"round {number}: alive after logout"

    run_rounds(settings, one_round)


def test_a_logout_with_an_older_token_of_the_login_beats_a_racing_refresh(settings):
    async def one_round(auth: Auth, number: int) -> None:
        older = await auth.login(2000 + number)
        latest = await auth.refresh(older)
        issued, _ = await asyncio.gather(auth.refresh(latest), auth.logout(older))
        if issued is not None:
            assert await auth.refresh(issued) is None, f"round {number}: alive after logout"

    run_rounds(settings, one_round)


def test_of_two_racing_refreshes_of_one_token_exactly_one_succeeds(settings):
    async def one_round(auth: Auth, number: int) -> None:
        presented = await auth.login(3000 + number)
        issued = await asyncio.gather(auth.refresh(presented), auth.refresh(presented))
        winners = [token for token in issued if token is not None]
        assert len(winners) == 1, f"round {number}: {len(winners)} refreshes succeeded"
        # The loser presented a spent token: that is reuse, and the login is revoked.
        assert await auth.refresh(winners[0]) is None, f"round {number}: reuse went unnoticed"

    run_rounds(settings, one_round)


def test_a_replayed_token_revokes_the_successor_a_racing_refresh_issues(settings):
    async def one_round(auth: Auth, number: int) -> None:
        spent = await auth.login(4000 + number)
        latest = await auth.refresh(spent)
        issued, replayed = await asyncio.gather(auth.refresh(latest), auth.refresh(spent))
        assert replayed is None
        if issued is not None:
            assert await auth.refresh(issued) is None, f"round {number}: alive after reuse"

    run_rounds(settings, one_round)
