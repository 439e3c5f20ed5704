# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What "every Argo CD Application is Synced and Healthy" means, and what an operator needs
to see when it is not. Pure functions over the API's dictionaries, plus the reads."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "applications"


@dataclass(frozen=True)
class AppState:
    name: str
    sync: str
    health: str
    operation: str
    message: str
    # The commit Argo CD last compared against: which Git change is live.
    revision: str = ""

    def ready(self, require_sync: bool = True, require_health: bool = True) -> bool:
        synced = self.sync == "Synced" or not require_sync
        healthy = self.health == "Healthy" or not require_health
        return synced and healthy

    def as_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "sync": self.sync,
            "health": self.health,
            "operation": self.operation,
            "message": self.message,
            "revision": self.revision,
        }


def app_state(app: dict) -> AppState:
    status = app.get("status") or {}
    health = status.get("health") or {}
    operation = status.get("operationState") or {}
    sync = status.get("sync") or {}
    # Multi-source Applications report one revision per source.
    revision = sync.get("revision") or ",".join(sync.get("revisions") or [])
    return AppState(
        name=app["metadata"]["name"],
        sync=sync.get("status", "Unknown"),
        health=health.get("status", "Unknown"),
        operation=operation.get("phase", ""),
        message=health.get("message") or operation.get("message") or "",
        revision=revision,
    )


def evaluate(
    apps: list[dict],
    names: list[str] | None = None,
    require_sync: bool = True,
    require_health: bool = True,
    min_count: int = 1,
) -> tuple[bool, list[AppState], list[str]]:
    """(all ready?, the states, the names wanted but absent)."""
    states = sorted((app_state(a) for a in apps), key=lambda s: s.name)
    if names:
        states = [s for s in states if s.name in names]
    missing = sorted(set(names or []) - {s.name for s in states})
    ready = (
        not missing
        and len(states) >= min_count
        and all(s.ready(require_sync, require_health) for s in states)
    )
    return ready, states, missing


def app_problems(app: dict) -> dict:
    """Conditions and the resources that are not Synced or not Healthy, for one app."""
    status = app.get("status") or {}
    resources = []
    for res in status.get("resources") or []:
        health = (res.get("health") or {}).get("status")
        if res.get("status") not in (None, "Synced") or health not in (None, "Healthy"):
            resources.append(
                {
                    "kind": res.get("kind"),
                    "namespace": res.get("namespace", ""),
                    "name": res.get("name"),
                    "sync": res.get("status"),
                    "health": health,
                    "message": (res.get("health") or {}).get("message", ""),
                }
            )
    operation = status.get("operationState") or {}
    return {
        "name": app["metadata"]["name"],
        "conditions": [
            {"type": c.get("type"), "message": c.get("message")}
            for c in status.get("conditions") or []
        ],
        "operation": {"phase": operation.get("phase"), "message": operation.get("message")},
        "resources": resources,
    }


def pod_problems(pods: list[dict]) -> list[dict]:
    """Pods that are neither Succeeded nor Running with every container ready."""
    found = []
    for pod in pods:
        phase = (pod.get("status") or {}).get("phase", "Unknown")
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        waiting = [
            f"{c['name']}: {(c.get('state') or {}).get('waiting', {}).get('reason', 'not ready')}"
            for c in statuses
            if not c.get("ready")
        ]
        if phase == "Succeeded" or (phase == "Running" and not waiting and statuses):
            continue
        restarts = sum(c.get("restartCount", 0) for c in statuses)
        found.append(
            {
                "namespace": pod["metadata"].get("namespace", ""),
                "name": pod["metadata"]["name"],
                "phase": phase,
                "containers": waiting,
                "restarts": restarts,
            }
        )
    return sorted(found, key=lambda p: (p["namespace"], p["name"]))


def recent_warnings(events: list[dict], limit: int) -> list[dict]:
    def when(event: dict) -> str:
        return (
            event.get("lastTimestamp")
            or event.get("eventTime")
            or (event.get("metadata") or {}).get("creationTimestamp")
            or ""
        )

    warnings = [e for e in events if e.get("type") == "Warning"]
    warnings.sort(key=when, reverse=True)
    return [
        {
            "time": when(e),
            "namespace": (e.get("metadata") or {}).get("namespace", ""),
            "object": f"{(e.get('involvedObject') or {}).get('kind')}/"
            f"{(e.get('involvedObject') or {}).get('name')}",
            "reason": e.get("reason"),
            "message": e.get("message"),
            "count": e.get("count") or 1,
        }
        for e in warnings[:limit]
    ]


def summary_line(states: list[AppState], missing: list[str]) -> str:
    parts = [f"{s.name}={s.sync}/{s.health}" for s in states]
    parts += [f"{name}=absent" for name in missing]
    return ", ".join(parts) or "no Application found"


def wait_until_ready(
    list_apps: Callable[[], list[dict]],
    timeout: float,
    interval: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    **criteria,
) -> tuple[bool, list[dict], float]:
    """Poll until ready or timeout. Returns (ready, the last listing, seconds waited)."""
    start = clock()
    while True:
        apps = list_apps()
        ready = evaluate(apps, **criteria)[0]
        waited = clock() - start
        if ready or waited >= timeout:
            return ready, apps, waited
        sleep(min(interval, max(timeout - waited, 0)))
