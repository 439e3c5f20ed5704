"""Istio's AuthorizationPolicy decision for one request, as the sidecar takes it.

A test helper, not a reimplementation of Envoy's RBAC filter: it covers the
fields Titanium's policies use (principals, namespaces, ports, paths, methods)
and refuses any other field, so a policy it cannot judge fails the test instead
of being judged wrongly. Semantics from Istio's reference: CUSTOM and DENY
policies are checked before ALLOW; with no ALLOW policy selecting the workload
the request is allowed; otherwise some rule of some ALLOW policy must match. A
rule matches when one of its sources and one of its operations match; a policy
without rules matches nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCE_FIELDS = {"principals", "notPrincipals", "namespaces", "notNamespaces"}
OPERATION_FIELDS = {"ports", "notPorts", "paths", "notPaths", "methods", "notMethods"}


class UnsupportedPolicy(ValueError):
    """The policy uses a field this helper does not evaluate."""


@dataclass(frozen=True)
class Request:
    principal: str
    port: int
    path: str
    method: str = "GET"

    @property
    def namespace(self) -> str:
        # cluster.local/ns/<namespace>/sa/<service account>
        return self.principal.split("/")[2]


def value_matches(pattern: str, value: str) -> bool:
    """Istio's string match: exact, "*", "prefix*" or "*suffix"."""
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    return value == pattern


def _field(spec: dict, positive: str, value: str) -> bool:
    negative = "not" + positive[0].upper() + positive[1:]
    if positive in spec and not any(value_matches(p, value) for p in spec[positive]):
        return False
    return not any(value_matches(p, value) for p in spec.get(negative, []))


def source_matches(source: dict, request: Request) -> bool:
    unknown = set(source) - SOURCE_FIELDS
    if unknown:
        raise UnsupportedPolicy(f"source fields {sorted(unknown)}")
    return _field(source, "principals", request.principal) and _field(
        source, "namespaces", request.namespace
    )


def operation_matches(operation: dict, request: Request) -> bool:
    unknown = set(operation) - OPERATION_FIELDS
    if unknown:
        raise UnsupportedPolicy(f"operation fields {sorted(unknown)}")
    return (
        _field(operation, "ports", str(request.port))
        and _field(operation, "paths", request.path)
        and _field(operation, "methods", request.method)
    )


def rule_matches(rule: dict, request: Request) -> bool:
    if "when" in rule:
        raise UnsupportedPolicy("conditions (when)")
    sources = [entry["source"] for entry in rule.get("from", [])]
    operations = [entry["operation"] for entry in rule.get("to", [])]
    return (not sources or any(source_matches(s, request) for s in sources)) and (
        not operations or any(operation_matches(o, request) for o in operations)
    )


def selects(policy: dict, labels: dict) -> bool:
    wanted = policy["spec"].get("selector", {}).get("matchLabels", {})
    return all(labels.get(key) == value for key, value in wanted.items())


def allowed(policies: list[dict], workload_labels: dict, request: Request) -> bool:
    """Whether the workload's sidecar lets `request` through."""
    applying = [p for p in policies if selects(p, workload_labels)]
    by_action: dict[str, list[dict]] = {"ALLOW": [], "DENY": []}
    for policy in applying:
        action = policy["spec"].get("action", "ALLOW")
        if action not in by_action:
            raise UnsupportedPolicy(f"action {action} in {policy['metadata']['name']}")
        by_action[action].append(policy)
    for policy in by_action["DENY"]:
        if any(rule_matches(rule, request) for rule in policy["spec"].get("rules", [])):
            return False
    if not by_action["ALLOW"]:
        return True
    return any(
        rule_matches(rule, request)
        for policy in by_action["ALLOW"]
        for rule in policy["spec"].get("rules", [])
    )
