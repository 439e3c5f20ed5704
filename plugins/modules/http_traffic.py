#!/usr/bin/python
# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drive read traffic at a fixed rate for a fixed window, and count the answers."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: http_traffic
short_description: Send GET requests at a fixed rate for a fixed window and count the answers
description:
  - Sends O(rate) GET requests per second for O(seconds), cycling through O(paths), and
    returns how each was answered. The schedule is open-loop (request I(n) leaves at
    I(n)/O(rate) seconds whether or not the earlier ones were answered), so a slow service
    sees the same load as a fast one and the rate stays the one asked for.
  - Meant for what verify reads afterwards, so that the Golden Signals Prometheus records
    over the window describe this traffic, not whatever happened to reach the platform.
  - Reads only (GET); nothing is written, so check mode runs the same requests.
  - Reaches O(url), or O(service) through the Kubernetes API server's service proxy when
    the target has no address reachable from here (no NodePort).
  - Uses httpx, a maintained HTTP client, for the connections, framing and TLS.
version_added: "0.2.0"
author: Titanium contributors (@titanium-platform)
options:
  url:
    description:
      - Base URL the paths are appended to, e.g. C(http://192.0.2.11:31304).
      - Empty or unset reaches O(service) through the Kubernetes API server.
    type: str
  service:
    description:
      - The Service as C(<namespace>/<name>:<port>) (the port by number or name), reached through
        the API server's service proxy when O(url) is empty.
    type: str
  kubeconfig:
    description: Kubeconfig for O(service); unset uses C(KUBECONFIG) or C(~/.kube/config).
    type: path
  context:
    description: Kubeconfig context for O(service); unset uses the current one.
    type: str
  host:
    description: Host header to send (the hostname the ingress routes on); unset is the URL's.
    type: str
  paths:
    description: Paths to request in turn, each starting with C(/).
    type: list
    elements: str
    required: true
  seconds:
    description: How long to send, in seconds.
    type: float
    required: true
  rate:
    description: Requests per second.
    type: float
    default: 5
  timeout:
    description: Seconds to wait for each answer.
    type: float
    default: 10
  max_failed_percent:
    description:
      - Fail when more than this share of the requests failed (no answer, or a 5xx).
        A 4xx is an answer (a missing page is the service working), not a failure.
    type: float
    default: 0
requirements:
  - httpx
  - kubernetes (Python client), for O(service)
notes:
  - Supports check mode (sends the same reads); never reports a change.
"""

EXAMPLES = r"""
- name: One minute of reads through the ingress at 5 requests per second
  titanium.platform.http_traffic:
    url: http://192.0.2.11:31304
    host: titanium.localhost
    paths: [/blog/, /api/posts, /api/categories, /api/auth/.well-known/jwks.json, /health/ready]
    seconds: 60
    rate: 5
  register: traffic

- name: The same where the ingress gateway has no NodePort
  titanium.platform.http_traffic:
    service: istio-system/istio-ingressgateway:http2
    kubeconfig: ~/.kube/titanium-production.yaml
    host: titanium.example.com
    paths: [/blog/, /health/ready]
    seconds: 60
"""

RETURN = r"""
sent:
  description: Requests sent.
  returned: always
  type: int
  sample: 300
answered:
  description: Requests that got an answer (any status).
  returned: always
  type: int
failures:
  description: Requests without an answer or answered with a 5xx.
  returned: always
  type: int
failed_percent:
  description: RV(failures) as a share of RV(sent), in percent.
  returned: always
  type: float
seconds:
  description: How long sending took, from the first request out to the last answer.
  returned: always
  type: float
rate:
  description: >-
    The rate achieved: requests sent per second of the schedule (from the first request
    out to one interval after the last).
  returned: always
  type: float
statuses:
  description: Answers by status code (C(error) for no answer).
  returned: always
  type: dict
  sample: {"200": 298, "error": 2}
paths:
  description: Per path, answers by status code.
  returned: always
  type: dict
  sample: {"/blog/": {"200": 60}}
errors:
  description: The first few failures, each with the path and what went wrong.
  returned: always
  type: list
  elements: dict
target:
  description: Where the traffic went (the URL, or the Service through the API server).
  returned: always
  type: str
"""

import asyncio
import ssl
import time
import traceback
from collections import Counter, defaultdict

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.titanium.platform.plugins.module_utils.service_proxy import (
    Endpoint,
    ServiceNameError,
    describe,
    through_api,
)

try:
    import httpx

    HTTPX_ERROR = None
except ImportError:
    HTTPX_ERROR = traceback.format_exc()

# Failures kept word for word in the result; the rest are only counted.
ERRORS_KEPT = 10


def _tls(endpoint: Endpoint) -> ssl.SSLContext | bool:
    if endpoint.url.startswith("http://"):
        return True
    context = ssl.create_default_context(cafile=endpoint.ca_path)
    if endpoint.client_cert:
        context.load_cert_chain(endpoint.client_cert, endpoint.client_key)
    if not endpoint.validate_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


async def drive(
    endpoint: Endpoint,
    host: str | None,
    paths: list[str],
    seconds: float,
    rate: float,
    answer_seconds: float,
) -> dict:
    headers = {"Host": host} if host else {}
    if endpoint.authorization:
        headers["Authorization"] = endpoint.authorization
    statuses: Counter[str] = Counter()
    by_path: dict[str, Counter[str]] = defaultdict(Counter)
    errors: list[dict] = []
    total = max(1, int(seconds * rate))
    # Enough connections for every request that may be in flight at once.
    limits = httpx.Limits(max_connections=max(4, int(rate * answer_seconds) + 1))

    async def one(client: httpx.AsyncClient, path: str) -> None:
        try:
            answer = await client.get(endpoint.url.rstrip("/") + path)
            outcome = str(answer.status_code)
            if answer.status_code >= 500:
                errors.append(
                    {"path": path, "status": answer.status_code, "error": answer.text[:200]}
                )
        except httpx.HTTPError as error:
            outcome = "error"
            errors.append(
                {"path": path, "status": None, "error": f"{type(error).__name__}: {error}"}
            )
        statuses[outcome] += 1
        by_path[path][outcome] += 1

    async with httpx.AsyncClient(
        headers=headers,
        verify=_tls(endpoint),
        timeout=answer_seconds,
        limits=limits,
        # A TLS environment's plain-HTTP port redirects to https://<hostname>/.
        follow_redirects=True,
    ) as client:
        began = time.monotonic()
        tasks = []
        for n in range(total):
            delay = began + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(client, paths[n % len(paths)])))
        scheduled = time.monotonic() - began + 1 / rate
        await asyncio.gather(*tasks)
        took = time.monotonic() - began
    failed = statuses["error"] + sum(n for s, n in statuses.items() if s[:1] == "5")
    return {
        "sent": total,
        "answered": total - statuses["error"],
        "failures": failed,
        "failed_percent": round(100.0 * failed / total, 2),
        "seconds": round(took, 2),
        "rate": round(total / scheduled, 2),
        "statuses": dict(sorted(statuses.items())),
        "paths": {p: dict(sorted(c.items())) for p, c in sorted(by_path.items())},
        "errors": errors[:ERRORS_KEPT],
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str"},
            "service": {"type": "str"},
            "kubeconfig": {"type": "path"},
            "context": {"type": "str"},
            "host": {"type": "str"},
            "paths": {"type": "list", "elements": "str", "required": True},
            "seconds": {"type": "float", "required": True},
            "rate": {"type": "float", "default": 5.0},
            "timeout": {"type": "float", "default": 10.0},
            "max_failed_percent": {"type": "float", "default": 0.0},
        },
        required_one_of=[("url", "service")],
        supports_check_mode=True,
    )
    if HTTPX_ERROR:
        module.fail_json(msg=missing_required_lib("httpx"), exception=HTTPX_ERROR)
    p = module.params
    bad = [path for path in p["paths"] if not path.startswith("/")]
    if not p["paths"] or bad:
        module.fail_json(
            msg="paths must be a non-empty list of paths, each starting with '/'; "
            f"got {bad or p['paths']}"
        )
    if p["seconds"] <= 0 or p["rate"] <= 0:
        module.fail_json(
            msg=f"seconds and rate must be above 0; got seconds={p['seconds']}, rate={p['rate']}"
        )
    if p["url"]:
        endpoint, target = Endpoint(p["url"]), p["url"]
    elif p["service"]:
        target = describe(p["service"])
        try:
            endpoint = through_api(p["service"], p["kubeconfig"], p["context"])
        except ServiceNameError as error:
            module.fail_json(msg=f"service: {error}")
        except Exception as error:  # the kubernetes client's config errors have no common base
            module.fail_json(
                msg=f"cannot reach {target}: the kubeconfig could not be loaded: {error}"
            )
    else:
        module.fail_json(msg="set url, or service to reach it through the Kubernetes API server")
    result = asyncio.run(
        drive(endpoint, p["host"], p["paths"], p["seconds"], p["rate"], p["timeout"])
    )
    result.update(changed=False, target=target)
    if result["answered"] == 0 or result["failed_percent"] > p["max_failed_percent"]:
        worst = Counter(e["path"] for e in result["errors"]).most_common(3)
        module.fail_json(
            msg=(
                f"{result['failures']} of {result['sent']} requests to {target} failed "
                f"({result['failed_percent']} %, more than {p['max_failed_percent']} %); "
                f"answers {result['statuses']}; failing paths first: "
                + ", ".join(f"{path} ({n})" for path, n in worst)
                + (f"; first: {result['errors'][0]['error']}" if result["errors"] else "")
            ),
            **result,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
