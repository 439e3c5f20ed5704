"""status_page's main() in this process (ansible-test's module unit tests), without
Prometheus: check mode writes nothing and diff shows the page, the same data gives
the same page (changed=false), every value is escaped. Run through `ansible` with
the drills' record step: tests/integration/test_module_status_page.py; drawn from
real data: the observability tier."""

from __future__ import annotations

from ansible_collections.titanium.platform.plugins.modules import status_page
from tests.support.module_run import run_module_main
from tests.support.status_page_args import page_args

HOSTILE = '<script>alert("x")</script> & <img src=http://evil.invalid/x.png>'


def run_module(args: dict, flags: tuple[str, ...] = ()) -> tuple[int, dict]:
    return run_module_main(status_page.main, args, check="--check" in flags, diff="--diff" in flags)


def test_check_mode_writes_nothing_and_diff_shows_the_page(tmp_path):
    dest = tmp_path / "status" / "local.html"
    rc, result = run_module(page_args(dest), flags=("--check", "--diff"))
    assert rc == 0, result
    assert result["changed"] is True
    assert not dest.exists() and not dest.parent.exists()
    assert "titanium-services" in result["diff"]["after"]

    run_module(page_args(dest))
    written = dest.read_bytes()
    rc, result = run_module(
        page_args(dest, degraded=[{"component": "blog-service", "problem": "p95 high"}]),
        flags=("--check",),
    )
    assert rc == 0 and result["changed"] is True
    assert dest.read_bytes() == written, "check mode rewrote the page"


def test_the_same_data_gives_the_same_page(tmp_path):
    dest = tmp_path / "local.html"
    first = run_module(page_args(dest))[1]
    second = run_module(page_args(dest))[1]
    assert first["changed"] is True and second["changed"] is False, second
    assert first["sha256"] == second["sha256"]


def test_every_value_is_escaped(tmp_path):
    dest = tmp_path / "local.html"
    rc, result = run_module(
        page_args(
            dest,
            degraded=[{"component": HOSTILE, "problem": HOSTILE}],
            consoles=[{"name": HOSTILE, "url": HOSTILE, "credentials": HOSTILE}],
        ),
    )
    assert rc == 0, result
    html = dest.read_text()
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;img" in html
