"""The arguments of a status page without Prometheus, shared by status_page's unit
tests (tests/unit/plugins/modules/test_status_page.py) and its run through
`ansible` (tests/integration/test_module_status_page.py)."""

from __future__ import annotations

import time

END = float(int(time.time()))


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
