"""The call graph, with each service a real process on 127.0.0.1: productpage
shows details and reviews; reviews v2 and v3 reach ratings (black and red
stars), v1 does not; a callee that is down leaves its part of the page, not the
page; every service counts its requests on its own metrics port."""

import contextlib
import re

import httpx
import pytest

from tests.support.bookinfo import bookinfo_graph, start
from tests.support.servers import free_port


@pytest.fixture(scope="module")
def graph():
    """details, ratings, the three reviews, and productpage calling reviews v2."""
    with bookinfo_graph("v2") as running:
        yield {**running, "page": running["productpage"]}


def _requests(metrics_url: str, route: str) -> float:
    text = httpx.get(metrics_url, timeout=5).text
    labels = rf'[^}}]*route="{re.escape(route)}"[^}}]*status="200"[^}}]*'
    pattern = rf"^http_requests_total\{{{labels}\}} (\S+)$"
    return sum(float(value) for value in re.findall(pattern, text, re.MULTILINE))


def test_productpage_shows_details_and_reviews_with_black_stars(graph):
    page = httpx.get(graph["page"].url + "/productpage", timeout=10)
    assert page.status_code == 200
    assert "<h1>Notes from a Quiet Cluster</h1>" in page.text
    assert "R. Okafor" in page.text
    assert "data-version='v2'" in page.text
    assert page.text.count("<blockquote>") == 2
    assert "style='color: black'>&#9733;&#9733;&#9733;&#9733;&#9733;</p>" in page.text


@pytest.mark.parametrize(("version", "colour"), [("v1", None), ("v2", "black"), ("v3", "red")])
def test_reviews_reach_ratings_only_from_v2_and_v3(graph, version, colour):
    ratings_before = _requests(graph["ratings"].metrics_url, "/ratings/{book_id}")
    reviews = httpx.get(graph["reviews"][version].url + "/reviews/0", timeout=10).json()
    ratings_after = _requests(graph["ratings"].metrics_url, "/ratings/{book_id}")

    assert reviews["version"] == version
    shown = [review.get("rating") for review in reviews["reviews"]]
    if colour is None:
        assert shown == [None, None]
        assert ratings_after == ratings_before
    else:
        assert shown == [{"stars": 5, "color": colour}, {"stars": 3, "color": colour}]
        assert ratings_after == ratings_before + 1


def test_each_call_is_counted_and_carries_the_request(graph):
    """One request through productpage is one request at details, reviews and
    ratings, each counted on its own metrics port; the request id and the
    end-user header (what a mesh routes one user by) reach the callee."""
    before = {
        "details": _requests(graph["details"].metrics_url, "/details/{book_id}"),
        "reviews": _requests(graph["reviews"]["v2"].metrics_url, "/reviews/{book_id}"),
        "ratings": _requests(graph["ratings"].metrics_url, "/ratings/{book_id}"),
    }
    product = httpx.get(
        graph["page"].url + "/api/v1/products/0",
        headers={"end-user": "jason", "x-request-id": "bookinfo-test-0001"},
        timeout=10,
    ).json()
    assert product["details"]["author"] == "R. Okafor"
    assert product["reviews"]["version"] == "v2"
    assert _requests(graph["page"].metrics_url, "/api/v1/products/{book_id}") >= 1
    assert _requests(graph["details"].metrics_url, "/details/{book_id}") == before["details"] + 1
    assert (
        _requests(graph["reviews"]["v2"].metrics_url, "/reviews/{book_id}") == before["reviews"] + 1
    )
    assert _requests(graph["ratings"].metrics_url, "/ratings/{book_id}") == before["ratings"] + 1
    assert '"request_id": "bookinfo-test-0001"' in graph["reviews"]["v2"].logs()
    assert '"request_id": "bookinfo-test-0001"' in graph["ratings"].logs()


def test_a_callee_down_leaves_the_rest_of_the_page(graph):
    nowhere = f"http://127.0.0.1:{free_port()}"
    with contextlib.ExitStack() as stack:
        page = start(stack, "productpage", details_url=graph["details"].url, reviews_url=nowhere)
        product = httpx.get(page.url + "/api/v1/products/0", timeout=10).json()
        assert product["details"]["title"] == "Notes from a Quiet Cluster"
        assert product["reviews"] == {"error": "reviews are unavailable"}
        assert "reviews are unavailable" in httpx.get(page.url + "/productpage", timeout=10).text
        reviews = start(stack, "reviews", reviews_version="v3", ratings_url=nowhere)
        shown = httpx.get(reviews.url + "/reviews/0", timeout=10).json()["reviews"]
        assert [review["rating"] for review in shown] == [{"error": "ratings are unavailable"}] * 2


def test_an_unknown_book_is_404(graph):
    assert httpx.get(graph["details"].url + "/details/7", timeout=5).status_code == 404
    assert httpx.get(graph["page"].url + "/api/v1/products/7", timeout=5).status_code == 404
