"""status_page through `ansible -m`, as the verify role runs it, without Prometheus
(the observability tier draws it from real data): check mode writes nothing, the
same data gives the same page (changed=false), every value is escaped, and the
drills' record step feeds the page."""

from __future__ import annotations

import json
import time

from tests.support.ansible_run import run_module, run_on_localhost

END = float(int(time.time()))
HOSTILE = '<script>alert("x")</script> & <img src=http://evil.invalid/x.png>'


def page_args(dest, **extra) -> dict:
    return {
        "dest": str(dest),
        "environment": "local",
        "end": END,
        "applications": [
            {
                "name": "titanium-services",
                "sync": "Synced",
                "health": "Healthy",
                "operation": "Succeeded",
                "message": "",
                "revision": "9f2c1e0d4b7a55aa",
            },
        ],
        "consoles": [
            {
                "name": "Grafana",
                "url": "http://127.0.0.1:30300",
                "credentials": "user admin; password vault_grafana_admin_password",
            },
        ],
        **extra,
    }


def test_check_mode_writes_nothing_and_diff_shows_the_page(tmp_path):
    dest = tmp_path / "status" / "local.html"
    rc, result = run_module(
        "titanium.platform.status_page", page_args(dest), flags=("--check", "--diff")
    )
    assert rc == 0, result
    assert result["changed"] is True
    assert not dest.exists() and not dest.parent.exists()
    assert "titanium-services" in result["diff"]["after"]

    run_module("titanium.platform.status_page", page_args(dest))
    written = dest.read_bytes()
    rc, result = run_module(
        "titanium.platform.status_page",
        page_args(dest, degraded=[{"component": "blog-service", "problem": "p95 high"}]),
        flags=("--check",),
    )
    assert rc == 0 and result["changed"] is True
    assert dest.read_bytes() == written, "check mode rewrote the page"


def test_the_same_data_gives_the_same_page(tmp_path):
    dest = tmp_path / "local.html"
    first = run_module("titanium.platform.status_page", page_args(dest))[1]
    second = run_module("titanium.platform.status_page", page_args(dest))[1]
    assert first["changed"] is True and second["changed"] is False, second
    assert first["sha256"] == second["sha256"]


def test_every_value_is_escaped(tmp_path):
    dest = tmp_path / "local.html"
    rc, result = run_module(
        "titanium.platform.status_page",
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


def test_the_drills_record_step_feeds_the_page(tmp_path):
    record = tmp_path / "status" / "drills-local.json"
    for seconds, target in ((12.34, "api-gateway"), (200, "postgres"), (3, "blog-service"),
                            (4, "blog-service")):  # fmt: skip
        ran = run_on_localhost(
            "tests/integration/playbooks/record-drill.yml",
            {
                "drill_record_file": str(record),
                "drill_record_name": "pod-failure",
                "drill_record_target": target,
                "drill_record_seconds": seconds,
                "drill_record_limit": 120,
            },
        )
        assert ran.returncode == 0, ran.stdout + ran.stderr
    drills = json.loads(record.read_text())["drills"]
    # Three kept, the oldest dropped.
    assert [(d["target"], d["recovery_seconds"], d["passed"]) for d in drills] == [
        ("postgres", 200.0, False), ("blog-service", 3.0, True), ("blog-service", 4.0, True),
    ]  # fmt: skip
    dest = tmp_path / "local.html"
    rc, result = run_module(
        "titanium.platform.status_page", page_args(dest, drills_file=str(record))
    )
    assert rc == 0, result
    html = dest.read_text()
    assert "postgres" in html and "200 s" in html and "over the limit" in html
    assert "api-gateway</td>" not in html
