"""A write whose Markdown is slow to render does not stall everyone else's requests."""

import threading
import time

import httpx

from .conftest import BlogProcess, Signer

# 100,000 "[" take markdown-it about two seconds here: every one opens a
# possible link that is looked for to the end of the text.
SLOW_BODY = "[" * 100_000


def test_other_requests_are_answered_while_a_big_post_renders(
    blog_service: BlogProcess, signer: Signer
) -> None:
    done = threading.Event()
    written: dict[str, float | int] = {}

    def write() -> None:
        try:
            with httpx.Client(base_url=blog_service.url, timeout=60) as client:
                started = time.perf_counter()
                response = client.post(
                    "/posts",
                    json={"title": "Brackets", "body": SLOW_BODY, "category": "General"},
                    headers=signer.headers(31337, "bracketeer"),
                )
                written["seconds"] = time.perf_counter() - started
                written["status"] = response.status_code
        finally:
            done.set()

    slowest = 0.0
    probes = 0
    with httpx.Client(base_url=blog_service.url, timeout=60) as client:
        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(0.05)  # let the write reach the service first
        while not done.is_set():
            started = time.perf_counter()
            assert client.get("/health/live").status_code == 200
            slowest = max(slowest, time.perf_counter() - started)
            probes += 1
            time.sleep(0.01)
        writer.join()

    assert written["status"] == 201
    # The test means something only if the render took long enough to notice.
    assert written["seconds"] > 0.5, written
    assert slowest < written["seconds"] / 4, (slowest, written, probes)
