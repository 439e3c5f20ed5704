"""auth-service against real PostgreSQL, Redis and a real user-service process."""

import os
import subprocess
import sys

import jwt
import pytest
from auth_service.app import ALEMBIC_DIR, build_app
from auth_service.settings import Settings
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from tests.support.servers import free_port
from tests.support.services import running_user_service

pytestmark = pytest.mark.slow
PASSWORD = "a long password"


@pytest.fixture(scope="module")
def user_service(service_database, redis_service):
    with running_user_service(service_database("users"), redis_service.url) as service:
        yield service


@pytest.fixture(scope="module")
def key_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("keys") / "signing.pem"
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(pem)
    return path


@pytest.fixture(scope="module")
def client(service_database, redis_service, user_service, key_file):
    settings = Settings(
        database_url=service_database("auth"),
        redis_url=redis_service.url,
        user_service_url=user_service.url,
        signing_key_file=key_file,
        environment="production",
        metrics_port=0,
    )
    from titanium_common.serve import migrate

    migrate(ALEMBIC_DIR, settings)
    with TestClient(build_app(settings)) as client:
        yield client


def login(client, username: str) -> dict:
    answer = client.post("/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_register_login_and_token_verifies_against_jwks(client):
    created = client.post(
        "/register", json={"username": "amy", "email": "amy@example.org", "password": PASSWORD}
    )
    assert created.status_code == 201 and created.json()["username"] == "amy"
    dup = client.post(
        "/register", json={"username": "amy", "email": "amy2@example.org", "password": PASSWORD}
    )
    assert dup.status_code == 409
    pair = login(client, "amy")
    jwks = client.get("/.well-known/jwks.json").json()
    key = jwt.PyJWKSet.from_dict(jwks).keys[0]
    assert key.key_id == jwt.get_unverified_header(pair["access_token"])["kid"]
    claims = jwt.decode(pair["access_token"], key.key, algorithms=["EdDSA"], audience="titanium")
    assert claims["username"] == "amy" and int(claims["sub"]) == created.json()["id"]
    assert 890 <= claims["exp"] - claims["iat"] <= 900
    assert (
        client.post("/login", json={"username": "amy", "password": "wrong password"}).status_code
        == 401
    )


def test_refresh_rotates_and_reuse_revokes_the_family(client):
    client.post(
        "/register", json={"username": "ben", "email": "ben@example.org", "password": PASSWORD}
    )
    first = login(client, "ben")
    second = client.post("/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    # The rotated token comes back: someone replays it. Both it and its successor die.
    assert (
        client.post("/refresh", json={"refresh_token": first["refresh_token"]}).status_code == 401
    )
    assert (
        client.post("/refresh", json={"refresh_token": second.json()["refresh_token"]}).status_code
        == 401
    )
    # Another login is another family, untouched.
    other = login(client, "ben")
    assert (
        client.post("/refresh", json={"refresh_token": other["refresh_token"]}).status_code == 200
    )


def test_logout_revokes(client):
    client.post(
        "/register", json={"username": "cat", "email": "cat@example.org", "password": PASSWORD}
    )
    pair = login(client, "cat")
    assert client.post("/logout", json={"refresh_token": pair["refresh_token"]}).status_code == 204
    assert client.post("/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 401


def test_refresh_tokens_are_stored_hashed(client, postgres):
    client.post(
        "/register", json={"username": "dan", "email": "dan@example.org", "password": PASSWORD}
    )
    pair = login(client, "dan")
    stored = postgres.psql("SELECT token_hash FROM auth.refresh_tokens")
    assert pair["refresh_token"] not in stored


def test_refuses_to_start_in_production_without_a_key():
    env = {**os.environ, "AUTH_ENVIRONMENT": "production", "AUTH_PORT": str(free_port())}
    env.pop("AUTH_SIGNING_KEY_FILE", None)
    result = subprocess.run(
        [sys.executable, "-m", "auth_service", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "AUTH_SIGNING_KEY_FILE" in result.stderr
