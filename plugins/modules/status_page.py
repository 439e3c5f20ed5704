#!/usr/bin/python
# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write verify's self-contained HTML status page."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: status_page
short_description: Write a self-contained HTML status page of a Titanium environment
description:
  - Writes one HTML file that opens offline (no script, no stylesheet, font or image to
    fetch; a Content-Security-Policy forbids any) holding each Argo CD Application with its sync
    and health status and live revision, each service's Golden Signals as a table and as
    charts over the last O(range_seconds) (request rate, error ratio, p95/p99 latency, CPU
    saturation), the alerts Prometheus holds, the drills' latest measured recovery times,
    the consoles' URLs and where their credentials live.
  - The charts come from range queries (C(/api/v1/query_range)) with the PromQL of
    M(titanium.platform.prometheus_golden_signals), drawn as inline SVG by matplotlib;
    the alerts from C(/api/v1/alerts). When Prometheus does not answer the page is still
    written and says so, with a warning.
  - Every value is HTML-escaped. Nothing secret is read or written; consoles name where a
    credential lives, never the credential.
  - C(changed) is computed by comparing the page with the file on disk. The charts move
    with time, so two runs a step apart usually differ; two runs over the same data
    (same O(end)) do not.
version_added: "0.1.0"
author: Titanium contributors (@titanium-platform)
options:
  dest:
    description: The HTML file to write; its folder is created.
    type: path
    required: true
  environment:
    description: The environment the page describes.
    type: str
    required: true
  services:
    description: Services to chart; empty means every service Prometheus knows.
    type: list
    elements: str
    default: []
  selector:
    description: Extra label matchers for the request and latency metrics, without braces.
    type: str
    default: ""
  cpu_selector:
    description: Extra label matchers for the CPU metrics, without braces.
    type: str
    default: ""
  rate_window:
    description: Range of the charts' C(rate()) windows, a PromQL duration.
    type: str
    default: 1m
  range_seconds:
    description: How far back the charts go.
    type: int
    default: 900
  step_seconds:
    description: Seconds between two points of a chart.
    type: int
    default: 15
  end:
    description:
      - Unix time the charts end at (rounded down to a whole step); unset is now. Two runs
        with the same O(end) over the same stored data write the same page.
    type: float
  applications:
    description: Argo CD Applications as M(titanium.platform.argocd_app_wait) returns them.
    type: list
    elements: dict
    default: []
  applications_note:
    description: Said instead of the Applications' table when there are none.
    type: str
    default: Argo CD's Applications were not read.
  signals:
    description: >-
      The Golden Signals now, as M(titanium.platform.prometheus_golden_signals) returns them.
    type: dict
    default: {}
  signals_window:
    description: The window O(signals) were read over, for the page to say.
    type: str
    default: 5m
  degraded:
    description: What verify found degraded, each with C(component) and C(problem).
    type: list
    elements: dict
    default: []
  consoles:
    description:
      - Consoles to list, each with C(name), C(url) and C(credentials) (where they live);
        one with C(enabled) false is listed as switched off.
    type: list
    elements: dict
    default: []
  secrets_note:
    description: A sentence on where the secrets are kept.
    type: str
    default: ""
  drills_file:
    description: JSON file the drill playbooks record their recovery times in.
    type: path
  checked:
    description: >-
      What this run checked and how (e.g. the traffic verify drove itself), one sentence
      each; the page lists them under "What was checked".
    type: list
    elements: str
    default: []
  not_checked:
    description: What this run did not check, and why, one sentence each.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - titanium.platform.prometheus
requirements:
  - matplotlib
  - jinja2
notes:
  - Supports check mode (computes the page, writes nothing) and diff mode (the page's
    text before and after, each chart shown as one line with its size).
"""

EXAMPLES = r"""
- name: Write the status page
  status_page:
    dest: build/status/local.html
    environment: local
    prometheus_url: http://127.0.0.1:30090
    services: [api-gateway, auth-service, user-service, blog-service]
    selector: namespace="titanium-local"
    cpu_selector: namespace="titanium-local"
    applications: "{{ verify_argocd.applications | default([]) }}"
    signals: "{{ verify_signals }}"
    consoles:
      - name: Grafana
        url: http://127.0.0.1:30300
        credentials: user admin; password vault_grafana_admin_password
    drills_file: build/status/drills-local.json
  register: status_page
"""

RETURN = r"""
dest:
  description: The page's path.
  returned: always
  type: str
window:
  description: What the charts cover, in Unix seconds.
  returned: always
  type: dict
  sample: {start: 1767225600.0, end: 1767226500.0, step: 15.0}
points:
  description: Per signal and service, how many points its chart line has (null values excluded).
  returned: always
  type: dict
  sample: {requests_per_second: {blog-service: 61}}
latest:
  description: Per signal and service, the value its chart line ends on.
  returned: always
  type: dict
  sample: {p95_ms: {blog-service: 8.7}}
alerts:
  description: The alerts shown, firing before pending.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: HighErrorRate, state: firing, severity: critical, service: api-gateway,
       since: "2026-01-01T00:00:00Z", summary: "...", runbook_url: "..."}
queries:
  description: The PromQL behind each chart.
  returned: always
  type: dict
"""

import hashlib
import os
import tempfile
import time
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.parsing.convert_bool import boolean

try:
    from ansible_collections.titanium.platform.plugins.module_utils.golden_signals import (
        PROMETHEUS_ARGS,
        SIGNALS,
        PrometheusError,
        SignalSpec,
        client_for,
    )
    from ansible_collections.titanium.platform.plugins.module_utils.status_page import (
        PAGE_IMPORT_ERROR,
        Window,
        active_alerts,
        charts,
        latest,
        read_drills,
        read_ranges,
        render,
        utc,
        without_charts,
    )

    if PAGE_IMPORT_ERROR is not None:
        raise PAGE_IMPORT_ERROR
    IMPORT_ERROR = None
except ImportError:
    IMPORT_ERROR = traceback.format_exc()


def build_page(module: AnsibleModule) -> tuple[str, dict]:
    p = module.params
    window = Window.ending(p["end"] or time.time(), p["range_seconds"], p["step_seconds"])
    ranges, queries, alerts, prometheus_error = {}, {}, [], ""
    charts_note = "Prometheus is not read here (no prometheus_url): no charts."
    alerts_note = "Prometheus is not read here: alerts unknown."
    if p["prometheus_url"] or p["prometheus_service"]:
        spec = SignalSpec(
            window=p["rate_window"], selector=p["selector"], cpu_selector=p["cpu_selector"]
        )
        try:
            client = client_for(p)
            ranges, queries = read_ranges(client, spec, p["services"], window)
            alerts = active_alerts(client)
            alerts_note = "No alert is pending or firing."
        except PrometheusError as error:
            prometheus_error = str(error)
            module.warn(f"status page without charts and alerts: {error}")
            alerts_note = "Prometheus did not answer: alerts unknown."
    drills, drills_note = read_drills(p["drills_file"])
    problems = len(p["degraded"])
    firing = sum(a["state"] == "firing" for a in alerts)
    # verify judges by its own checks; a firing alert is said beside, never hidden.
    alerts_text = f", {firing} alert(s) firing" if firing else ""
    page = {
        "environment": p["environment"],
        "headline": ("everything verified" if not problems else f"{problems} problem(s)")
        + alerts_text,
        "generated": utc(window.end),
        "window_text": (
            f"{utc(window.start)} to {utc(window.end)}, a point every {window.step:g} s, "
            f"rates over {p['rate_window']}"
        ),
        "degraded": p["degraded"],
        "applications": p["applications"],
        "applications_note": p["applications_note"],
        "signals": p["signals"],
        "signals_window": p["signals_window"],
        "signal_order": SIGNALS,
        "prometheus_error": prometheus_error,
        "charts": charts(ranges, p["services"]) if ranges else [],
        "charts_note": charts_note,
        "queries": queries,
        "alerts": alerts,
        "alerts_note": alerts_note,
        "drills": drills,
        "drills_note": drills_note or "No drill recorded.",
        "consoles": [
            {**c, "enabled": boolean(c.get("enabled", True), strict=False)} for c in p["consoles"]
        ],
        "secrets_note": p["secrets_note"],
        "checked": p["checked"],
        "not_checked": p["not_checked"],
    }
    facts = {
        "window": {"start": window.start, "end": window.end, "step": window.step},
        "points": {
            signal: {s: sum(p[1] is not None for p in pts) for s, pts in by.items()}
            for signal, by in ranges.items()
        },
        "latest": latest(ranges),
        "alerts": alerts,
        "queries": queries,
    }
    return render(page), facts


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **PROMETHEUS_ARGS,
            "dest": {"type": "path", "required": True},
            "environment": {"type": "str", "required": True},
            "services": {"type": "list", "elements": "str", "default": []},
            "selector": {"type": "str", "default": ""},
            "cpu_selector": {"type": "str", "default": ""},
            "rate_window": {"type": "str", "default": "1m"},
            "range_seconds": {"type": "int", "default": 900},
            "step_seconds": {"type": "int", "default": 15},
            "end": {"type": "float"},
            "applications": {"type": "list", "elements": "dict", "default": []},
            "applications_note": {
                "type": "str",
                "default": "Argo CD's Applications were not read.",
            },
            "signals": {"type": "dict", "default": {}},
            "signals_window": {"type": "str", "default": "5m"},
            "degraded": {"type": "list", "elements": "dict", "default": []},
            "consoles": {"type": "list", "elements": "dict", "default": []},
            "secrets_note": {"type": "str", "default": "", "no_log": False},
            "drills_file": {"type": "path"},
            "checked": {"type": "list", "elements": "str", "default": []},
            "not_checked": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    if IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("matplotlib and jinja2"), exception=IMPORT_ERROR)
    if (
        module.params["step_seconds"] < 1
        or module.params["range_seconds"] < module.params["step_seconds"]
    ):
        module.fail_json(msg="step_seconds must be at least 1 and range_seconds at least one step")
    dest = module.params["dest"]
    html, facts = build_page(module)
    try:
        with open(dest, encoding="utf-8") as current:
            before = current.read()
    except FileNotFoundError:
        before = None
    changed = before != html
    if changed and not module.check_mode:
        folder = os.path.dirname(os.path.abspath(dest))
        os.makedirs(folder, exist_ok=True)
        # Written beside the target and moved over it: a reader never sees half a page.
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".status-", suffix=".html")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(html)
        os.chmod(temporary, 0o644)
        module.atomic_move(temporary, dest)
    result = {
        "changed": changed,
        "dest": dest,
        "sha256": hashlib.sha256(html.encode()).hexdigest(),
        **facts,
    }
    if module._diff and changed:
        result["diff"] = {
            "before_header": dest,
            "after_header": dest,
            "before": without_charts(before) if before is not None else "",
            "after": without_charts(html),
        }
    module.exit_json(**result)


if __name__ == "__main__":
    main()
