"""The rehearsal's drill plumbing against a real HTTP server on loopback: a
set-up request outlasts a short 5xx tail, an answer that never comes is an error
naming it, and a drill that raises becomes that drill's error in the report."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts/rehearsal.py"
spec = importlib.util.spec_from_file_location("rehearsal", SCRIPT)
rehearsal = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rehearsal)


class Answers(BaseHTTPRequestHandler):
    """Answers each POST with the next status of the server's script (its last one
    for ever after)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        script = self.server.script
        status = script.pop(0) if len(script) > 1 else script[0]
        body = b'{"detail": "user-service unavailable"}' if status >= 500 else b"{}"
        self.send_response(status)
        self.send_header("Retry-After", "0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield httpd
    finally:
        httpd.shutdown()


def test_a_short_5xx_tail_is_retried_and_recorded(server) -> None:
    server.script = [503, 503, 201]
    retries: list[str] = []
    with httpx.Client() as client:
        answer = rehearsal.post_once_answered(
            client, f"http://127.0.0.1:{server.server_port}/api/auth/register", retries, json={}
        )
    assert answer.status_code == 201
    assert retries == ["/api/auth/register: 503 " + '{"detail": "user-service unavailable"}'] * 2


def test_a_4xx_is_not_retried(server) -> None:
    server.script = [409, 201]
    retries: list[str] = []
    with httpx.Client() as client, pytest.raises(httpx.HTTPStatusError):
        rehearsal.post_once_answered(
            client, f"http://127.0.0.1:{server.server_port}/x", retries, json={}
        )
    assert retries == []


def test_an_answer_that_never_comes_names_the_last_one(server) -> None:
    server.script = [503]
    with httpx.Client() as client, pytest.raises(rehearsal.RehearsalError) as error:
        rehearsal.post_once_answered(
            client, f"http://127.0.0.1:{server.server_port}/x", [], timeout=0.5, json={}
        )
    assert "503" in str(error.value) and "user-service unavailable" in str(error.value)


def test_a_failed_drill_is_its_own_error_not_the_reports() -> None:
    def measure_something(endpoints: dict) -> dict:
        raise KeyError(endpoints["missing"])

    assert rehearsal.drill(measure_something, {}) == {
        "error": "measure_something: KeyError: 'missing'"
    }
    assert rehearsal.drill(lambda: {"figure": 1}) == {"figure": 1}
