"""argocd_app_wait's logic: when Applications count as ready, and what the diagnostics
on timeout hold. The server-side run lives in tests/integration (real API server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.titanium.platform.plugins.module_utils import argocd as argo

REPO_ROOT = Path(__file__).resolve().parents[4]


def application(name, sync="Synced", health="Healthy", **status):
    return {
        "metadata": {"name": name, "namespace": "argocd"},
        "status": {"sync": {"status": sync}, "health": {"status": health}, **status},
    }


def test_all_synced_and_healthy_is_ready():
    ready, states, missing = argo.evaluate([application("a"), application("b")])
    assert ready and missing == [] and [s.name for s in states] == ["a", "b"]


@pytest.mark.parametrize(
    ("sync", "health"),
    [
        ("OutOfSync", "Healthy"),
        ("Synced", "Progressing"),
        ("Synced", "Degraded"),
        ("Unknown", "Missing"),
    ],
)
def test_one_app_not_there_yet_is_not_ready(sync, health):
    ready, _, _ = argo.evaluate([application("a"), application("b", sync, health)])
    assert not ready


def test_an_app_without_status_yet_is_unknown_and_not_ready():
    ready, states, _ = argo.evaluate([{"metadata": {"name": "fresh"}}])
    assert not ready
    assert (states[0].sync, states[0].health) == ("Unknown", "Unknown")


def test_no_application_at_all_is_not_success():
    assert argo.evaluate([])[0] is False
    assert argo.evaluate([], min_count=0)[0] is True


def test_named_apps_must_exist_and_others_are_ignored():
    apps = [application("root"), application("noise", "OutOfSync", "Degraded")]
    ready, states, missing = argo.evaluate(apps, names=["root", "services"])
    assert not ready and missing == ["services"] and [s.name for s in states] == ["root"]
    assert argo.evaluate(apps, names=["root"])[0]


def test_health_or_sync_may_be_waived():
    apps = [application("a", "Synced", "Progressing")]
    assert argo.evaluate(apps, require_health=False)[0]
    assert not argo.evaluate(apps, require_sync=False)[0]


def test_wait_polls_until_ready_without_sleeping_past_the_timeout():
    listings = iter(
        [[application("a", "OutOfSync", "Missing")], [application("a", "Synced", "Progressing")]]
        + [[application("a")]] * 5
    )
    now = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    ready, _, waited = argo.wait_until_ready(
        lambda: next(listings), timeout=60, interval=5, clock=lambda: now[0], sleep=sleep
    )
    assert ready and waited == 10 and slept == [5, 5]


def test_wait_gives_up_at_the_timeout():
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    ready, _, waited = argo.wait_until_ready(
        lambda: [application("a", "OutOfSync")], timeout=12, interval=5,
        clock=lambda: now[0], sleep=sleep,
    )  # fmt: skip
    assert not ready and waited == 12


def test_app_problems_name_conditions_operation_and_failing_resources():
    app = application(
        "services",
        "OutOfSync",
        "Degraded",
        conditions=[{"type": "SyncError", "message": "one or more objects failed to apply"}],
        operationState={"phase": "Failed", "message": "hook failed"},
        resources=[
            {"kind": "Deployment", "namespace": "t", "name": "ok", "status": "Synced",
             "health": {"status": "Healthy"}},
            {"kind": "Deployment", "namespace": "t", "name": "blog", "status": "Synced",
             "health": {"status": "Degraded", "message": "progress deadline exceeded"}},
            {"kind": "ConfigMap", "namespace": "t", "name": "cfg", "status": "OutOfSync"},
        ],
    )  # fmt: skip
    problems = argo.app_problems(app)
    assert problems["conditions"] == [
        {"type": "SyncError", "message": "one or more objects failed to apply"}
    ]
    assert problems["operation"]["phase"] == "Failed"
    assert [(r["kind"], r["name"]) for r in problems["resources"]] == [
        ("Deployment", "blog"),
        ("ConfigMap", "cfg"),
    ]
    assert problems["resources"][0]["message"] == "progress deadline exceeded"


def pod(name, phase, *containers, namespace="t"):
    return {
        "metadata": {"name": name, "namespace": namespace},
        "status": {"phase": phase, "containerStatuses": list(containers)},
    }


def test_pod_problems_list_unready_pods_with_reasons():
    ready = {"name": "app", "ready": True, "restartCount": 0}
    crashing = {
        "name": "app",
        "ready": False,
        "restartCount": 7,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
    }
    pods = [
        pod("fine", "Running", ready),
        pod("job", "Succeeded"),
        pod("crash", "Running", crashing),
        pod("pending", "Pending"),
    ]
    found = argo.pod_problems(pods)
    assert [p["name"] for p in found] == ["crash", "pending"]
    assert found[0]["containers"] == ["app: CrashLoopBackOff"] and found[0]["restarts"] == 7


def test_recent_warnings_newest_first_and_limited():
    events = [
        {"type": "Normal", "reason": "Pulled", "lastTimestamp": "2026-01-01T00:00:09Z"},
        {"type": "Warning", "reason": "Old", "lastTimestamp": "2026-01-01T00:00:01Z",
         "involvedObject": {"kind": "Pod", "name": "a"}, "metadata": {"namespace": "t"}},
        {"type": "Warning", "reason": "BackOff", "lastTimestamp": "2026-01-01T00:00:05Z",
         "involvedObject": {"kind": "Pod", "name": "b"}, "metadata": {"namespace": "t"}},
    ]  # fmt: skip
    found = argo.recent_warnings(events, limit=1)
    assert [(e["reason"], e["object"]) for e in found] == [("BackOff", "Pod/b")]


def test_summary_line_names_every_state():
    _, states, missing = argo.evaluate(
        [application("a"), application("b", "OutOfSync", "Missing")], names=["a", "b", "c"]
    )
    assert argo.summary_line(states, missing) == "a=Synced/Healthy, b=OutOfSync/Missing, c=absent"


def test_the_live_revision_is_reported_for_one_source_and_for_several():
    one = application("a")
    one["status"]["sync"]["revision"] = "9f2c1e0"
    several = application("b")
    several["status"]["sync"]["revisions"] = ["9f2c1e0", "v1.2.0"]
    _, states, _ = argo.evaluate([one, several, application("c")])
    assert [s.as_dict()["revision"] for s in states] == ["9f2c1e0", "9f2c1e0,v1.2.0", ""]
