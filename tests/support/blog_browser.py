"""The blog's browser test, wherever the blog is served: Debian's Chromium,
driven by Playwright, registers, logs out, logs in, writes a post in a new
category named in Hangul with an emoji, edits it, finds it in the list under a
tab of that category's colour, follows the tab's percent-encoded link and
searches for a Hangul substring; then saves a screenshot (Hangul shows as boxes
where no CJK font is installed).

Run against the services as processes (services/blog-service/tests/test_browser.py)
and against the real pods through the real node's NodePort
(tests/integration/test_rehearsal_node.py).

    with chromium_page(tmp_path) as page:
        register_login_write_and_find_the_post(page, gateway_url, screenshot)
"""

import contextlib
import re
import unicodedata
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from blog_service.categories_util import category_colour, slugify

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@contextlib.contextmanager
def chromium_page(work: Path) -> Iterator[Any]:
    """A page of a headless Chromium with a fresh profile under `work`; skips the
    test where Debian's chromium is not installed."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed: apt-get install chromium (make setup)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(work / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1100, "height": 860},
        )
        try:
            yield context.new_page()
        finally:
            context.close()


def _rgb(hex_colour: str) -> str:
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


def register_login_write_and_find_the_post(page: Any, gateway_url: str, screenshot: Path) -> None:
    """The whole scenario through the gateway at `gateway_url`; asserts as it goes."""
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    suffix = uuid.uuid4().hex[:8]
    username, password = f"reader{suffix}", f"correct horse {suffix}"
    # Hangul only besides the emoji (no ASCII the old ASCII-only slugs could keep).
    category = "기술 스택 🚀 " + "".join(chr(0xAC00 + b) for b in bytes.fromhex(suffix))
    title = f"크로미움에서 쓴 글 <b>{suffix}</b>"

    # Register (the UI logs in right after), then log out.
    page.goto(f"{gateway_url}/")  # the gateway sends / to /blog/
    assert page.url == f"{gateway_url}/blog/"
    page.get_by_role("link", name="Register").click()
    page.get_by_label("Username").fill(username)
    page.get_by_label("E-mail").fill(f"{username}@example.org")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Register").click()
    page.wait_for_url(f"{gateway_url}/blog/")
    assert page.locator("#session-name").inner_text() == username
    page.get_by_role("button", name="Log out").click()
    assert page.get_by_role("link", name="Log in").is_visible()

    # Log in.
    page.get_by_role("link", name="Log in").click()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{gateway_url}/blog/")
    assert page.locator("#session-name").inner_text() == username

    # Write a post in a category that does not exist yet, with a script in it.
    page.get_by_role("link", name="Write a post").click()
    page.get_by_label("Title").fill(title)
    page.get_by_label("Category").fill(category)
    page.get_by_label("Body").fill(
        "Hello from **Chromium**.\n\n<script>alert('xss')</script>\n\n"
        "<img src=x onerror=\"alert('xss')\">"
    )
    page.get_by_role("button", name="Publish").click()
    page.wait_for_url(re.compile(rf"{re.escape(gateway_url)}/blog/posts/\d+$"))
    assert page.locator("article h1").inner_text() == title  # shown as text, not markup
    assert page.locator(".post-body strong").inner_text() == "Chromium"
    assert "<script>alert('xss')</script>" in page.locator(".post-body").inner_text()
    assert page.locator(".post-body script, .post-body img").count() == 0
    assert page.locator(".author-actions").is_visible()  # it is the author's own post

    # Edit it: the form comes back filled in, the change shows at once.
    post_url = page.url
    page.get_by_role("link", name="Edit").click()
    assert page.get_by_label("Title").input_value() == title
    assert page.get_by_label("Category").input_value() == category
    title = f"{title} (edited)"
    page.get_by_label("Title").fill(title)
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(post_url)
    assert page.locator("article h1").inner_text() == title

    # The same category typed as jamo (as macOS keeps Hangul) and upper-cased
    # is the same one, and keeps the name it was first written with.
    page.get_by_role("link", name="Write a post").click()
    page.get_by_label("Title").fill(f"둘째 글 {suffix}")
    page.get_by_label("Category").fill(unicodedata.normalize("NFD", category.upper()))
    page.get_by_label("Body").fill("같은 분류")
    page.get_by_role("button", name="Publish").click()
    page.wait_for_url(re.compile(rf"{re.escape(gateway_url)}/blog/posts/\d+$"))
    assert page.locator("article .badge").inner_text() == category

    # The list: a tab for the new category, in its colour, counting the post.
    page.goto(f"{gateway_url}/blog/")
    slug = slugify(category)
    assert slug.startswith("기술-스택-")
    tab = page.locator(f"nav.tabs a.cat-{slug}")
    assert tab.count() == 1
    assert re.sub(r"\s+", " ", tab.inner_text()).strip() == f"{category} 2"
    colour = category_colour(slug)
    assert tab.evaluate("el => getComputedStyle(el).backgroundColor") == _rgb(colour)
    card = page.locator("li.post-card").nth(1)
    assert card.locator("h2").inner_text() == title
    assert card.locator(".badge").evaluate("el => getComputedStyle(el).backgroundColor") == _rgb(
        colour
    )

    # Its tab filters the list down to it, through a percent-encoded link.
    tab.click()
    page.wait_for_url(f"{gateway_url}/blog/?category={quote(slug)}")
    assert page.locator("li.post-card").count() == 2

    # Search (the box keeps the category) finds a Hangul substring of a title.
    page.get_by_label("Search posts").fill("미움에서")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r".*[?&]q=%EB%AF%B8%EC%9B%80%EC%97%90%EC%84%9C"))
    assert [h.inner_text() for h in page.locator("li.post-card h2").all()] == [title]

    page.goto(f"{gateway_url}/blog/")
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshot), full_page=True)

    assert dialogs == [], "a script from user content ran"
    assert errors == [], errors
