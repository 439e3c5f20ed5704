"""Rate-limit counters live in a Redis of their own, sized and evicting as the
gateway's fail-closed logins assume, and only the gateway reaches it."""

from __future__ import annotations

import pytest
import yaml

from titanium_tools import inventory

ENVIRONMENTS = ("local", "staging", "production")


def docs(rendered: dict[str, str], suffix: str) -> list[dict]:
    return [
        doc
        for path, text in rendered.items()
        if path.endswith(suffix)
        for doc in yaml.safe_load_all(text)
        if doc
    ]


def redis_args(rendered: dict[str, str]) -> dict[str, dict[str, str]]:
    found = {}
    for doc in docs(rendered, "data/redis.yaml"):
        if doc["kind"] == "Deployment":
            args = doc["spec"]["template"]["spec"]["containers"][0]["args"]
            flags = {args[i]: args[i + 1] for i in range(len(args) - 1) if args[i].startswith("--")}
            found[doc["metadata"]["name"]] = flags
    return found


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_limits_never_share_memory_with_the_cache(env):
    stores = redis_args(inventory.render(env))
    assert stores["redis"]["--maxmemory-policy"] == "allkeys-lru"
    # Evicting a counter would let a flood of one-off keys reset a guesser's count.
    assert stores["redis-ratelimit"]["--maxmemory-policy"] == "noeviction"
    assert all("--maxmemory" in flags for flags in stores.values())


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_only_the_gateway_reaches_the_limits_through_the_network(env):
    rendered = inventory.render(env)
    policy = next(
        doc
        for doc in docs(rendered, "network/workloads.yaml")
        if doc["metadata"]["name"] == "redis-ratelimit"
    )
    sources = [
        peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
        for rule in policy["spec"]["ingress"]
        for peer in rule["from"]
    ]
    assert sources == ["api-gateway"]  # the mesh's side: test_mesh_authorization.py
