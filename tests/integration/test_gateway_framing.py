"""HTTP framing through the real gateway: every client gets exactly its own response.

The gateway pools keep-alive connections to each upstream, so one mis-framed
exchange (a 1xx taken as final, a body left unread) hands the next client on
that connection somebody else's response. These tests drive the real gateway
process, first against the real services, then against an upstream that
misbehaves on purpose.
"""

import json
import secrets
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httptools
import httpx
import jwt
import pytest

from tests.support.blog_stack import PASSWORD, Stack, blog_stack, new_user
from tests.support.scripted_upstream import ScriptedUpstream, gateway_env
from tests.support.servers import free_port, redis_server
from tests.support.services import running_service

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    with blog_stack(tmp_path_factory.mktemp("framing-stack")) as built:
        yield built


def _subject(tokens: dict) -> str:
    # The signature is the services' business; here only whose tokens these are.
    return jwt.decode(tokens["access_token"], options={"verify_signature": False})["sub"]


def test_expect_continue_login_interleaved_with_other_clients(stack):
    users = [new_user(stack) for _ in range(4)]

    def login(index: int) -> None:
        client, user = users[index]
        headers = {"Expect": "100-continue"} if index % 2 == 0 else {}
        answer = client.post(
            "/api/auth/login",
            json={"username": user["username"], "password": PASSWORD},
            headers=headers,
        )
        assert answer.status_code == 200, (index, answer.status_code, answer.text[:200])
        assert _subject(answer.json()) == str(user["id"])

    def whoami(index: int) -> None:
        client, user = users[index]
        answer = client.get("/api/users/me")
        assert answer.status_code == 200, (index, answer.status_code, answer.text[:200])
        assert answer.json()["username"] == user["username"]

    # Logins (half with Expect) and reads interleaved on the gateway's shared pools;
    # two rounds stay within the per-username login limit.
    tasks = [(job, index) for index in range(4) for job in (login, whoami, whoami)]
    for _ in range(2):
        with ThreadPoolExecutor(max_workers=6) as pool:
            for done in [pool.submit(job, index) for job, index in tasks]:
                done.result()


def test_expect_continue_on_a_large_post_is_answered_once(stack):
    author, _ = new_user(stack)
    reader, _ = new_user(stack)
    body = "word " * 19_000  # 95 kB (the post limit is 100,000 characters): streamed upstream
    created = author.post(
        "/api/posts",
        json={"title": f"Big {secrets.token_hex(3)}", "body": body, "category": "General"},
        headers={"Expect": "100-continue"},
    )
    assert created.status_code == 201, created.text[:200]
    post = created.json()
    for _ in range(3):
        listed = reader.get("/api/categories")
        assert listed.status_code == 200 and isinstance(listed.json(), list)
        fetched = reader.get(f"/api/posts/{post['id']}")
        assert fetched.status_code == 200 and fetched.json()["id"] == post["id"]


def _exchange_pipelined(port: int, requests: list[bytes]) -> list[tuple[int, bytes]]:
    """Send every request in one write, then read the answers in order."""
    answers: list[tuple[int, bytes]] = []

    class Collector:
        body: list[bytes]

        def on_message_begin(self) -> None:
            self.body = []

        def on_body(self, data: bytes) -> None:
            self.body.append(data)

        def on_message_complete(self) -> None:
            if parser.get_status_code() >= 200:  # a 100 Continue is interim
                answers.append((parser.get_status_code(), b"".join(self.body)))

    parser = httptools.HttpResponseParser(Collector())
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"".join(requests))
        while len(answers) < len(requests):
            data = sock.recv(65536)
            if not data:
                break
            parser.feed_data(data)
    return answers


def test_pipelined_requests_each_get_their_own_answer(stack):
    client, user = new_user(stack)
    ids = []
    for n in range(3):
        created = client.post(
            "/api/posts",
            json={"title": f"Pipelined {n}", "body": f"body {n}", "category": "General"},
        )
        assert created.status_code == 201
        ids.append(created.json()["id"])
    token = client.headers["Authorization"]
    requests = [
        (
            f"GET /api/posts/{post_id} HTTP/1.1\r\nHost: gateway\r\n"
            f"X-Forwarded-For: 198.51.100.7\r\n\r\n"
        ).encode()
        for post_id in ids
    ] + [
        (
            f"GET /api/users/me HTTP/1.1\r\nHost: gateway\r\nAuthorization: {token}\r\n"
            f"X-Forwarded-For: 198.51.100.7\r\nExpect: 100-continue\r\n\r\n"
        ).encode()
    ]
    port = int(stack.gateway.rsplit(":", 1)[1])
    answers = _exchange_pipelined(port, requests)
    assert [status for status, _ in answers] == [200, 200, 200, 200]
    assert [json.loads(body)["id"] for _, body in answers[:3]] == ids
    assert json.loads(answers[3][1])["username"] == user["username"]


# --- an upstream that misbehaves on purpose -------------------------------------------


@pytest.fixture(scope="module")
def misbehaving() -> Iterator[tuple[ScriptedUpstream, str]]:
    with ScriptedUpstream() as upstream, redis_server() as redis:
        port = free_port()
        env = gateway_env(port, upstream, redis.url)
        with running_service("api_gateway", port, env) as gateway:
            yield upstream, gateway.url


def _get(base: str, path: str, **kwargs) -> httpx.Response:
    return httpx.get(base + path, timeout=10, **kwargs)


def _next_answer_is_its_own(base: str) -> None:
    for n in range(3):
        answer = _get(base, f"/api/posts/plain-{n}")
        assert (answer.status_code, answer.text) == (200, f"/posts/plain-{n}")


def test_interim_responses_are_never_final(misbehaving):
    _, base = misbehaving
    for _ in range(3):
        answer = _get(base, "/api/posts/interim")
        assert (answer.status_code, answer.text) == (200, "interim")
        _next_answer_is_its_own(base)


def test_an_unrequested_protocol_switch_is_a_bad_gateway(misbehaving):
    _, base = misbehaving
    assert _get(base, "/api/posts/switching").status_code == 502
    _next_answer_is_its_own(base)


@pytest.mark.parametrize("path", ["/api/posts/cut-short", "/api/posts/cut-short-chunked"])
def test_an_upstream_that_closes_mid_body_never_looks_complete(misbehaving, path):
    _, base = misbehaving
    try:
        answer = _get(base, path)
    except httpx.HTTPError:
        pass  # the gateway aborted a response it had started: the client can tell
    else:
        assert answer.status_code == 502, (answer.status_code, answer.text)
    _next_answer_is_its_own(base)


def test_hop_by_hop_headers_and_expect_are_not_forwarded(misbehaving):
    _, base = misbehaving
    answer = _get(
        base,
        "/api/posts/hop-headers",
        headers={
            "Expect": "100-continue",
            "Connection": "x-secret-hop, keep-alive",
            "X-Secret-Hop": "dropped",
            "Keep-Alive": "timeout=5",
            "TE": "trailers",
            "Upgrade": "h2c",
            "Proxy-Connection": "keep-alive",
            "X-Kept": "kept",
        },
    )
    assert answer.status_code == 200
    seen = {name.lower() for name in answer.json()}
    assert "x-kept" in seen
    # A GET without a body reaches the upstream without one, not as an empty chunked body.
    assert not seen & {"transfer-encoding", "content-length"}, seen
    leaked = seen & {"expect", "x-secret-hop", "keep-alive", "te", "upgrade", "proxy-connection"}
    assert not leaked, leaked


def test_only_idempotent_requests_are_sent_again_after_an_upstream_drop(misbehaving):
    upstream, base = misbehaving
    answer = _get(base, "/api/posts/dropped-once/read")
    assert (answer.status_code, answer.text) == (200, "/posts/dropped-once/read")
    write = httpx.post(base + "/api/posts/dropped-once/write", json={"n": 1}, timeout=10)
    assert write.status_code == 502  # it may have been done: never done twice
    assert [seen["target"] for seen in upstream.seen].count("/posts/dropped-once/write") == 1


def test_no_redirect_ever_names_the_host_the_client_sent(misbehaving):
    _, base = misbehaving
    answer = _get(base, "/health/live/", headers={"Host": "evil.example"})
    assert answer.status_code == 404
    assert "location" not in answer.headers
