"""The platform roles' templates - Helm values and Kubernetes objects - rendered by
ansible-playbook from the roles' defaults alone and from each inventory
(tests/support/role_templates.py), then checked: Kubernetes objects against the
Kubernetes schema (kubernetes-validate, strict), Helm values against what the roles
promise (NodePorts, selectors, token auth, retention, secrets only by reference).
That every variable a template reads is documented: tests/unit/test_roles_platform.py."""

from __future__ import annotations

import base64
import re
import secrets
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.support.role_templates import (
    FAKE_SECRETS,
    ROLES,
    SOURCES,
    environment_of,
    render,
    resolve,
    text,
    values,
)
from tests.support.tokens import fresh_private_key_pem
from titanium_tools.validate import kubernetes_version

REPO_ROOT = Path(__file__).resolve().parents[2]
# The schemas of the Kubernetes minor k3s ships (the versions role).
KUBERNETES_VERSION = kubernetes_version() + ".0"
OBJECT_TEMPLATES = {
    "blog_secrets": ["secrets.yaml.j2"],
    "istio": ["namespaces.yaml.j2"],
    "monitoring": ["namespace.yaml.j2", "secrets.yaml.j2"],
    "logging": ["loki-datasource.yaml.j2"],
    "tracing": ["jaeger-datasource.yaml.j2"],
    "argocd": ["argocd-cm.yaml.j2", "secrets.yaml.j2"],
    "gitserver": ["gitserver.yaml.j2"],
    "verify": [],
}


def values_templates(role: str) -> list[str]:
    return sorted(
        p.name for p in (REPO_ROOT / "roles" / role / "templates").glob("*-values.yaml.j2")
    )


# --- Kubernetes objects -------------------------------------------------------------


OBJECT_CASES = [
    (role, template, source)
    for role, templates in OBJECT_TEMPLATES.items()
    for template in templates
    for source in SOURCES
]


@pytest.mark.parametrize(("role", "template", "source"), OBJECT_CASES)
def test_kubernetes_objects_are_valid_against_the_schema(role, template, source):
    objects = render(role, template, source)
    assert objects, f"{role}/{template} rendered nothing"
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        assert obj["metadata"]["name"]


@pytest.mark.parametrize(("role", "source"), [(r, s) for r in ROLES for s in SOURCES])
def test_every_values_template_renders_to_a_mapping(role, source):
    for template in values_templates(role):
        assert isinstance(values(role, template, source), dict), template


# --- Secrets only by reference ------------------------------------------------------


@pytest.mark.parametrize(("role", "source"), [(r, s) for r in ROLES for s in SOURCES])
def test_no_secret_value_appears_in_any_helm_values(role, source):
    for template in values_templates(role):
        text = yaml.safe_dump(values(role, template, source))
        for name, secret in FAKE_SECRETS.items():
            assert secret not in text, f"{role}/{template} carries {name} in plain text"


def secret_data(objects: list[dict], name: str) -> dict[str, str]:
    (secret,) = [o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == name]
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


@pytest.mark.parametrize("source", SOURCES)
def test_grafana_reads_its_admin_from_the_vaulted_secret(source):
    chart = values("monitoring", "kube-prometheus-stack-values.yaml.j2", source)
    assert chart["grafana"]["admin"] == {
        "existingSecret": "grafana-admin",
        "userKey": "admin-user",
        "passwordKey": "admin-password",
    }
    assert "adminPassword" not in chart["grafana"]
    data = secret_data(render("monitoring", "secrets.yaml.j2", source), "grafana-admin")
    assert data["admin-password"] == FAKE_SECRETS["vault_grafana_admin_password"]


@pytest.mark.parametrize("source", SOURCES)
def test_argocd_admin_password_is_stored_as_a_bcrypt_hash_of_the_vaulted_one(source):
    import bcrypt

    data = secret_data(render("argocd", "secrets.yaml.j2", source), "argocd-secret")
    stored = data["admin.password"]
    assert stored.startswith("$2b$10$")
    assert bcrypt.checkpw(FAKE_SECRETS["vault_argocd_admin_password"].encode(), stored.encode())


@pytest.mark.parametrize("source", SOURCES)
def test_argocd_repository_secret(source):
    objects = render("argocd", "secrets.yaml.j2", source)
    (repo,) = [o for o in objects if o["metadata"]["name"] == "titanium-gitops-repository"]
    assert repo["metadata"]["labels"]["argocd.argoproj.io/secret-type"] == "repository"
    data = secret_data(objects, "titanium-gitops-repository")
    assert data["type"] == "git"
    if source in ("staging", "production"):
        assert data["url"] == resolve("argocd", source, "gitops_repo_url")
        assert data["url"].startswith("https://")
        assert data["password"] == FAKE_SECRETS["vault_gitops_repo_token"]
        assert data["username"] == "git"
    else:
        gitea = resolve("argocd", source, "gitserver_repository")
        assert (data["url"], data["username"]) == (gitea["clone_url"], "titanium")
        assert data["password"] == FAKE_SECRETS["vault_gitea_admin_password"]
        if source != "rehearsal":  # the rehearsal's Gitea is a process on the host
            assert data["url"].startswith("http://gitserver.titanium-git.svc.cluster.local/")


def test_argocd_reads_the_in_cluster_gitea_with_its_admin():
    repository = {
        "push_url": "http://127.0.0.1:30030/titanium/x.git",
        "clone_url": "http://gitserver.titanium-git.svc.cluster.local/titanium/x.git",
        "username": "titanium",
        "password": "gitea-pass",
    }
    objects = render("argocd", "secrets.yaml.j2", "local", {"gitserver_repository": repository})
    data = secret_data(objects, "titanium-gitops-repository")
    assert data["url"] == repository["clone_url"]
    assert (data["username"], data["password"]) == ("titanium", "gitea-pass")


@pytest.mark.parametrize("source", SOURCES)
def test_gitea_admin_only_by_secret_reference(source):
    chart = values("gitserver", "gitea-values.yaml.j2", source)
    assert chart["gitea"]["admin"]["existingSecret"] == "gitea-admin"
    assert "password" not in chart["gitea"]["admin"]
    objects = render("gitserver", "gitserver.yaml.j2", source)
    assert secret_data(objects, "gitea-admin")["username"] == "titanium"
    (service,) = [o for o in objects if o["kind"] == "Service"]
    assert service["metadata"]["name"] == "gitserver"
    assert service["spec"]["ports"][0]["port"] == 80
    assert chart["service"]["http"]["nodePort"] == 30030


@pytest.mark.parametrize("source", SOURCES)
def test_every_secret_the_gitops_tree_names_is_created_from_the_vault(source):
    catalog = yaml.safe_load((REPO_ROOT / "gitops/secrets.yml").read_text())["secrets"]
    objects = render("blog_secrets", "secrets.yaml.j2", source)
    namespace = f"titanium-{environment_of(source)}"
    assert {o["metadata"]["namespace"] for o in objects if o["kind"] == "Secret"} == {namespace}
    for entry in catalog:
        if entry.get("optional"):
            continue  # test_an_optional_secret_exists_only_while_the_vault_holds_it
        data = secret_data(objects, entry["name"])
        assert set(data) == {item["key"] for item in entry["data"]}
        for item in entry["data"]:
            assert data[item["key"]] == FAKE_SECRETS[f"vault_{item['from']}"], (entry["name"], item)


@pytest.mark.parametrize("source", SOURCES)
def test_an_optional_secret_exists_only_while_the_vault_holds_it(source):
    def names(extra=None):
        objects = render("blog_secrets", "secrets.yaml.j2", source, extra)
        return {o["metadata"]["name"] for o in objects if o["kind"] == "Secret"}

    assert "titanium-auth-next-signing-key" not in names()
    assert "titanium-auth-signing-key" in names()
    upcoming = fresh_private_key_pem()
    # The vars plugin maps the plain name from the vault, for every source.
    rotating = {"vault_auth_next_signing_key": upcoming}
    objects = render("blog_secrets", "secrets.yaml.j2", source, rotating)
    assert secret_data(objects, "titanium-auth-next-signing-key") == {"private-key.pem": upcoming}


@pytest.mark.parametrize("source", SOURCES)
def test_registry_credentials_become_a_docker_config_pull_secret_only_when_vaulted(source):
    def registry_secret(extra=None):
        objects = render("blog_secrets", "secrets.yaml.j2", source, extra)
        return [o for o in objects if o["metadata"]["name"] == "titanium-registry"]

    assert registry_secret() == []
    auth = '{"auths": {"ghcr.io": {"auth": "Y2k6cGFzcw=="}}}'
    given = {"vault_image_registry_auth": auth}
    (secret,) = registry_secret(given)
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    assert secret_data([secret], "titanium-registry") == {".dockerconfigjson": auth}


# --- What each chart is promised ----------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
def test_istio_gateway_mesh_config_and_kiali(source):
    gateway = values("istio", "istio-gateway-values.yaml.j2", source)
    ports = {p["name"]: p for p in gateway["service"]["ports"]}
    assert gateway["service"]["type"] == "NodePort"
    assert ports["http2"]["nodePort"] == 31304
    mesh = values("istio", "istiod-values.yaml.j2", source)["meshConfig"]
    assert mesh["accessLogEncoding"] == "JSON"
    assert mesh["accessLogFile"] == "/dev/stdout"
    assert mesh["enablePrometheusMerge"] is True
    kiali = values("istio", "kiali-values.yaml.j2", source)
    assert kiali["auth"]["strategy"] == "token"
    namespaces = {o["metadata"]["name"]: o for o in render("istio", "namespaces.yaml.j2", source)}
    blog = namespaces[f"titanium-{environment_of(source)}"]
    assert blog["metadata"]["labels"]["istio-injection"] == "enabled"


@pytest.mark.parametrize("source", SOURCES)
def test_prometheus_selects_every_monitor_and_rule_and_sizes_per_environment(source):
    chart = values("monitoring", "kube-prometheus-stack-values.yaml.j2", source)
    spec = chart["prometheus"]["prometheusSpec"]
    for kind in ("serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig"):
        assert spec[f"{kind}SelectorNilUsesHelmValues"] is False, kind
    expected = {"local": "2d", "staging": "7d", "production": "15d"}[environment_of(source)]
    assert spec["retention"] == expected
    if environment_of(source) == "local":
        assert "storageSpec" not in spec
    else:
        claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
        assert re.fullmatch(r"\d+Gi", claim["resources"]["requests"]["storage"])


@pytest.mark.parametrize("source", SOURCES)
def test_console_nodeports_where_the_environment_wants_them(source):
    chart = values("monitoring", "kube-prometheus-stack-values.yaml.j2", source)
    services = {
        "grafana": chart["grafana"]["service"],
        "prometheus": chart["prometheus"]["service"],
        "alertmanager": chart["alertmanager"]["service"],
    }
    argocd = values("argocd", "argocd-values.yaml.j2", source)["server"]["service"]
    if environment_of(source) != "local":
        # No login on Prometheus and Alertmanager, plain HTTP on all four: outside
        # local they are reached through kubectl port-forward, never a NodePort.
        assert {s["type"] for s in [*services.values(), argocd]} == {"ClusterIP"}
    else:
        assert services["grafana"] == {"type": "NodePort", "nodePort": 30300}
        assert services["prometheus"] == {"type": "NodePort", "nodePort": 30090}
        assert services["alertmanager"] == {"type": "NodePort", "nodePort": 30093}
        assert argocd == {"type": "NodePort", "nodePortHttp": 30080}


@pytest.mark.parametrize("source", SOURCES)
def test_kiali_has_a_nodeport_in_local_only(source):
    kiali = values("istio", "kiali-values.yaml.j2", source)
    if environment_of(source) != "local":
        # A token login over plain HTTP: outside local Kiali is reached through
        # kubectl port-forward, never a NodePort.
        assert kiali["deployment"].get("service_type", "ClusterIP") == "ClusterIP"
        assert "node_port" not in kiali["server"]
    else:
        assert kiali["deployment"]["service_type"] == "NodePort"
        assert kiali["server"]["node_port"] == 30201
    assert "identity" not in kiali, "no certificate unless the inventory names one"


@pytest.mark.parametrize("source", ["staging", "production"])
def test_a_kiali_nodeport_outside_local_serves_tls_from_the_named_secret(source):
    extra = {"istio_kiali_nodeport": 30201, "istio_kiali_tls_secret": "kiali-tls"}
    kiali = values("istio", "kiali-values.yaml.j2", source, extra)
    assert kiali["server"]["node_port"] == 30201
    assert kiali["auth"]["strategy"] == "token"
    (mounted,) = kiali["deployment"]["custom_secrets"]
    assert mounted["name"] == "kiali-tls"
    assert kiali["identity"] == {
        "cert_file": f"{mounted['mount']}/tls.crt",
        "private_key_file": f"{mounted['mount']}/tls.key",
    }


@pytest.mark.parametrize("source", SOURCES)
def test_the_verify_summary_points_outside_local_to_port_forward(source):
    consoles = {c["name"]: c for c in resolve("verify", source, "verify_consoles")}
    kiali = consoles["Kiali"]["url"]
    if environment_of(source) == "local":
        assert kiali.endswith(":30201/kiali")
    else:
        assert "kubectl -n istio-system port-forward svc/kiali 20001" in kiali
        assert ":30201" not in kiali


@pytest.mark.parametrize("source", ["staging", "production"])
def test_an_argocd_nodeport_outside_local_serves_tls(source):
    extra = {"argocd_nodeport_enabled": True, "argocd_server_insecure": False}
    chart = values("argocd", "argocd-values.yaml.j2", source, extra)
    assert chart["configs"]["params"]["server.insecure"] is False
    assert chart["server"]["service"] == {"type": "NodePort", "nodePortHttps": 30080}


@pytest.mark.parametrize("source", SOURCES)
def test_dashboards_and_datasources_come_from_every_namespace(source):
    sidecar = values("monitoring", "kube-prometheus-stack-values.yaml.j2", source)["grafana"][
        "sidecar"
    ]
    assert sidecar["dashboards"]["searchNamespace"] == "ALL"
    assert sidecar["dashboards"]["label"] == "grafana_dashboard"
    assert sidecar["datasources"]["searchNamespace"] == "ALL"
    (_, datasource) = render("logging", "loki-datasource.yaml.j2", source)
    assert datasource["metadata"]["labels"][sidecar["datasources"]["label"]] == "1"
    provisioned = yaml.safe_load(datasource["data"]["loki-datasource.yaml"])
    assert provisioned["datasources"][0]["type"] == "loki"
    assert provisioned["datasources"][0]["url"] == "http://loki.monitoring.svc:3100"


def test_alertmanager_defaults_to_the_null_receiver():
    config = values("monitoring", "kube-prometheus-stack-values.yaml.j2", "defaults")
    config = config["alertmanager"]["config"]
    assert config["route"]["receiver"] == "null"
    assert [r["name"] for r in config["receivers"]] == ["null"]


def test_alertmanager_receivers_read_their_secrets_from_files():
    hook, slack, smtp = (secrets.token_hex(8) for _ in range(3))
    receivers = [
        {"name": "ops-hook", "type": "webhook", "url": f"https://hooks.example/{hook}"},
        {
            "name": "ops-slack",
            "type": "slack",
            "api_url": f"https://slack/{slack}",
            "channel": "#a",
        },
        {
            "name": "ops-mail",
            "type": "email",
            "to": "ops@example.com",
            "smarthost": "smtp.example.com:587",
            "auth_username": "am",
            "auth_password": smtp,
        },
    ]
    extra = {"monitoring_alertmanager_receivers": receivers}
    chart = values("monitoring", "kube-prometheus-stack-values.yaml.j2", "defaults", extra)
    text = yaml.safe_dump(chart)
    assert hook not in text and slack not in text and smtp not in text
    config = chart["alertmanager"]["config"]
    assert config["route"]["receiver"] == "ops-hook"
    by_name = {r["name"]: r for r in config["receivers"]}
    base = "/etc/alertmanager/secrets/alertmanager-receivers"
    assert by_name["ops-hook"]["webhook_configs"][0]["url_file"] == f"{base}/ops-hook-url"
    assert by_name["ops-slack"]["slack_configs"][0]["api_url_file"] == f"{base}/ops-slack-api-url"
    mail = by_name["ops-mail"]["email_configs"][0]
    assert mail["auth_password_file"] == f"{base}/ops-mail-auth-password"
    assert chart["alertmanager"]["alertmanagerSpec"]["secrets"] == ["alertmanager-receivers"]
    objects = render("monitoring", "secrets.yaml.j2", "defaults", extra)
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    data = secret_data(objects, "alertmanager-receivers")
    assert data == {
        "ops-hook-url": f"https://hooks.example/{hook}",
        "ops-slack-api-url": f"https://slack/{slack}",
        "ops-mail-auth-password": smtp,
    }


@pytest.mark.parametrize("source", ["local", "staging", "production"])
def test_each_environment_delivers_alerts_to_its_vaulted_receiver(source):
    """Not the silent null receiver: every environment routes to a receiver whose
    URL comes from the vault into the mounted Secret, never into the values."""
    url = FAKE_SECRETS["vault_alertmanager_receiver_url"]
    chart = values("monitoring", "kube-prometheus-stack-values.yaml.j2", source)
    assert url not in yaml.safe_dump(chart)
    config = chart["alertmanager"]["config"]
    (receiver,) = [r for r in config["receivers"] if r["name"] == config["route"]["receiver"]]
    assert receiver["name"] != "null"
    (setting,) = [c for key, cs in receiver.items() if key.endswith("_configs") for c in cs]
    (file_key,) = [key for key in setting if key.endswith("_file")]
    data = secret_data(render("monitoring", "secrets.yaml.j2", source), "alertmanager-receivers")
    assert data[setting[file_key].rpartition("/")[2]] == url


@pytest.mark.parametrize("source", SOURCES)
def test_loki_keeps_seven_days_in_one_binary_and_alloy_parses_json(source):
    loki = values("logging", "loki-values.yaml.j2", source)
    assert loki["deploymentMode"] == "SingleBinary"
    assert loki["loki"]["limits_config"]["retention_period"] == "168h"
    assert loki["loki"]["compactor"]["retention_enabled"] is True
    assert loki["singleBinary"]["replicas"] == 1
    assert all(loki[target]["replicas"] == 0 for target in ("read", "write", "backend"))
    alloy = values("logging", "alloy-values.yaml.j2", source)
    river = alloy["alloy"]["configMap"]["content"]
    assert "stage.json" in river
    for field in ("level", "service", "request_id", "trace_id", "status", "duration_ms"):
        assert re.search(rf"^\s+{field} = \"\",$", river, re.M), field
    assert 'url = "http://loki.monitoring.svc:3100/loki/api/v1/push"' in river
    assert river.count("{") == river.count("}")


@pytest.mark.parametrize("source", SOURCES)
def test_argocd_cm_carries_the_application_health_check_and_webhook_ignores(source):
    (_, cm) = render("argocd", "argocd-cm.yaml.j2", source)
    data = cm["data"]
    assert cm["metadata"]["labels"]["app.kubernetes.io/part-of"] == "argocd"
    assert "obj.status.health" in data["resource.customizations.health.argoproj.io_Application"]
    for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
        ignore = yaml.safe_load(
            data[f"resource.customizations.ignoreDifferences.admissionregistration.k8s.io_{kind}"]
        )
        assert ".webhooks[]?.clientConfig.caBundle" in ignore["jqPathExpressions"]
        assert ".webhooks[]?.failurePolicy" in ignore["jqPathExpressions"]
    assert all(isinstance(v, str) for v in data.values())
    chart = values("argocd", "argocd-values.yaml.j2", source)
    assert chart["configs"]["cm"]["create"] is False
    assert chart["configs"]["secret"]["createSecret"] is False


@pytest.mark.parametrize("source", SOURCES)
def test_verify_summary_renders_with_unknown_signals(source):
    extra = {
        "verify_degraded": [{"component": "blog-service", "problem": "p95_ms is 900, above 500"}],
        "verify_signals": {
            "blog-service": {
                "requests_per_second": 12.5,
                "p95_ms": 900.0,
                "p99_ms": None,
                "error_4xx_percent": 0.0,
                "error_5xx_percent": 0.0,
                "cpu_saturation_percent": None,
            }
        },
        "verify_status_page": {"dest": "/repo/build/status/local.html"},
        "verify_checked": ["Golden Signals from 1 of 4 services over a 60s window"],
        "verify_not_checked": ["writes under load"],
    }
    # "Simulated" only where something stands in for the real thing.
    for stand_ins in ([], ["Nodes: kwok nodes", "Prometheus: a process"]):
        given = extra | {"verify_simulated": stand_ins}
        summary = text("verify", "summary.txt.j2", source, given)
        assert "1 problem(s)" in summary
        assert "blog-service: p95_ms is 900, above 500" in summary
        assert re.search(r"blog-service\s+12.5\s+900.0\s+-\s+0.0\s+0.0\s+-", summary)
        assert "vault_grafana_admin_password" in summary
        assert "Status page: /repo/build/status/local.html" in summary
        assert "Checked\n  - Golden Signals from 1 of 4 services over a 60s window" in summary
        assert "Not checked\n  - writes under load" in summary
        assert ("Simulated" in summary) == bool(stand_ins)
    host = resolve("verify", source, "verify_ingress_host", given)
    assert host and " " not in host
    assert summary.rstrip().endswith(
        "Simulated (what stands in for the real thing here)\n"
        "  - Nodes: kwok nodes\n  - Prometheus: a process"
    ), summary


@pytest.mark.parametrize("source", SOURCES)
def test_argocd_checks_gitea_pushes_with_the_vaulted_webhook_secret(source):
    data = secret_data(render("argocd", "secrets.yaml.j2", source), "argocd-secret")
    wanted = FAKE_SECRETS["vault_argocd_webhook_secret"]
    assert data.get("webhook.gogs.secret") == wanted
    # The gitserver role signs Gitea's webhook with the same value.
    assert resolve("gitserver", source, "gitserver_argocd_webhook_secret") == wanted
    empty = {"argocd_webhook_secret": "", "vault_argocd_webhook_secret": ""}
    data = secret_data(render("argocd", "secrets.yaml.j2", source, empty), "argocd-secret")
    assert "webhook.gogs.secret" not in data
