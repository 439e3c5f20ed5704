"""status_page through `ansible -m`, as the verify role runs it, without Prometheus
(the observability tier draws it from real data): the drills' record step, a
playbook, feeds the page. The module's own promises (check mode, the same page
from the same data, escaping), run in this process:
tests/unit/plugins/modules/test_status_page.py."""

from __future__ import annotations

import json

from tests.support.ansible_run import run_module, run_on_localhost
from tests.support.status_page_args import page_args


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
