"""Names, titles and search in any script: Hangul, mixed scripts, emoji, and
names that differ only in case or Unicode normalisation. Against the service
as a process on real PostgreSQL and Redis."""

import re
import unicodedata
import uuid
from urllib.parse import quote

import httpx
from blog_service.categories_util import category_colour, slugify

from .conftest import Signer

HEADERS_USER = (4242, "글쓴이")


def _headers(signer: Signer) -> dict[str, str]:
    return signer.headers(*HEADERS_USER)


def _create(api: httpx.Client, signer: Signer, **fields: str) -> dict:
    payload = {"title": "제목", "body": "본문", "category": "General"} | fields
    response = api.post("/posts", json=payload, headers=_headers(signer))
    assert response.status_code == 201, response.text
    return response.json()


def _tag() -> str:
    # Hangul syllables only, so a name made with it stays all Hangul.
    return "".join(chr(0xAC00 + b) for b in uuid.uuid4().bytes[:4])


def test_a_hangul_category_is_created_listed_and_filtered(
    api: httpx.Client, signer: Signer
) -> None:
    name = f"기술 스택 {_tag()}"
    post = _create(api, signer, category=name, title="한국어 제목")
    category = post["category"]
    assert category["name"] == name
    assert category["slug"] == name.replace(" ", "-")
    assert category["colour"] == category_colour(category["slug"])
    assert post["title"] == "한국어 제목" and post["author"]["username"] == "글쓴이"

    listed = api.get("/posts", params={"category": category["slug"]}).json()
    assert [item["id"] for item in listed["items"]] == [post["id"]]
    # httpx percent-encodes the parameter; the raw URL says it here for certain.
    raw = api.get(f"/posts?category={quote(category['slug'])}").json()
    assert raw["total"] == 1
    counted = {c["slug"]: c for c in api.get("/categories").json()}[category["slug"]]
    assert counted["name"] == name and counted["post_count"] == 1


def test_case_and_normalisation_twins_are_one_category(api: httpx.Client, signer: Signer) -> None:
    tag = _tag()
    composed = unicodedata.normalize("NFC", f"한국어 {tag}")
    first = _create(api, signer, category=composed)
    # Typed on macOS (jamo), with other spacing and a zero-width space.
    twin = _create(
        api, signer, category="  " + unicodedata.normalize("NFD", f"한국어  {tag}") + "\u200b"
    )
    assert twin["category"] == first["category"]

    latin = f"Rust {uuid.uuid4().hex[:6]}"
    assert (
        _create(api, signer, category=latin.upper())["category"]["slug"]
        == _create(api, signer, category=latin)["category"]["slug"]
        == slugify(latin)
    )
    # The first spelling names the category; the others find it.
    assert _create(api, signer, category=latin.lower())["category"]["name"] == latin.upper()


def test_mixed_scripts_and_emoji_get_slugs_and_never_collide(
    api: httpx.Client, signer: Signer
) -> None:
    tag = uuid.uuid4().hex[:6]
    names = [
        f"Rust와 Go {tag}",
        f"Rust와Go {tag}",
        f"🚀 {tag}",
        f"🎉 {tag}",
        f"C++ {tag}",
        f"C {tag}",
    ]
    slugs = [_create(api, signer, category=name)["category"]["slug"] for name in names]
    assert len(set(slugs)) == len(names)
    assert slugs[0] == f"rust와-go-{tag}"
    for name, slug in zip(names, slugs, strict=True):
        assert slug == slugify(name)
        found = api.get("/posts", params={"category": slug}).json()
        assert found["total"] == 1 and found["items"][0]["category"]["name"] == name
    rocket = api.get("/posts", params={"category": slugs[2]}).json()["items"][0]
    assert rocket["category"]["name"] == f"🚀 {tag}"
    assert re.fullmatch(rf"{tag}--[0-9a-f]{{12}}", slugs[2])


def test_a_link_cased_or_decomposed_otherwise_finds_the_category(
    api: httpx.Client, signer: Signer
) -> None:
    name = f"한글 Links {_tag()}"
    slug = _create(api, signer, category=name)["category"]["slug"]
    for variant in (slug.upper(), unicodedata.normalize("NFD", slug)):
        assert variant != slug
        assert api.get("/posts", params={"category": variant}).json()["total"] == 1
        page = api.get("/blog/", params={"category": variant}).text
        assert page.count('class="post-card') == 1


def test_search_finds_hangul_whatever_its_normalisation(api: httpx.Client, signer: Signer) -> None:
    tag = _tag()
    # Written decomposed (jamo), searched composed, and the other way round.
    titled = _create(api, signer, title=unicodedata.normalize("NFD", f"서울의 {tag} 봄"))
    bodied = _create(api, signer, body=f"오늘은 **{tag}** 날씨가 맑음 🌤")
    assert titled["title"] == unicodedata.normalize("NFC", titled["title"])

    def found(q: str) -> set[int]:
        return {
            item["id"] for item in api.get("/posts", params={"q": q, "limit": 100}).json()["items"]
        }

    assert found(tag) == {titled["id"], bodied["id"]}
    assert found(unicodedata.normalize("NFD", tag)) == {titled["id"], bodied["id"]}
    # One syllable, two, inside a word: substrings, not words.
    assert titled["id"] in found(f"의 {tag[:1]}")
    assert found(f"{tag[2:]}** 날씨") == {bodied["id"]}
    assert bodied["id"] in found("🌤")
    # Titled posts' titles and the excerpt come back as written, composed.
    listed = api.get("/posts", params={"q": tag}).json()["items"]
    assert {item["title"] for item in listed} >= {f"서울의 {tag} 봄"}
    assert any(f"오늘은 {tag} 날씨가 맑음" in item["excerpt"] for item in listed)


def test_the_ui_shows_names_in_any_script_with_their_colours(
    api: httpx.Client, signer: Signer
) -> None:
    name = f"기술 스택 🚀 {_tag()}"
    post = _create(api, signer, category=name, title="UI의 제목")
    slug = post["category"]["slug"]
    page = api.get("/blog/")
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    html = page.text
    tab = re.search(
        rf'<a class="tab cat-{re.escape(slug)}[^"]*"\s+href="([^"]+)"[^>]*>\s*(.*?)</a>', html, re.S
    )
    assert tab is not None
    assert tab.group(1) == f"/blog/?category={quote(slug)}"
    assert re.sub(r"<[^>]+>|\s+", " ", tab.group(2)).split() == [*name.split(), "1"]
    assert "UI의 제목" in html
    styles = api.get("/blog/categories.css")
    assert styles.headers["content-type"] == "text/css; charset=utf-8"
    assert f".cat-{slug}{{--cat:{category_colour(slug)}}}" in styles.text
    assert api.get(f"/blog/posts/{post['id']}").text.count(name) >= 1
    edit = api.get(f"/blog/posts/{post['id']}/edit").text
    assert f'value="{name}"' in edit and 'value="UI의 제목"' in edit
