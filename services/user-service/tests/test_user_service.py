"""user-service against real PostgreSQL and Redis."""

import pytest
from fastapi.testclient import TestClient
from titanium_common.serve import migrate
from user_service.app import ALEMBIC_DIR, build_app
from user_service.settings import Settings

from tests.support.tokens import TokenFactory

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def settings(service_database, redis_service) -> Settings:
    settings = Settings(
        database_url=service_database("users"),
        redis_url=redis_service.url,
        jwks_url="http://127.0.0.1:1/unused",
        metrics_port=0,
        argon2_time_cost=1,
        argon2_memory_kib=8192,
        argon2_parallelism=1,
    )
    migrate(ALEMBIC_DIR, settings)
    migrate(ALEMBIC_DIR, settings)  # a second run is a no-op
    return settings


@pytest.fixture(scope="module")
def tokens() -> TokenFactory:
    return TokenFactory()


@pytest.fixture
def client(settings, tokens):
    with TestClient(build_app(settings)) as client:
        client.app.state.ctx.verifier.load_jwks(tokens.jwks)
        yield client


PASSWORD = "correct horse"


def register(client, username: str, password: str = PASSWORD) -> dict:
    answer = client.post(
        "/internal/users",
        json={"username": username, "email": f"{username}@example.org", "password": password},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_create_and_verify_credentials(client):
    user = register(client, "alice")
    assert "password" not in str(user) and "hash" not in str(user)
    ok = client.post(
        "/internal/credentials/verify", json={"username": "alice", "password": "correct horse"}
    )
    assert ok.status_code == 200 and ok.json() == {"id": user["id"], "username": "alice"}
    wrong = client.post(
        "/internal/credentials/verify", json={"username": "alice", "password": "nope nope"}
    )
    assert wrong.status_code == 401
    nobody = client.post(
        "/internal/credentials/verify", json={"username": "ghost", "password": "x" * 9}
    )
    assert nobody.status_code == 401


def test_duplicates_and_short_passwords_are_refused(client):
    register(client, "bob")
    again = client.post(
        "/internal/users",
        json={"username": "bob", "email": "other@example.org", "password": "12345678"},
    )
    assert again.status_code == 409
    short = client.post(
        "/internal/users",
        json={"username": "carol", "email": "c@example.org", "password": "1234567"},
    )
    assert short.status_code == 422
    assert short.json()["fields"][0]["field"] == "body.password"


def test_password_is_stored_as_argon2id(client, postgres):
    register(client, "dave")
    stored = postgres.psql("SELECT password_hash FROM users.users WHERE username = 'dave'")
    assert stored.startswith("$argon2id$")


def test_profile_email_only_for_its_owner_and_cache_invalidated(client, tokens):
    erin = register(client, "erin")
    public = client.get("/users/erin")
    assert public.status_code == 200 and "email" not in public.json()
    mine = client.get("/users/erin", headers=tokens.headers(erin["id"], "erin"))
    assert mine.json()["email"] == "erin@example.org"
    me = client.get("/users/me", headers=tokens.headers(erin["id"], "erin"))
    assert me.json()["username"] == "erin"
    patched = client.patch(
        "/users/me", json={"bio": "hello"}, headers=tokens.headers(erin["id"], "erin")
    )
    assert patched.status_code == 200 and patched.json()["bio"] == "hello"
    assert client.get("/users/erin").json()["bio"] == "hello"  # not the cached old profile
    assert client.get("/users/me").status_code == 401
    assert client.get("/users/nobody-here").status_code == 404


def test_profile_cache_never_holds_the_hash(client, redis_service):
    import redis

    register(client, "frank")
    client.get("/users/frank")
    cached = redis.Redis.from_url(redis_service.url).get("user-service:profile:frank")
    assert cached is not None and b"argon2" not in cached and b"password" not in cached
