#!/usr/bin/python
# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wait until every Argo CD Application is Synced and Healthy."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: argocd_app_wait
short_description: Wait until Argo CD Applications are Synced and Healthy
description:
  - Polls the C(Application) custom resources (C(argoproj.io/v1alpha1)) in a namespace until
    every one of them (or every one named) reports sync status C(Synced) and health
    C(Healthy).
  - On timeout it fails with what an operator needs to act - each Application's conditions,
    operation state and the resources that are out of sync or unhealthy, the pods that are
    not ready and the most recent warning events - in RV(diagnostics) and in the message.
  - Reads only; never reports a change. Check mode runs the same read-only wait.
version_added: "0.1.0"
author: Titanium contributors (@titanium-platform)
requirements:
  - kubernetes (Python library)
options:
  namespace:
    description: Namespace of the Application resources (where Argo CD runs).
    type: str
    default: argocd
  names:
    description: Applications that must exist and be ready. Empty means every one found.
    type: list
    elements: str
    default: []
  min_count:
    description: Fewer Applications than this is not ready (an empty namespace is not success).
    type: int
    default: 1
  require_sync:
    description: Wait for the sync status C(Synced).
    type: bool
    default: true
  require_health:
    description: Wait for the health status C(Healthy).
    type: bool
    default: true
  timeout:
    description: Seconds to wait before failing with diagnostics.
    type: int
    default: 600
  interval:
    description: Seconds between two reads.
    type: int
    default: 5
  diagnostics_namespaces:
    description: Namespaces whose pods and events are examined on timeout. Empty means all.
    type: list
    elements: str
    default: []
  events_limit:
    description: How many of the most recent warning events the diagnostics keep.
    type: int
    default: 20
  kubeconfig:
    description:
      - Path to the kubeconfig.
      - Default is C(KUBECONFIG), then C(~/.kube/config), then the in-cluster account.
    type: path
  context:
    description: Context of the kubeconfig to use.
    type: str
notes:
  - Supports check mode; diff mode has nothing to show because nothing changes.
"""

EXAMPLES = r"""
- name: Wait for every Application
  argocd_app_wait:
    kubeconfig: "{{ titanium_kubeconfig }}"
    context: "{{ titanium_kube_context }}"
    timeout: 900
    diagnostics_namespaces: [argocd, titanium-local]

- name: Wait for the root Application only, synced but possibly progressing
  argocd_app_wait:
    names: [titanium-root]
    require_health: false
"""

RETURN = r"""
applications:
  description: Every Application examined, with its sync and health status.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: titanium-services, sync: Synced, health: Healthy, operation: Succeeded, message: "",
       revision: 9f2c1e0d4b7a}
missing:
  description: Names asked for that do not exist.
  returned: always
  type: list
  elements: str
waited_seconds:
  description: How long the module waited.
  returned: always
  type: float
diagnostics:
  description: On timeout, what is wrong - Application problems, unready pods, warning events.
  returned: failure
  type: dict
  contains:
    applications:
      description: Per Application not ready, its conditions, operation and failing resources.
      type: list
    pods:
      description: Pods neither Succeeded nor Running with every container ready.
      type: list
    events:
      description: The most recent warning events, newest first.
      type: list
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.titanium.platform.plugins.module_utils.argocd import (
    GROUP,
    PLURAL,
    VERSION,
    app_problems,
    evaluate,
    pod_problems,
    recent_warnings,
    summary_line,
    wait_until_ready,
)
from ansible_collections.titanium.platform.plugins.module_utils.k8s import (
    KUBERNETES_ARGS,
    api_client,
)

try:
    from kubernetes import client as k8s_client
    from kubernetes.client.rest import ApiException

    KUBERNETES_IMPORT_ERROR = None
except ImportError:
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()


def diagnose(api, apps, states, namespaces, events_limit):
    core = k8s_client.CoreV1Api(api)
    not_ready = {s.name for s in states if not s.ready()}
    pods, events = [], []
    for namespace in namespaces or [None]:
        if namespace:
            pods += core.list_namespaced_pod(namespace).to_dict()["items"]
            events += core.list_namespaced_event(namespace).to_dict()["items"]
        else:
            pods += core.list_pod_for_all_namespaces().to_dict()["items"]
            events += core.list_event_for_all_namespaces().to_dict()["items"]
    serialize = api.sanitize_for_serialization
    return {
        "applications": [app_problems(a) for a in apps if a["metadata"]["name"] in not_ready],
        "pods": pod_problems(serialize(pods)),
        "events": recent_warnings(serialize(events), events_limit),
    }


def render_diagnostics(diagnostics: dict) -> str:
    lines = []
    for app in diagnostics["applications"]:
        lines.append(f"application {app['name']}: operation {app['operation']['phase']}")
        lines += [f"  condition {c['type']}: {c['message']}" for c in app["conditions"]]
        lines += [
            f"  {r['kind']} {r['namespace']}/{r['name']}: {r['sync']}/{r['health']} {r['message']}"
            for r in app["resources"]
        ]
    lines += [
        f"pod {p['namespace']}/{p['name']}: {p['phase']} {'; '.join(p['containers'])}"
        f" (restarts {p['restarts']})"
        for p in diagnostics["pods"]
    ]
    lines += [
        f"event {e['time']} {e['namespace']} {e['object']}: {e['reason']} {e['message']}"
        for e in diagnostics["events"]
    ]
    return "\n".join(lines)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "namespace": {"type": "str", "default": "argocd"},
            "names": {"type": "list", "elements": "str", "default": []},
            "min_count": {"type": "int", "default": 1},
            "require_sync": {"type": "bool", "default": True},
            "require_health": {"type": "bool", "default": True},
            "timeout": {"type": "int", "default": 600},
            "interval": {"type": "int", "default": 5},
            "diagnostics_namespaces": {"type": "list", "elements": "str", "default": []},
            "events_limit": {"type": "int", "default": 20},
            **KUBERNETES_ARGS,
        },
        supports_check_mode=True,
    )
    if KUBERNETES_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    p = module.params
    criteria = {
        "names": p["names"],
        "require_sync": p["require_sync"],
        "require_health": p["require_health"],
        "min_count": p["min_count"],
    }
    try:
        api = api_client(p["kubeconfig"], p["context"])
        custom = k8s_client.CustomObjectsApi(api)

        def list_apps() -> list[dict]:
            listing = custom.list_namespaced_custom_object(GROUP, VERSION, p["namespace"], PLURAL)
            return listing.get("items", [])

        ready, apps, waited = wait_until_ready(list_apps, p["timeout"], p["interval"], **criteria)
        states, missing = evaluate(apps, **criteria)[1:]
        result = {
            "changed": False,
            "applications": [s.as_dict() for s in states],
            "missing": missing,
            "waited_seconds": round(waited, 1),
        }
        if ready:
            module.exit_json(**result)
        diagnostics = diagnose(api, apps, states, p["diagnostics_namespaces"], p["events_limit"])
    except ApiException as error:
        module.fail_json(
            msg=f"Kubernetes API error {error.status} {error.reason}: {error.body}", changed=False
        )
    except Exception as error:  # the kubeconfig, the network: say which, not a traceback
        module.fail_json(msg=f"cannot read Argo CD Applications: {error}", changed=False)
    module.fail_json(
        msg=(
            f"Argo CD Applications not Synced and Healthy after {p['timeout']}s in namespace "
            f"{p['namespace']}: {summary_line(states, missing)}\n"
            f"{render_diagnostics(diagnostics)}"
        ),
        diagnostics=diagnostics,
        **result,
    )


if __name__ == "__main__":
    main()
