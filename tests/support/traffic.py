"""Steady, bounded traffic through the gateway while Prometheus watches.

Each round reaches all four services: reads of posts, categories and the HTML
blog (blog-service), a profile (user-service), the JWKS (auth-service), some
404s, a post written now and then, and failed logins from one address, which
the gateway's per-address login limit turns into a steady trickle of 429s.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections import Counter

import httpx

from tests.support.blog_stack import Stack, new_user

# A round every 50 ms at most; never longer than this, whatever the test does.
ROUND_PAUSE = 0.05
MAX_SECONDS = 240


class Traffic:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.statuses: Counter[int] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="traffic", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> Traffic:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        try:
            self._rounds()
        except BaseException as exc:  # surfaced by the tests through .error
            self.error = exc

    def _rounds(self) -> None:
        writers = [new_user(self.stack)[0] for _ in range(3)]
        reader = self.stack.client()
        post_id = (
            writers[0]
            .post(
                "/api/posts", json={"title": "Observed", "body": "watched", "category": "General"}
            )
            .json()["id"]
        )
        # One address for every failed login: after the limit, each one is a 429.
        guesser = self.stack.client(address="198.51.100.9")
        deadline = time.monotonic() + MAX_SECONDS
        n = 0
        while not self._stop.is_set() and time.monotonic() < deadline:
            n += 1
            writer = writers[n % len(writers)]
            # A new address each round keeps the reads under the per-address limit.
            reader.headers["X-Forwarded-For"] = f"192.0.2.{n % 250 + 1}-{n}"
            requests = [
                (reader, "GET", "/api/posts", None),
                (reader, "GET", f"/api/posts/{post_id}", None),
                (reader, "GET", "/api/categories", None),
                (reader, "GET", "/blog/", None),
                (writer, "GET", "/api/users/me", None),
                (reader, "GET", "/api/auth/.well-known/jwks.json", None),
                (reader, "GET", f"/api/posts/{secrets.token_hex(8)}", None),
                (reader, "GET", "/no/such/page", None),
                (
                    guesser,
                    "POST",
                    "/api/auth/login",
                    {"username": "ghost", "password": "wrong pass"},
                ),
            ]
            if n % 10 == 0:
                post = {"title": f"round {n}", "body": "b", "category": "General"}
                requests.append((writer, "POST", "/api/posts", post))
            for client, method, path, body in requests:
                with contextlib.suppress(httpx.TransportError):
                    self.statuses[client.request(method, path, json=body).status_code] += 1
            self._stop.wait(ROUND_PAUSE)
