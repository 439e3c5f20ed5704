"""The JSON API, against blog-service running as a process on real PostgreSQL and Redis."""

import itertools
import uuid

import httpx
import pytest
import redis

from tests.support.servers import PostgresServer, RedisServer

from .conftest import Signer

_users = itertools.count(1000)


def new_user(signer: Signer) -> tuple[int, str, dict[str, str]]:
    user_id = next(_users)
    name = f"writer{user_id}"
    return user_id, name, signer.headers(user_id, name)


def unique(word: str) -> str:
    return f"{word} {uuid.uuid4().hex[:8]}"


def create(api: httpx.Client, headers: dict[str, str], **fields: str) -> dict:
    payload = {"title": unique("Post"), "body": "Hello *world*", "category": "General"} | fields
    response = api.post("/posts", json=payload, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def categories(api: httpx.Client) -> dict[str, dict]:
    response = api.get("/categories")
    assert response.status_code == 200
    return {c["slug"]: c for c in response.json()}


def test_seed_categories_are_there_with_colours(api: httpx.Client) -> None:
    seeded = categories(api)
    assert {"general", "technology", "tutorials", "travel", "food"} <= set(seeded)
    assert all(c["colour"].startswith("#") and len(c["colour"]) == 7 for c in seeded.values())


def test_write_read_edit_delete(api: httpx.Client, signer: Signer) -> None:
    author_id, author, headers = new_user(signer)
    category = unique("Brand New")
    post = create(api, headers, body="# Hi\n\n<script>alert(1)</script>", category=category)
    assert post["author"] == {"id": author_id, "username": author}
    assert post["category"]["name"] == category
    assert "<script>" not in post["html"] and "&lt;script&gt;" in post["html"]
    slug = post["category"]["slug"]
    assert categories(api)[slug]["post_count"] == 1

    fetched = api.get(f"/posts/{post['id']}")
    assert fetched.status_code == 200 and fetched.json()["title"] == post["title"]

    edited = api.patch(
        f"/posts/{post['id']}", json={"title": "Edited", "category": "Travel"}, headers=headers
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["title"] == "Edited" and edited.json()["category"]["slug"] == "travel"
    # The cache was invalidated: every read sees the edit at once.
    assert api.get(f"/posts/{post['id']}").json()["title"] == "Edited"
    assert categories(api)[slug]["post_count"] == 0

    assert api.delete(f"/posts/{post['id']}", headers=headers).status_code == 204
    assert api.get(f"/posts/{post['id']}").status_code == 404
    # The category the post left behind, empty now, is still there.
    assert slug in categories(api)
    assert "general" in categories(api)


def test_deleting_the_last_post_of_a_category_keeps_it(api: httpx.Client, signer: Signer) -> None:
    _, _, headers = new_user(signer)
    post = create(api, headers, category=unique("Lonely"))
    slug = post["category"]["slug"]
    assert api.delete(f"/posts/{post['id']}", headers=headers).status_code == 204
    assert categories(api)[slug]["post_count"] == 0


def test_a_category_is_found_by_slug_not_exact_name(api: httpx.Client, signer: Signer) -> None:
    _, _, headers = new_user(signer)
    post = create(api, headers, category="  technology ")
    assert post["category"]["name"] == "Technology"
    assert post["category"]["slug"] == "technology"


def test_only_the_author_may_change_a_post(api: httpx.Client, signer: Signer) -> None:
    _, _, author = new_user(signer)
    _, _, other = new_user(signer)
    post = create(api, author)
    assert api.patch(f"/posts/{post['id']}", json={"title": "x"}, headers=other).status_code == 403
    assert api.delete(f"/posts/{post['id']}", headers=other).status_code == 403
    assert api.get(f"/posts/{post['id']}").json()["title"] == post["title"]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-a-token", "Basic dXNlcjpwYXNz"],
)
def test_writes_need_a_valid_token(api: httpx.Client, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = api.post(
        "/posts", json={"title": "t", "body": "b", "category": "c"}, headers=headers
    )
    assert response.status_code == 401


def test_expired_and_forged_tokens_are_refused(api: httpx.Client, signer: Signer) -> None:
    payload = {"title": "t", "body": "b", "category": "c"}
    expired = signer.token(1, "someone", expires_in=-60)
    assert (
        api.post("/posts", json=payload, headers={"Authorization": f"Bearer {expired}"}).status_code
        == 401
    )
    token = signer.token(1, "someone")
    header, claims, signature = token.split(".")
    forged = f"{header}.{claims}.{signature[:-4]}AAAA"
    assert (
        api.post("/posts", json=payload, headers={"Authorization": f"Bearer {forged}"}).status_code
        == 401
    )


def test_pagination_filter_and_search(api: httpx.Client, signer: Signer) -> None:
    _, _, headers = new_user(signer)
    category = unique("Paging")
    marker = uuid.uuid4().hex
    ids = [create(api, headers, category=category, title=f"{marker} {i}")["id"] for i in range(7)]
    slug = next(c["slug"] for c in categories(api).values() if c["name"] == category)

    seen: list[int] = []
    for offset in (0, 3, 6):
        page = api.get("/posts", params={"category": slug, "limit": 3, "offset": offset}).json()
        assert page["total"] == 7 and page["limit"] == 3 and page["offset"] == offset
        seen += [item["id"] for item in page["items"]]
    assert seen == sorted(ids, reverse=True)  # newest first, nothing twice, nothing lost

    # Offsets that the original's offset//limit key confused are different pages.
    a = api.get("/posts", params={"category": slug, "limit": 3, "offset": 3}).json()["items"]
    b = api.get("/posts", params={"category": slug, "limit": 3, "offset": 4}).json()["items"]
    assert [p["id"] for p in a] != [p["id"] for p in b]

    found = api.get("/posts", params={"q": marker.upper()}).json()
    assert found["total"] == 7
    assert api.get("/posts", params={"q": "%"}).status_code == 200
    assert api.get("/posts", params={"q": f"{marker}_"}).json()["total"] == 0


def test_a_new_post_shows_up_in_cached_lists_at_once(api: httpx.Client, signer: Signer) -> None:
    _, _, headers = new_user(signer)
    before = api.get("/posts").json()
    api.get("/posts")  # the default first page: now certainly cached
    post = create(api, headers)
    after = api.get("/posts").json()
    assert after["total"] == before["total"] + 1
    assert after["items"][0]["id"] == post["id"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": "", "body": "b", "category": "c"}, "body.title"),
        # Punctuation alone is a name ("!!!" has a slug); nothing visible is not.
        ({"title": "t", "body": "b", "category": "\u200b\ufe0f"}, "body.category"),
        ({"title": "t", "body": "b"}, "body.category"),
        ({"title": "t\u0000", "body": "b", "category": "c"}, "body.title"),
        ({"title": "t" * 201, "body": "b", "category": "c"}, "body.title"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    api: httpx.Client, signer: Signer, payload: dict, field: str
) -> None:
    _, _, headers = new_user(signer)
    response = api.post("/posts", json=payload, headers=headers)
    assert response.status_code == 422
    assert field in [f["field"] for f in response.json()["fields"]]


def test_unstorable_search_text_is_a_422_naming_the_field(api: httpx.Client) -> None:
    response = api.get("/posts", params={"q": "a\x00b"})
    assert response.status_code == 422
    assert [f["field"] for f in response.json()["fields"]] == ["query.q"]


def test_http_errors_are_json(api: httpx.Client) -> None:
    assert api.get("/posts/999999").status_code == 404
    assert api.get("/posts/2147483648").status_code == 422
    unknown = api.get("/nope")
    assert unknown.status_code == 404 and unknown.json()["status"] == 404
    assert api.put("/posts/1", json={}).status_code == 405
    big = api.post(
        "/posts", content=b"x" * (1024 * 1024 + 1), headers={"Content-Type": "application/json"}
    )
    assert big.status_code == 413


def test_identity_columns_are_consistent_after_seeding(
    postgres: PostgresServer, api: httpx.Client, signer: Signer
) -> None:
    _, _, headers = new_user(signer)
    create(api, headers, category=unique("After Seed"))
    seeded_max = int(postgres.psql("SELECT max(id) FROM blog.categories WHERE slug = 'food'"))
    newest = int(postgres.psql("SELECT max(id) FROM blog.categories"))
    assert newest > seeded_max


def test_health_and_metrics(blog_service, api: httpx.Client) -> None:
    assert api.get("/health/live").status_code == 200
    ready = api.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
    assert api.get("/metrics").status_code == 404  # never on the public port
    # Made here, not left to the tests before: which of them ran in this process
    # (and whether another process's writes retired the cache in between) depends
    # on how the run was split between workers.
    assert api.get("/posts/999999").status_code == 404
    for _ in range(5):
        api.get("/posts")
    metrics = httpx.get(f"{blog_service.metrics_url}/metrics").text
    assert (
        'http_requests_total{method="GET",route="/posts/{post_id}",service="blog-service",status="404"}'
        in metrics
    )
    assert 'cache_requests_total{cache="posts",result="hit",service="blog-service"}' in metrics


def _without_per_request_headers(response: httpx.Response) -> list[tuple[str, str]]:
    return [(k, v) for k, v in response.headers.items() if k not in ("date", "x-request-id")]


def test_the_front_page_fast_path_answers_as_the_router_does(
    blog_service, api: httpx.Client, signer: Signer
) -> None:
    """GET /posts without a query string skips FastAPI (app.FrontPageFastPath); the
    same page asked with its defaults spelled out goes through the router."""
    _, _, headers = new_user(signer)
    newest = create(api, headers)
    fast = api.get("/posts", headers={"X-Request-ID": "front-page-1"})  # a miss, then cached
    again = api.get("/posts")  # a hit
    routed = api.get("/posts", params={"limit": 10, "offset": 0})
    assert fast.status_code == again.status_code == routed.status_code == 200
    assert fast.json()["items"][0]["id"] == newest["id"]
    assert fast.content == again.content == routed.content
    assert _without_per_request_headers(fast) == _without_per_request_headers(routed)
    assert fast.headers["x-request-id"] == "front-page-1"
    assert len(again.headers["x-request-id"]) == 32
    # Only GET takes the fast path; the router still answers everything else.
    assert api.head("/posts").status_code == 405
    assert api.post("/posts", json={}).status_code == 401
    metrics = httpx.get(f"{blog_service.metrics_url}/metrics").text
    assert (
        'http_requests_total{method="GET",route="/posts",service="blog-service",status="200"}'
        in metrics
    )


SUMMARY_FIELDS = {"id", "title", "category", "author", "created_at", "updated_at", "excerpt"}


def test_lists_carry_summaries_with_a_plain_text_excerpt(api: httpx.Client, signer: Signer) -> None:
    _, _, headers = new_user(signer)
    body = (
        "# Heading\n\nSome *emphasis*, a [link](https://example.org/x) and `code`.\n\n"
        + "word " * 400
    )
    post = create(api, headers, body=body, category=unique("Summaries"))
    listed = api.get("/posts", params={"category": post["category"]["slug"]}).json()
    [item] = listed["items"]
    assert set(item) == SUMMARY_FIELDS
    assert item["excerpt"].startswith("Heading Some emphasis, a link and code. word word")
    assert len(item["excerpt"]) <= 200 and item["excerpt"].endswith("…")
    assert not any(mark in item["excerpt"] for mark in ("*", "#", "](", "`", "<"))
    # The whole post is still one request away.
    full = api.get(f"/posts/{post['id']}").json()
    assert full["body"] == body and "<em>emphasis</em>" in full["html"]


def test_a_page_is_capped_in_bytes_and_says_where_to_continue(
    api: httpx.Client, signer: Signer
) -> None:
    _, _, headers = new_user(signer)
    category = unique("Heavy")
    # Three-byte characters: 100 summaries of long titles and excerpts make
    # well over the default 64 KiB a page may take.
    ids = [
        create(api, headers, category=category, title=f"{i} " + "€" * 190, body="€" * 400)["id"]
        for i in range(100)
    ]
    slug = api.get(f"/posts/{ids[0]}").json()["category"]["slug"]
    first = api.get("/posts", params={"category": slug, "limit": 100})
    assert first.status_code == 200
    assert len(first.content) <= 65536
    page = first.json()
    assert 0 < len(page["items"]) < 100 and page["total"] == 100
    assert page["next_offset"] == len(page["items"])

    seen = [item["id"] for item in page["items"]]
    while page["next_offset"] is not None:
        response = api.get(
            "/posts", params={"category": slug, "limit": 100, "offset": page["next_offset"]}
        )
        assert len(response.content) <= 65536
        page = response.json()
        seen += [item["id"] for item in page["items"]]
    assert seen == sorted(ids, reverse=True)  # nothing skipped, nothing twice


def test_distinct_queries_do_not_each_leave_a_cache_entry(
    api: httpx.Client, redis_service: RedisServer
) -> None:
    client = redis.Redis.from_url(redis_service.url)

    def entries() -> int:
        keys = client.scan_iter(b"blog-service:cache:*")
        return sum(1 for key in keys if not key.endswith(b"generation"))

    api.get("/posts")  # the default first page: cached, and counted from here on
    before = entries()
    for n in range(10):
        assert api.get("/posts", params={"q": f"nothing {uuid.uuid4().hex}"}).status_code == 200
        assert api.get("/posts", params={"offset": 1000 + n}).status_code == 200
        assert api.get("/posts", params={"limit": 37, "offset": n}).status_code == 200
        assert api.get("/posts", params={"category": f"none-{uuid.uuid4().hex}"}).status_code == 200
    assert entries() <= before
    client.close()


def test_offsets_beyond_the_cap_are_a_422_saying_so(api: httpx.Client) -> None:
    assert api.get("/posts", params={"offset": 10_000}).status_code == 200
    response = api.get("/posts", params={"offset": 10_001})
    assert response.status_code == 422
    [field] = response.json()["fields"]
    assert field["field"] == "query.offset" and "10000" in field["message"]
