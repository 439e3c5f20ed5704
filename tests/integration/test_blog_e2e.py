"""The blog end to end: four real service processes behind the gateway, on a
real PostgreSQL and Redis of their own (this module restarts them)."""

import secrets
import time
import unicodedata
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from tests.support.blog_stack import Stack, blog_stack, new_user

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    with blog_stack(tmp_path_factory.mktemp("blog-stack")) as built:
        yield built


def test_register_login_write_list_edit_delete(stack):
    client, user = new_user(stack)
    category = f"Field Notes {secrets.token_hex(3)}"
    created = client.post(
        "/api/posts", json={"title": "First light", "body": "Hello *world*", "category": category}
    )
    assert created.status_code == 201, created.text
    post = created.json()
    assert post["author"]["username"] == user["username"]
    assert "<em>world</em>" in post["html"]
    slug = post["category"]["slug"]

    listed = client.get("/api/posts", params={"category": slug})
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["items"]] == [post["id"]]
    assert listed.json()["total"] == 1
    categories = {c["slug"]: c for c in client.get("/api/categories").json()}
    assert categories[slug]["post_count"] == 1
    assert categories[slug]["colour"] == post["category"]["colour"]

    edited = client.patch(f"/api/posts/{post['id']}", json={"title": "First light, revised"})
    assert edited.status_code == 200 and edited.json()["title"] == "First light, revised"
    assert client.get(f"/api/posts/{post['id']}").json()["title"] == "First light, revised"
    assert (
        client.get("/api/posts", params={"category": slug}).json()["items"][0]["title"]
        == "First light, revised"
    )

    assert client.delete(f"/api/posts/{post['id']}").status_code == 204
    assert client.get(f"/api/posts/{post['id']}").status_code == 404
    assert client.get("/api/posts", params={"category": slug}).json()["total"] == 0
    # The category outlives its last post.
    assert slug in {c["slug"] for c in client.get("/api/categories").json()}


def test_any_script_through_the_gateway(stack):
    """Hangul, mixed scripts and emoji as categories, titles and searches; names
    that differ only in case or normalisation are one category."""
    client, _ = new_user(stack)
    tag = "".join(chr(0xAC00 + b) for b in secrets.token_bytes(3))
    written = {}
    for name, title in [
        (f"기술 스택 {tag}", f"쿠버네티스 {tag} 입문"),
        (unicodedata.normalize("NFD", f"기술 스택 {tag}"), "같은 분류"),  # jamo, as macOS types
        (f"Rust와 Go {tag}", "Mixed"),
        (f"RUST와 GO {tag}", "Mixed, cased"),
        (f"🚀 {tag}", "Emoji"),
    ]:
        created = client.post("/api/posts", json={"title": title, "body": "본문", "category": name})
        assert created.status_code == 201, created.text
        written[title] = created.json()
    hangul = written[f"쿠버네티스 {tag} 입문"]["category"]
    assert hangul["slug"] == f"기술-스택-{tag}" and hangul["name"] == f"기술 스택 {tag}"
    assert written["같은 분류"]["category"] == hangul
    assert written["Mixed, cased"]["category"] == written["Mixed"]["category"]
    rocket = written["Emoji"]["category"]["slug"]
    assert rocket.startswith(f"{tag}--") and rocket != hangul["slug"]

    # Percent-encoded by hand, as a browser sends what the UI links to.
    listed = client.get(f"/api/posts?category={quote(hangul['slug'])}").json()
    assert {item["title"] for item in listed["items"]} == {f"쿠버네티스 {tag} 입문", "같은 분류"}
    categories = {c["slug"]: c for c in client.get("/api/categories").json()}
    assert categories[hangul["slug"]]["post_count"] == 2
    assert categories[rocket]["name"] == f"🚀 {tag}"

    found = client.get("/api/posts", params={"q": f"네티스 {tag}"}).json()["items"]
    assert [item["title"] for item in found] == [f"쿠버네티스 {tag} 입문"]

    page = client.get(f"/blog/?category={quote(hangul['slug'])}")
    assert page.status_code == 200 and f"쿠버네티스 {tag} 입문" in page.text
    assert f'href="/blog/?category={quote(hangul["slug"])}"' in page.text
    assert f".cat-{hangul['slug']}{{" in client.get("/blog/categories.css").text


def test_only_the_author_may_change_a_post(stack):
    author, _ = new_user(stack)
    other, _ = new_user(stack)
    post = author.post(
        "/api/posts", json={"title": "Mine", "body": "text", "category": "General"}
    ).json()
    assert other.patch(f"/api/posts/{post['id']}", json={"title": "Theirs"}).status_code == 403
    assert other.delete(f"/api/posts/{post['id']}").status_code == 403
    anonymous = stack.client()
    assert anonymous.delete(f"/api/posts/{post['id']}").status_code == 401
    forged = stack.client()
    forged.headers["Authorization"] = "Bearer " + author.headers["Authorization"][7:-4] + "AAAA"
    assert forged.delete(f"/api/posts/{post['id']}").status_code == 401
    assert author.get(f"/api/posts/{post['id']}").json()["title"] == "Mine"


def test_refresh_rotation_and_reuse_detection(stack):
    client, user = new_user(stack)
    first = user["refresh_token"]
    rotated = client.post("/api/auth/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200
    second = rotated.json()["refresh_token"]
    assert second != first
    assert client.post("/api/auth/refresh", json={"refresh_token": first}).status_code == 401
    assert client.post("/api/auth/refresh", json={"refresh_token": second}).status_code == 401
    jwks = client.get("/api/auth/.well-known/jwks.json").json()
    assert jwks["keys"][0]["alg"] == "EdDSA" and "d" not in jwks["keys"][0]


def test_login_limit_answers_429_with_retry_after(stack):
    client = stack.client(address="198.51.100.77")
    answers = [
        client.post("/api/auth/login", json={"username": f"nobody{i}", "password": "wrong pass"})
        for i in range(7)
    ]
    codes = [a.status_code for a in answers]
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 61
    # Another address is not affected; the per-username limit holds across addresses.
    assert (
        stack.client(address="198.51.100.78")
        .post("/api/auth/login", json={"username": "nobody0", "password": "wrong pass"})
        .status_code
        == 401
    )
    metrics = httpx.get(f"http://127.0.0.1:{stack.metrics_ports['gateway']}/metrics").text
    assert 'rate_limited_total{limit="login_address",service="api-gateway"}' in metrics
    assert 'route="/api/auth/{rest:path}",service="api-gateway",status="429"' in metrics
    assert client.get("/metrics").status_code == 404  # never on the public port


def test_xss_payload_comes_back_escaped(stack):
    client, _ = new_user(stack)
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    answer = client.post(
        "/api/posts", json={"title": f"XSS {payload}", "body": payload, "category": "Sec <b>x</b>"}
    )
    assert answer.status_code == 201, answer.text
    post = answer.json()
    # Escaped text may say "onerror=" harmlessly; no element may carry it.
    assert "<script" not in post["html"] and "<img" not in post["html"]
    page = client.get(f"/blog/posts/{post['id']}")
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "<img src=x onerror" not in page.text
    assert "&lt;script&gt;" in page.text
    listing = client.get("/blog/")
    assert "<script>alert" not in listing.text


def test_internal_paths_never_routed_and_errors_are_json(stack):
    client = stack.client()
    for path in (
        "/api/users/internal/users",
        "/api/users/%69nternal/credentials/verify",
        "/api/users/%2569nternal/users",
        "/api/auth/../users/internal/users",
        "/internal/users",
        "/api/users/INTERNAL/users",
    ):
        answer = client.post(path, json={"username": "x", "password": "y"})
        assert answer.status_code == 404, path
    unknown = client.get("/no/such/thing")
    assert unknown.status_code == 404 and unknown.json()["status"] == 404
    assert client.put("/api/posts", json={}).status_code == 405
    big = client.post(
        "/api/posts", content=b"x" * (1024 * 1024 + 1), headers={"content-type": "application/json"}
    )
    assert big.status_code == 413
    invalid, _ = new_user(stack)
    bad = invalid.post("/api/posts", json={"title": ""})
    assert bad.status_code == 422 and {f["field"] for f in bad.json()["fields"]} >= {
        "body.body",
        "body.category",
    }
    assert client.get("/", follow_redirects=False).headers["location"] == "/blog/"


def test_the_gateways_own_pages_answer_as_its_routes_do(stack):
    """GET / and GET /health/ready skip FastAPI in the gateway (ProxyFastPath) for
    the endpoints its routes call; other methods there still reach the routes."""
    client = stack.client()
    root = client.get("/", follow_redirects=False)
    assert root.status_code == 302 and root.content == b""
    assert root.headers["location"] == "/blog/" and root.headers["x-request-id"]
    assert client.head("/").status_code == 405
    ready = client.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ok"
    assert ready.json()["checks"]["redis"] == "ok"
    assert client.post("/health/ready").status_code == 405
    metrics = httpx.get(f"http://127.0.0.1:{stack.metrics_ports['gateway']}/metrics").text
    for route, status in (("/", "302"), ("/health/ready", "200")):
        labels = f'method="GET",route="{route}",service="api-gateway",status="{status}"'
        assert f"http_requests_total{{{labels}}}" in metrics


def test_redirects_through_the_gateway_never_name_an_internal_host(stack):
    client = stack.client()
    internal = f"127.0.0.1:{stack.services['blog'].port}"
    slashed = client.get("/blog/posts/1/")
    assert slashed.status_code in (301, 307, 308)
    assert slashed.headers["location"] == "/blog/posts/1"
    for path in ("/blog/login/", "/api/posts/", "/api/posts/1/", "/api/categories/"):
        answer = client.get(path)
        assert internal not in answer.headers.get("location", ""), path


def test_request_id_and_trace_reach_the_upstream(stack):
    client = stack.client()
    trace_id = secrets.token_hex(16)
    answer = client.get(
        "/api/posts",
        headers={
            "X-Request-ID": "e2e-trace-check",
            "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01",
        },
    )
    assert answer.headers["x-request-id"] == "e2e-trace-check"
    deadline = time.monotonic() + 5
    while "e2e-trace-check" not in stack.services["blog"].logs():
        assert time.monotonic() < deadline, "blog-service never logged the request id"
        time.sleep(0.1)
    blog_lines = [
        line for line in stack.services["blog"].logs().splitlines() if "e2e-trace-check" in line
    ]
    assert any(trace_id in line for line in blog_lines)


def test_postgres_restart_mid_test_recovers_without_losing_writes(stack):
    client, _ = new_user(stack)
    acknowledged = []
    for i in range(3):
        answer = client.post(
            "/api/posts", json={"title": f"before {i}", "body": "b", "category": "Durable"}
        )
        assert answer.status_code == 201
        acknowledged.append(answer.json()["id"])
    cached_list = client.get("/api/posts", params={"category": "durable"})
    assert cached_list.status_code == 200

    stack.pg.stop()
    try:
        started = time.monotonic()
        refused = client.post(
            "/api/posts", json={"title": "during", "body": "b", "category": "Durable"}
        )
        assert refused.status_code == 503
        assert time.monotonic() - started < 3, "a write must fail fast while the database is down"
        assert stack.client().get("/health/ready").status_code == 200  # the gateway has no database
        assert httpx.get(stack.services["blog"].url + "/health/ready").status_code == 503
        served = client.get("/api/posts", params={"category": "durable"})
        assert served.status_code == 200, "cached reads are served while the database is down"
    finally:
        stack.pg.start()

    back = time.monotonic()
    while True:
        answer = client.post(
            "/api/posts", json={"title": "after", "body": "b", "category": "Durable"}
        )
        if answer.status_code == 201:
            acknowledged.append(answer.json()["id"])
            break
        assert time.monotonic() - back < 5, f"no recovery within 5 s: {answer.status_code}"
        time.sleep(0.2)
    stored = {
        item["id"]
        for item in client.get("/api/posts", params={"category": "durable", "limit": 100}).json()[
            "items"
        ]
    }
    assert set(acknowledged) <= stored


def test_redis_down_still_serving(stack):
    client, _ = new_user(stack)
    stack.redis.stop()
    try:
        assert client.get("/api/posts").status_code == 200
        created = client.post(
            "/api/posts", json={"title": "no cache", "body": "b", "category": "General"}
        )
        assert created.status_code == 201
        assert client.get(f"/api/posts/{created.json()['id']}").status_code == 200
        assert client.get("/blog/").status_code == 200
        ready = httpx.get(stack.services["blog"].url + "/health/ready")
        assert ready.status_code == 200 and ready.json()["checks"]["redis"] == "degraded"
        # Logins fail closed while the limits cannot be counted; the rest goes on.
        refused = client.post("/api/auth/login", json={"username": "x", "password": "y"})
        assert refused.status_code == 503 and int(refused.headers["retry-after"]) > 0
    finally:
        stack.redis.start()
    # Every service finds Redis again by itself; until each does, later tests
    # would run with rate limits and caches open.
    deadline = time.monotonic() + 5
    for name in sorted(stack.services):
        while httpx.get(stack.services[name].url + "/health/ready").json()["checks"].get(
            "redis"
        ) not in (None, "ok"):
            assert time.monotonic() < deadline, f"{name} did not find Redis again"
            time.sleep(0.2)
    # After Redis returns, what was written while it was down is visible (no stale cache).
    deadline = time.monotonic() + 5
    while created.json()["id"] not in [
        p["id"] for p in client.get("/api/posts", params={"limit": 100}).json()["items"]
    ]:
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_writes_are_limited_per_user_across_addresses(stack):
    client, _ = new_user(stack)
    token = client.headers["Authorization"]
    codes = []
    for i in range(21):  # GATEWAY_WRITES_PER_USER=20 in this stack; a new address each time
        moving = stack.client(address=f"203.0.113.{i + 1}")
        moving.headers["Authorization"] = token
        codes.append(
            moving.post(
                "/api/posts", json={"title": f"w{i}", "body": "b", "category": "General"}
            ).status_code
        )
    assert codes[:20] == [201] * 20 and codes[20] == 429
    other, _ = new_user(stack)
    assert (
        other.post(
            "/api/posts", json={"title": "other", "body": "b", "category": "General"}
        ).status_code
        == 201
    )
