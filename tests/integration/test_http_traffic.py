"""http_traffic, verify's own traffic, against a real HTTP server this test starts:
the rate and the window are the ones asked for (open-loop: a slow answer does not
slow the schedule), the Host header reaches the server, paths are taken in turn,
and failures (5xx, no answer) fail it while a 4xx does not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.ansible_run import run_module
from tests.support.recording_server import SLOW_SECONDS, Server, serve


@pytest.fixture
def server() -> Iterator[Server]:
    httpd, running = serve()
    try:
        yield running
    finally:
        httpd.shutdown()
        httpd.server_close()


def traffic(args: dict) -> tuple[int, dict]:
    return run_module("titanium.platform.http_traffic", args, timeout=120)


def test_a_fixed_rate_for_a_fixed_window_with_the_host_header(server):
    rc, result = traffic(
        {
            "url": server.url,
            "host": "titanium.localhost",
            "paths": ["/a", "/slow", "/b"],
            "seconds": 3,
            "rate": 10,
        }
    )
    assert rc == 0, result
    assert result["sent"] == 30
    assert result["statuses"] == {"200": 30}
    assert result["paths"] == {"/a": {"200": 10}, "/b": {"200": 10}, "/slow": {"200": 10}}
    times = [t for t, _, _ in server.seen.arrivals]
    assert len(times) == 30
    # Open loop: ten answers of 1.5 s each do not stretch the 3 s schedule
    # (closed loop would take over 15 s).
    span = max(times) - min(times)
    assert 2.5 < span < 3.8, span
    assert result["seconds"] < 3 + SLOW_SECONDS + 1.5, result["seconds"]
    assert result["rate"] == pytest.approx(10, rel=0.15)
    assert {host for _, _, host in server.seen.arrivals} == {"titanium.localhost"}
    assert [path for _, path, _ in sorted(server.seen.arrivals)][:3] == ["/a", "/slow", "/b"]


def test_5xx_and_no_answer_fail_it_a_4xx_does_not(server):
    base = {"url": server.url, "seconds": 1, "rate": 10, "max_failed_percent": 5}
    rc, result = traffic({**base, "paths": ["/a", "/missing"]})
    assert rc == 0, result
    assert result["statuses"] == {"200": 5, "404": 5}
    assert result["failures"] == 0

    rc, result = traffic({**base, "paths": ["/a", "/broken"]})
    assert rc != 0, result
    assert result["failures"] == 5
    assert f"5 of 10 requests to {server.url} failed (50.0 %, more than 5.0 %)" in result["msg"]
    assert "/broken (5)" in result["msg"]

    nobody = server.url.rsplit(":", 1)[0] + ":9"  # the discard port: nothing listens
    rc, result = traffic({**base, "url": nobody, "paths": ["/a"], "timeout": 2})
    assert rc != 0, result
    assert result["answered"] == 0
    assert "ConnectError" in result["msg"]
