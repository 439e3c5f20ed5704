"""Each validation step rejects what it exists to reject, so a green
`make validate` means something."""

from __future__ import annotations

import copy
import json
import secrets
from pathlib import Path

import yaml

from tests.support.tokens import fresh_private_key_pem
from titanium_tools import inventory
from titanium_tools import validate as v


def objects_of(env: str, relative: str) -> list[tuple[str, dict]]:
    text = inventory.render(env)[relative]
    return [(relative, doc) for doc in yaml.safe_load_all(text)]


def test_secret_scan_finds_planted_secrets_and_nothing_in_the_real_tree():
    assert v.scan_secrets(inventory.render("production")) == []
    # Every planted value is made now, so none stands in Git.
    key_lines = fresh_private_key_pem().splitlines()
    planted = {
        "a.yaml": f"password: {secrets.token_urlsafe(12)}\n",
        "b.yaml": "key: |\n" + "".join(f"  {line}\n" for line in key_lines),
        "c.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n",
        "d.yaml": f"url: https://bob:{secrets.token_hex(8)}@git.example.com/r.git\n",
        "e.yaml": f"token: ghp_{secrets.token_hex(18)}\n",
    }
    findings = v.scan_secrets(planted)
    for name in planted:
        assert any(f.startswith(name) for f in findings), name


def test_strict_schema_rejects_a_bad_deployment():
    (_, deployment), *_ = objects_of("local", "services/base/blog-service/deployment.yaml")
    checker = v.BuiltinValidator(v.kubernetes_version())
    assert checker.errors(deployment) == []
    broken = copy.deepcopy(deployment)
    broken["spec"]["replicas"] = "two"
    del broken["spec"]["template"]["spec"]["containers"][0]["name"]
    broken["spec"]["unknownField"] = True
    errors = checker.errors(broken)
    assert len(errors) >= 3, errors


def test_crd_schemas_reject_a_bad_gateway_and_application(tmp_path):
    gateway = objects_of("local", "platform/local/mesh/gateway.yaml")[0]
    root = ("root", yaml.safe_load(inventory.render("local")["argocd/local/root.yaml"]))
    report = v.Report()
    v.validate_custom([gateway, root], tmp_path, report)
    assert report.errors == []
    bad_gateway = copy.deepcopy(gateway[1])
    bad_gateway["spec"]["servers"][0]["port"]["number"] = "eighty"
    bad_root = copy.deepcopy(root[1])
    bad_root["spec"]["syncPolicy"]["retry"]["limit"] = "five"
    v.validate_custom([("g", bad_gateway), ("r", bad_root)], tmp_path, report)
    assert len(report.errors) == 1
    assert (
        "Gateway/titanium" in report.errors[0] and "Application/titanium-root" in report.errors[0]
    )


def test_promtool_unit_tests_catch_a_weakened_alert(tmp_path):
    (source, rule), *_ = objects_of("staging", "platform/staging/monitoring/prometheusrules.yaml")
    report = v.Report()
    rules, exprs = v.rule_files("staging", [(source, rule)], tmp_path, report)
    report.errors.clear()  # no dashboards in this slice
    v.promtool({"staging": (rules, exprs)}, tmp_path, report)
    assert report.errors == []
    weakened = copy.deepcopy(rule)
    for group in weakened["spec"]["groups"]:
        for r in group["rules"]:
            if r["alert"] == "HighErrorRate":
                r["expr"] = r["expr"].replace("> 0.05", "> 0.5")
    rules, exprs = v.rule_files("staging", [(source, weakened)], tmp_path, report)
    report.errors.clear()
    v.promtool({"staging": (rules, exprs)}, tmp_path, report)
    assert any("promtool test" in e and "HighErrorRate" in e for e in report.errors), report.errors


def test_dashboard_queries_that_do_not_parse_are_reported(tmp_path):
    objects = objects_of("local", "platform/local/monitoring/dashboards/golden-signals.yaml")
    (_, configmap), *_ = objects
    key, body = next(iter(configmap["data"].items()))
    dashboard = json.loads(body)
    dashboard["panels"][0]["targets"][0]["expr"] = "sum(rate(http_requests_total[5m]"
    configmap["data"][key] = json.dumps(dashboard)
    report = v.Report()
    _, exprs = v.rule_files("local", objects, tmp_path, report)
    result = v.run(["promtool", "check", "rules", str(exprs)])
    assert result.returncode != 0
    assert "parse error" in (result.stdout + result.stderr)


def test_checkov_fails_a_privileged_pod(tmp_path):
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "bad", "namespace": "titanium-local"},
        "spec": {
            "containers": [{"name": "c", "image": "x:1", "securityContext": {"privileged": True}}]
        },
    }
    Path(tmp_path / "bad.yaml").write_text(yaml.safe_dump(manifest))
    report = v.Report()
    v.checkov_result(v.checkov(tmp_path, report), report)
    assert any("CKV_K8S_16" in e for e in report.errors), report.errors
