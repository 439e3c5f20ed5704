"""The render tier: every environment rendered and validated (make validate)."""

from __future__ import annotations

import json

import pytest
import yaml

from ansible_collections.titanium.platform.plugins.module_utils import gitops_render as gitops
from titanium_tools import inventory
from titanium_tools import validate as gitops_validate


@pytest.fixture(scope="module")
def report():
    return gitops_validate.validate()


def test_every_environment_renders_and_validates_with_no_problem(report):
    assert report.errors == []
    assert report.counts["objects"] > 200
    assert report.counts["builtin"] > 100


def test_rendering_twice_is_byte_identical_on_disk(tmp_path):
    for env in inventory.environments():
        gitops.write_tree(inventory.render(env), tmp_path / "a" / env)
        gitops.write_tree(inventory.render(env), tmp_path / "b" / env)
    first = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in files(tmp_path / "a")}
    second = {p.relative_to(tmp_path / "b"): p.read_bytes() for p in files(tmp_path / "b")}
    assert len(first) > 150
    assert first == second


def files(root):
    return [p for p in root.rglob("*") if p.is_file()]


def test_the_shared_base_is_identical_for_every_environment():
    bases = [
        {
            path: text
            for path, text in inventory.render(env).items()
            if path.startswith("services/base/")
        }
        for env in inventory.environments()
    ]
    assert bases[0] and bases[0] == bases[1] == bases[2]


def test_every_secret_the_manifests_name_is_listed_in_secrets_yml():
    listed = {
        s["name"]: {item["key"] for item in s["data"]} for s in gitops.common_values()["secrets"]
    }
    used = set()
    for env in inventory.environments():
        for text in inventory.render(env).values():
            for doc in yaml.safe_load_all(text):
                walk(doc, used)
    assert used, "the manifests reference no Secret at all"
    for name, key in sorted(used, key=str):
        assert name in listed, f"Secret {name} is used but not listed in gitops/secrets.yml"
        assert key is None or key in listed[name], f"{name} has no key {key} in secrets.yml"
    # The optional ones are named only while they are configured (test_next_signing_key.py).
    required = {s["name"] for s in gitops.common_values()["secrets"] if not s.get("optional")}
    assert {name for name, _ in used} == required, "secrets.yml lists a Secret nothing uses"


def walk(node, found):
    if isinstance(node, dict):
        if "secretKeyRef" in node:
            found.add((node["secretKeyRef"]["name"], node["secretKeyRef"]["key"]))
        if "secretName" in node:
            found.add((node["secretName"], None))
        for value in node.values():
            walk(value, found)
    elif isinstance(node, list):
        for value in node:
            walk(value, found)


def test_loadgen_is_on_in_local_and_staging_only():
    for env, wanted in (("local", True), ("staging", True), ("production", False)):
        files = inventory.render(env)
        assert (f"argocd/{env}/apps/loadgen.yaml" in files) is wanted
        assert (f"services/overlays/{env}/loadgen/kustomization.yaml" in files) is wanted


def test_every_alert_has_a_runbook_url_and_a_promtool_test():
    rules = yaml.safe_load(
        inventory.render("production")["platform/production/monitoring/prometheusrules.yaml"]
    )
    alerts = [r for g in rules["spec"]["groups"] for r in g["rules"] if "alert" in r]
    tests = gitops_validate.ALERT_TESTS.read_text()
    for rule in alerts:
        assert rule["annotations"]["runbook_url"].startswith(
            gitops.common_values()["runbook_base_url"]
        )
        assert f"alertname: {rule['alert']}" in tests or f"('{rule['alert']}'" in tests, rule[
            "alert"
        ]
    assert {r["alert"] for r in alerts} >= {
        "HighErrorRate",
        "HighLatency",
        "ServiceDown",
        "RateLimitHits",
        "PodRestarting",
        "PostgreSQLDown",
        "RedisDown",
        "ArgoAppDegraded",
        "ArgoAppOutOfSync",
    }


def test_dashboards_are_json_with_unique_uids_across_environments():
    uids = []
    for env in inventory.environments():
        for path, text in inventory.render(env).items():
            if "/dashboards/" in path:
                (configmap,) = yaml.safe_load_all(text)
                for body in configmap["data"].values():
                    uids.append(json.loads(body)["uid"])
    # Three per environment, and Bookinfo's where it runs (local, staging).
    assert len(uids) == 11 and len(set(uids)) == 11
