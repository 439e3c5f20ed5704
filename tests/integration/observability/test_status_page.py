"""verify's status page drawn from a real Prometheus scraping the running blog
(traffic flowing, the 429 trickle alerting), then opened in Debian's Chromium:
the charts hold the series Prometheus has, their last points equal instant
queries at the same moment, nothing is fetched, and a screenshot is kept in
build/status/ (its path is printed; `pytest -rP` shows it)."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.support.ansible_run import run_module

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[3]
STATUS = REPO_ROOT / "build/status"
CHROMIUM = Path("/usr/bin/chromium")
SERVICES = ["api-gateway", "auth-service", "blog-service", "user-service"]
# Signals every service has here; CPU saturation needs cAdvisor and
# kube-state-metrics (tests/support/monitoring.py NEEDS_A_CLUSTER).
CHARTED = ["requests_per_second", "p95_ms", "p99_ms", "error_4xx_percent", "error_5xx_percent"]
STEP = 2
MIN_POINTS = 8


def instant(prometheus, promql: str, at: float) -> dict[str, float]:
    data = urllib.parse.urlencode({"query": promql, "time": at}).encode()
    with urllib.request.urlopen(f"{prometheus.url}/api/v1/query", data=data, timeout=5) as answer:  # noqa: S310  http only
        result = json.load(answer)["data"]["result"]
    return {r["metric"]["service"]: float(r["value"][1]) for r in result}


@pytest.fixture(scope="module")
def charted(observed) -> tuple[dict, str]:
    """The module's result and the page, once every service has served for a
    while and RateLimitHits fires."""
    ns = observed.monitoring.values["namespace"]
    deadline = time.monotonic() + 90
    first_seen = None
    while True:
        assert observed.traffic.error is None, observed.traffic.error
        rates = observed.prometheus.query(
            f'sum by (service) (rate(http_requests_total{{namespace="{ns}"}}[10s])) > 0'
        )
        firing = {
            a["labels"]["alertname"] for a in observed.prometheus.alerts() if a["state"] == "firing"
        }
        if {r["metric"]["service"] for r in rates} == set(SERVICES):
            first_seen = first_seen or time.monotonic()
        if (
            first_seen
            and time.monotonic() - first_seen > STEP * (MIN_POINTS + 4)
            and ("RateLimitHits" in firing)
        ):
            break
        assert time.monotonic() < deadline, f"no traffic or no RateLimitHits: {rates} {firing}"
        time.sleep(1)
    STATUS.mkdir(parents=True, exist_ok=True)
    dest = STATUS / f"e2e-{observed.monitoring.env}.html"
    dest.unlink(missing_ok=True)
    args = {
        "dest": str(dest),
        "environment": observed.monitoring.env,
        "prometheus_url": observed.prometheus.url,
        "services": SERVICES,
        "selector": f'namespace="{ns}"',
        "cpu_selector": f'namespace="{ns}"',
        "rate_window": "10s",
        "range_seconds": 120,
        "step_seconds": STEP,
        # A few seconds back: every scrape up to `end` has landed, so a second run
        # over the same window reads the same points.
        "end": time.time() - 3,
        "consoles": [
            {"name": "Prometheus", "url": observed.prometheus.url, "credentials": "none"},
            {"name": "Alertmanager", "url": observed.alertmanager.url, "credentials": "none"},
        ],
        "applications_note": "No Argo CD in the observability tier.",
    }
    rc, result = run_module("titanium.platform.status_page", args)
    assert rc == 0, result
    assert result["changed"] is True
    again_rc, again = run_module("titanium.platform.status_page", args)
    assert again_rc == 0, again
    # The same window over the same stored data: rewritten only if an alert moved.
    assert again["changed"] is (again["alerts"] != result["alerts"]), (result, again)
    return result, dest.read_text()


def test_charts_end_where_prometheus_stands(charted, observed):
    result, html = charted
    end = result["window"]["end"]
    for signal in CHARTED:
        now = instant(observed.prometheus, result["queries"][signal], end)
        for service in SERVICES:
            points = result["points"][signal].get(service, 0)
            assert points >= MIN_POINTS, f"{signal} {service}: {points} points"
            drawn, queried = result["latest"][signal][service], now[service]
            assert drawn == pytest.approx(queried, rel=1e-6, abs=1e-9), (signal, service)
            # The line is in the page, with a point per step.
            key = {"requests_per_second": "traffic", "p95_ms": "latency", "p99_ms": "latency"}
            chart = key.get(signal, "errors")
            group = re.search(
                rf'<g id="{chart}-series-{signal}-{service}">\s*<path d="([^"]+)"', html
            )
            assert group, f"no line for {signal} {service} in the {chart} chart"
            assert len(re.findall(r"[ML] [\d.]+ [\d.]+", group.group(1))) >= MIN_POINTS


def test_saturation_says_it_has_no_data_here(charted):
    _, html = charted
    figure = html[html.index('id="chart-saturation"') :]
    figure = figure[: figure.index("</figure>")]
    assert "no data in this window" in figure and "series-cpu" not in figure


def test_firing_alert_is_listed(charted):
    result, html = charted
    assert any(a["name"] == "RateLimitHits" and a["state"] == "firing" for a in result["alerts"])
    section = html[html.index('id="alerts"') : html.index('id="drills"')]
    assert "RateLimitHits" in section and "firing" in section


def test_page_needs_nothing_from_outside(charted):
    _, html = charted
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert not re.search(r"\bsrc\s*=", html)
    assert not re.search(r"url\(\s*['\"]?(?!#)", html), "a url() that is not a local reference"
    assert not re.search(r'href="(?!#)', html), "an href that leaves the page"
    assert "default-src 'none'" in html


def test_chromium_draws_the_page_offline(charted, observed, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed: apt-get install chromium (make setup)")
    from playwright.sync_api import sync_playwright

    page_file = STATUS / f"e2e-{observed.monitoring.env}.html"
    screenshot = STATUS / f"e2e-{observed.monitoring.env}.png"
    requests: list[str] = []
    problems: list[str] = []
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            viewport={"width": 1100, "height": 900},
            offline=True,
        )
        try:
            page = context.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(page_file.as_uri())
            page.wait_for_load_state("load")
            for key in ("traffic", "errors", "latency", "saturation"):
                box = page.locator(f"#chart-{key} svg").bounding_box()
                assert box and box["width"] > 500 and box["height"] > 100, (key, box)
            # A drawn line has a length: the SVG was laid out, not only parsed.
            length = page.evaluate(
                "document.querySelector('#traffic-series-requests_per_second-blog-service path')"
                ".getTotalLength()"
            )
            assert length > 100
            assert page.locator("#alerts").is_visible()
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            context.close()
    assert requests == [page_file.as_uri()], requests
    assert not problems, problems
    assert screenshot.stat().st_size > 10_000
    print(f"status page screenshot: {screenshot}")
