"""The server-rendered UI: escaping, colours, pagination, headers, error pages."""

import re
import uuid

import httpx
import redis
from blog_service.categories_util import category_colour, slugify

from tests.support.servers import RedisServer

from .conftest import Signer


def _write(api: httpx.Client, signer: Signer, **fields: str) -> dict:
    payload = {"title": "t", "body": "b", "category": "General"} | fields
    response = api.post("/posts", json=payload, headers=signer.headers(77, "ui-writer"))
    assert response.status_code == 201, response.text
    return response.json()


def test_user_content_is_escaped_everywhere(api: httpx.Client, signer: Signer) -> None:
    evil = '<script>alert("t")</script><img src=x onerror=alert(1)>'
    post = _write(
        api, signer, title=f"T {evil}", body=f"B {evil}", category=f"Cat {uuid.uuid4().hex[:6]}"
    )
    for path in ("/blog/", f"/blog/posts/{post['id']}", f"/blog/posts/{post['id']}/edit"):
        page = api.get(path)
        assert page.status_code == 200
        assert "<script>alert" not in page.text, path
        assert "<img src=x" not in page.text, path
        assert "&lt;script&gt;alert(" in page.text, path


def test_pages_forbid_inline_and_foreign_scripts(api: httpx.Client) -> None:
    page = api.get("/blog/")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    # Every asset is our own: nothing is loaded from another origin (no CDN).
    assert not re.search(r'(src|href)="(https?:)?//', page.text)
    assert re.findall(r"<script(?![^>]*\ssrc=)", page.text) == []  # no inline script
    for asset in ("/blog/static/blog.js", "/blog/static/blog.css", "/blog/categories.css"):
        assert api.get(asset).status_code == 200, asset


def test_tabs_are_coloured_per_category_with_counts(api: httpx.Client, signer: Signer) -> None:
    name = f"Tabbed {uuid.uuid4().hex[:6]}"
    slug = slugify(name)
    _write(api, signer, category=name)
    _write(api, signer, category=name)
    page = api.get("/blog/").text
    tab = re.search(rf'<a class="tab cat-{slug}[^"]*"[^>]*>\s*(.*?)</a>', page, re.S)
    assert tab is not None
    assert re.sub(r"<[^>]+>|\s+", " ", tab.group(1)).split() == [*name.split(), "2"]
    styles = api.get("/blog/categories.css").text
    assert f".cat-{slug}{{--cat:{category_colour(slug)}}}" in styles


def test_pagination_and_category_filter(api: httpx.Client, signer: Signer) -> None:
    name = f"Paged {uuid.uuid4().hex[:6]}"
    slug = slugify(name)
    titles = [f"Paged post {i} {uuid.uuid4().hex[:4]}" for i in range(12)]
    for title in titles:
        _write(api, signer, category=name, title=title)
    first = api.get("/blog/", params={"category": slug}).text
    second = api.get("/blog/", params={"category": slug, "page": 2}).text
    # Ten per page, newest first; page 2 holds the two oldest.
    assert all(t in first for t in titles[2:]) and not any(t in first for t in titles[:2])
    assert all(t in second for t in titles[:2])
    assert "Page 1 of 2" in first and f"?page=2&amp;category={slug}" in first
    assert "Page 2 of 2" in second and 'rel="next"' not in second


def test_unknown_post_and_bad_pages(api: httpx.Client) -> None:
    missing = api.get("/blog/posts/2147483647")
    assert missing.status_code == 404 and "Post not found" in missing.text
    assert api.get("/blog/?page=0").status_code == 422
    redirect = api.get("/blog")
    assert redirect.status_code == 308 and redirect.headers["Location"] == "/blog/"
    # Past the offset cap: an error page that says why, not a scan of the table.
    too_far = api.get("/blog/", params={"page": 5000})
    assert too_far.status_code == 422 and "too far" in too_far.text


def test_redirects_never_name_the_host_the_request_came_in_on(
    api: httpx.Client, signer: Signer
) -> None:
    post = _write(api, signer)
    # What the gateway sends: its own upstream address as Host.
    internal = {"Host": "blog-service.blog.svc.cluster.local:8005"}
    slashed = api.get(f"/blog/posts/{post['id']}/", headers=internal)
    assert slashed.status_code in (301, 307, 308)
    assert slashed.headers["Location"] == f"/blog/posts/{post['id']}"
    for path in ("/posts/", "/categories/", f"/posts/{post['id']}/"):
        response = api.get(path, headers=internal)
        assert "cluster.local" not in response.headers.get("Location", ""), path


def test_forms_and_auth_pages_render(api: httpx.Client) -> None:
    for path, marker in [
        ("/blog/write", 'data-form="post"'),
        ("/blog/login", 'data-form="login"'),
        ("/blog/register", 'data-form="register"'),
    ]:
        page = api.get(path)
        assert page.status_code == 200 and marker in page.text, path


def test_search_box_finds_posts_and_keeps_the_text_escaped(
    api: httpx.Client, signer: Signer
) -> None:
    marker = uuid.uuid4().hex
    _write(api, signer, title=f"Needle {marker}")
    _write(api, signer, title="Haystack")
    query = f'{marker}"><script>'
    page = api.get("/blog/", params={"q": marker}).text
    assert f"Needle {marker}" in page and "Haystack" not in page
    echoed = api.get("/blog/", params={"q": query}).text
    assert "<script>" not in echoed.split('role="search"', 1)[1].split("</form>", 1)[0]
    assert api.get("/blog/", params={"q": "a\x00"}).status_code == 422


def test_cached_pages_are_the_rendered_ones_and_a_write_shows_at_once(
    api: httpx.Client, signer: Signer, redis_service: RedisServer
) -> None:
    store = redis.Redis.from_url(redis_service.url)

    def index_entries() -> int:
        return sum(1 for _ in store.scan_iter(b"blog-service:cache:index:*"))

    _write(api, signer, title=f"Before {uuid.uuid4().hex[:8]}")  # retires what was cached
    rendered, cached = api.get("/blog/"), api.get("/blog/")
    # Without a query string /blog/ skips FastAPI (app.FrontPageFastPath); spelled
    # out, the same page goes through the router.
    routed = api.get("/blog/", params={"page": 1})
    assert rendered.status_code == cached.status_code == routed.status_code == 200
    assert cached.content == rendered.content == routed.content
    per_request = ("date", "x-request-id")
    for other in (cached, routed):
        assert [h for h in other.headers.items() if h[0] not in per_request] == [
            h for h in rendered.headers.items() if h[0] not in per_request
        ]
    assert index_entries() >= 1

    fresh = _write(api, signer, title=f"Fresh {uuid.uuid4().hex[:8]}")
    assert fresh["title"] in api.get("/blog/").text

    # Searches and made-up categories are rendered every time, never stored.
    before = index_entries()
    for _ in range(5):
        assert api.get("/blog/", params={"q": uuid.uuid4().hex}).status_code == 200
        assert api.get("/blog/", params={"category": f"none-{uuid.uuid4().hex}"}).status_code == 200
    assert index_entries() == before
    store.close()
