"""Every malformed or mismatched access token is a 401, never a 500: tokens
signed with other algorithms (some with the real key id), without a key id,
without an expiry, for another issuer or audience."""

import base64
import hashlib
import hmac
import json
import time
from typing import Annotated

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient
from titanium_common import CurrentUser, ServiceSettings, create_app, current_user

from tests.support.tokens import TokenFactory

TOKENS = TokenFactory(kid="real-kid")
router = APIRouter()


@router.get("/whoami")
async def whoami(user: Annotated[CurrentUser, Depends(current_user)]) -> dict[str, object]:
    return {"id": user.id, "username": user.username}


NOW = int(time.time())
# The tokens are made when the module is collected and used up to an hour later
# in a full run: each must still be in date then, so that only its defect is tested.
VALID_FOR = 24 * 3600
CLAIMS = {"sub": "7", "username": "ada", "iss": "titanium-auth", "aud": "titanium"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_with_public_key() -> str:
    """The classic confusion: HMAC keyed with the public key everyone can read."""
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "real-kid"}).encode())
    body = b64(json.dumps({**CLAIMS, "exp": NOW + VALID_FOR}).encode())
    secret = TOKENS.jwks["keys"][0]["x"].encode()
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(signature)}"


def signed(key: object, algorithm: str, kid: str | None = "real-kid", **claims: object) -> str:
    payload = {**CLAIMS, "exp": NOW + VALID_FOR, **claims}
    payload = {name: value for name, value in payload.items() if value is not None}
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(payload, key, algorithm, headers=headers)


def raw(header: object, body: object = CLAIMS) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(body).encode())}.c2ln"


BAD_TOKENS = {
    "alg none": signed(None, "none"),
    "HS256 keyed with the public key": hs256_with_public_key(),
    "HS256": signed("a shared secret of thirty-two bytes!", "HS256"),
    "RS256 with the real kid": signed(rsa.generate_private_key(65537, 2048), "RS256"),
    "ES256 with the real kid": signed(ec.generate_private_key(ec.SECP256R1()), "ES256"),
    "EdDSA from another key": signed(Ed25519PrivateKey.generate(), "EdDSA"),
    "unknown kid": signed(TOKENS.key, "EdDSA", kid="no-such-kid"),
    "missing kid": signed(TOKENS.key, "EdDSA", kid=None),
    "kid not a string": raw({"alg": "EdDSA", "kid": ["real-kid"]}),
    "missing exp": signed(TOKENS.key, "EdDSA", exp=None),
    "expired": signed(TOKENS.key, "EdDSA", exp=NOW - 60),
    "wrong iss": signed(TOKENS.key, "EdDSA", iss="someone-else"),
    "wrong aud": signed(TOKENS.key, "EdDSA", aud="another-app"),
    "missing sub": signed(TOKENS.key, "EdDSA", sub=None),
    "sub not a number": signed(TOKENS.key, "EdDSA", sub="root"),
    "header is a list": raw(["EdDSA"]),
    "alg is a number": raw({"alg": 5, "kid": "real-kid"}),
    "not base64": "!!!.???.***",
    "two parts": "a.b",
    "empty": "",
}


@pytest.fixture(scope="module")
def client():
    settings = ServiceSettings(
        service_name="testsvc", metrics_port=0, jwks_url="http://127.0.0.1:1/unused"
    )
    with TestClient(
        create_app(settings, title="test", routers=[router]), raise_server_exceptions=False
    ) as client:
        client.app.state.ctx.verifier.load_jwks(TOKENS.jwks)
        yield client


def test_the_real_key_still_verifies(client):
    answer = client.get(
        "/whoami", headers={"Authorization": f"Bearer {signed(TOKENS.key, 'EdDSA')}"}
    )
    assert answer.status_code == 200 and answer.json() == {"id": 7, "username": "ada"}


@pytest.mark.parametrize("case", BAD_TOKENS)
def test_bad_token_is_a_401(client, case):
    answer = client.get("/whoami", headers={"Authorization": f"Bearer {BAD_TOKENS[case]}"})
    assert answer.status_code == 401, (case, answer.status_code, answer.text)
    assert answer.headers["www-authenticate"] == "Bearer"
