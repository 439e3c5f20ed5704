"""Key rotation: the JWKS publishes the next key beside the signing one, so
verifiers know it before it signs, and an old key can stay published after a
swap until the tokens it signed expire."""

import asyncio

import jwt
from auth_service.app import build_app
from auth_service.settings import Settings
from fastapi.testclient import TestClient
from titanium_common.auth import TokenVerifier

from tests.support.tokens import fresh_private_key_pem


def settings_with(tmp_path, **key_files: str) -> Settings:
    tmp_path.mkdir(exist_ok=True)
    paths = {}
    for setting, pem in key_files.items():
        paths[setting] = tmp_path / f"{setting}.pem"
        paths[setting].write_text(pem)
    return Settings(environment="production", metrics_port=0, **paths)


def published(settings: Settings) -> dict:
    with TestClient(build_app(settings)) as client:
        return client.get("/.well-known/jwks.json").json()


def verifies(jwks: dict, token: str) -> bool:
    verifier = TokenVerifier("", issuer="titanium-auth", audience="titanium")
    verifier.load_jwks(jwks)
    return asyncio.run(verifier.verify(token)).id == 7


def token_signed_by(settings: Settings) -> str:
    app = build_app(settings)
    with TestClient(app):
        key = app.state.ctx.extras["key"]
        return jwt.encode(
            {"sub": "7", "iss": "titanium-auth", "aud": "titanium", "exp": 2**31},
            key.private_key,
            key.algorithm,
            headers={"kid": key.kid},
        )


def test_the_jwks_publishes_the_current_and_the_next_key(tmp_path):
    current, upcoming = fresh_private_key_pem(), fresh_private_key_pem()
    before = settings_with(
        tmp_path / "before", signing_key_file=current, next_signing_key_file=upcoming
    )
    jwks = published(before)
    kids = [key["kid"] for key in jwks["keys"]]
    assert len(kids) == 2 and len(set(kids)) == 2
    assert all("d" not in key for key in jwks["keys"]), "a private part was published"

    # Signing stays with the current key; the next one is only announced.
    assert jwt.get_unverified_header(token_signed_by(before))["kid"] == kids[0]
    # After the swap the next key signs, and verifiers that fetched before know it.
    after = settings_with(
        tmp_path / "after", signing_key_file=upcoming, next_signing_key_file=current
    )
    assert verifies(jwks, token_signed_by(after))
    # The old key, now kept as the next one, still verifies what it signed.
    assert verifies(published(after), token_signed_by(before))


def test_without_a_next_key_only_the_signing_key_is_published(tmp_path):
    jwks = published(settings_with(tmp_path, signing_key_file=fresh_private_key_pem()))
    assert len(jwks["keys"]) == 1
