"""Tracing is wired end to end the same way from every inventory: what the
tracing role deploys (Jaeger's Service, ports, Grafana data source uid) is what
the istio role's mesh, Kiali, the logging and monitoring roles' Grafana links,
and the GitOps tree's services, network policy and Telemetry point at. Each side
is rendered from its own templates and values: the roles' by ansible-playbook
(tests/support/role_templates.py), the GitOps tree in this process."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.support.role_templates import INVENTORIES, SOURCES, render, resolve, values
from titanium_tools import inventory


def tracing(source: str, name: str):
    return resolve("tracing", source, name)


def host(source: str) -> str:
    """Jaeger's Service, as the cluster's DNS names it."""
    return f"{tracing(source, 'tracing_release_name')}.{tracing(source, 'tracing_namespace')}.svc"


ENVIRONMENTS = [env for env in inventory.environments() if env in INVENTORIES]


def require_tracing(source: str) -> None:
    """Where tracing is off (the rehearsal, like molecule, has no chart repository)
    nothing points at Jaeger: test_with_tracing_off_no_link_points_at_a_missing_data_source.
    Known only from a run, so decided per test rather than at collection."""
    if not tracing(source, "tracing_enabled"):
        pytest.skip(f"tracing_enabled is off for {source}")


def jaeger_config(source: str) -> dict:
    return yaml.safe_load(values("tracing", "jaeger-values.yaml.j2", source)["userconfig"])


@pytest.mark.parametrize("source", SOURCES)
def test_jaeger_runs_its_pinned_release_with_otlp_in_and_memory_kept(source):
    chart = values("tracing", "jaeger-values.yaml.j2", source)
    assert chart["jaeger"]["image"]["tag"] == tracing(source, "tracing_jaeger_version")
    assert chart["storage"]["type"] == "memory"
    assert chart["jaeger"]["securityContext"]["readOnlyRootFilesystem"] is True
    config = jaeger_config(source)
    pipeline = config["service"]["pipelines"]["traces"]
    assert pipeline["receivers"] == ["otlp"]
    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"].endswith(f":{tracing(source, 'tracing_otlp_grpc_port')}")
    assert protocols["http"]["endpoint"].endswith(f":{tracing(source, 'tracing_otlp_http_port')}")
    query = config["extensions"]["jaeger_query"]
    assert query["http"]["endpoint"].endswith(f":{tracing(source, 'tracing_query_port')}")
    (backend,) = config["extensions"]["jaeger_storage"]["backends"].values()
    assert backend["memory"]["max_traces"] == int(tracing(source, "tracing_max_traces"))


def test_production_keeps_more_traces_than_local():
    assert int(tracing("production", "tracing_max_traces")) > int(
        tracing("local", "tracing_max_traces")
    )


@pytest.mark.parametrize("source", SOURCES)
def test_grafana_links_logs_and_exemplars_to_the_jaeger_data_source(source):
    require_tracing(source)
    (_, configmap) = render("tracing", "jaeger-datasource.yaml.j2", source)
    (jaeger,) = yaml.safe_load(configmap["data"]["jaeger-datasource.yaml"])["datasources"]
    uid = tracing(source, "tracing_grafana_datasource_uid")
    assert jaeger["uid"] == uid
    assert jaeger["url"] == f"http://{host(source)}:{tracing(source, 'tracing_query_port')}"

    (_, loki_configmap) = render("logging", "loki-datasource.yaml.j2", source)
    (loki,) = yaml.safe_load(loki_configmap["data"]["loki-datasource.yaml"])["datasources"]
    (derived,) = loki["jsonData"]["derivedFields"]
    assert derived["datasourceUid"] == uid
    assert derived["matcherRegex"] == "trace_id"
    assert jaeger["jsonData"]["tracesToLogsV2"]["datasourceUid"] == loki["uid"]

    stack = values("monitoring", "kube-prometheus-stack-values.yaml.j2", source)
    assert "exemplar-storage" in stack["prometheus"]["prometheusSpec"]["enableFeatures"]
    destinations = stack["grafana"]["sidecar"]["datasources"]["exemplarTraceIdDestinations"]
    assert destinations == {"datasourceUid": uid, "traceIdLabelName": "trace_id"}


def test_with_tracing_off_no_link_points_at_a_missing_data_source():
    off = {"tracing_enabled": False}
    (_, loki_configmap) = render("logging", "loki-datasource.yaml.j2", "local", off)
    (loki,) = yaml.safe_load(loki_configmap["data"]["loki-datasource.yaml"])["datasources"]
    assert "derivedFields" not in loki["jsonData"]
    stack = values("monitoring", "kube-prometheus-stack-values.yaml.j2", "local", off)
    assert "enableFeatures" not in stack["prometheus"]["prometheusSpec"]
    assert "exemplarTraceIdDestinations" not in stack["grafana"]["sidecar"]["datasources"]
    istiod = values("istio", "istiod-values.yaml.j2", "local", off)
    assert "extensionProviders" not in istiod["meshConfig"]
    kiali = values("istio", "kiali-values.yaml.j2", "local", off)
    assert kiali["external_services"]["tracing"] == {"enabled": False}


@pytest.mark.parametrize("source", SOURCES)
def test_the_mesh_reports_to_jaeger_and_kiali_reads_it(source):
    require_tracing(source)
    mesh = values("istio", "istiod-values.yaml.j2", source)["meshConfig"]
    (provider,) = mesh["extensionProviders"]
    assert provider["opentelemetry"] == {
        "service": f"{host(source)}.cluster.local",
        "port": tracing(source, "tracing_otlp_grpc_port"),
    }
    assert mesh["defaultProviders"]["tracing"] == [provider["name"]]
    kiali = values("istio", "kiali-values.yaml.j2", source)["external_services"]["tracing"]
    assert kiali["enabled"] is True
    port = tracing(source, "tracing_query_port")
    assert kiali["internal_url"] == f"http://{host(source)}.cluster.local:{port}"


def test_production_samples_a_tenth_and_local_every_request():
    def sampling(source: str) -> float:
        return values("istio", "istiod-values.yaml.j2", source)["pilot"]["traceSampling"]

    assert sampling("production") == 10.0
    assert sampling("local") == 100.0


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_gitops_tree_points_the_services_and_the_telemetry_at_the_same_jaeger(env):
    require_tracing(env)
    rendered = inventory.render(env)
    gitops = inventory.load_values(env)["tracing"]
    assert gitops["release"] == tracing(env, "tracing_release_name")
    monitoring = inventory.load_values(env)["platform_namespaces"]["monitoring"]
    assert monitoring == tracing(env, "tracing_namespace")
    assert gitops["otlp_http_port"] == tracing(env, "tracing_otlp_http_port")
    assert gitops["otlp_grpc_port"] == tracing(env, "tracing_otlp_grpc_port")
    mesh = values("istio", "istiod-values.yaml.j2", env)["meshConfig"]
    assert gitops["provider"] == mesh["extensionProviders"][0]["name"]

    endpoint = f"http://{host(env)}:{gitops['otlp_http_port']}"
    overlay = yaml.safe_load(rendered[f"services/overlays/{env}/kustomization.yaml"])
    exported = {
        patch["target"]["name"]: {op["path"]: op["value"] for op in yaml.safe_load(patch["patch"])}
        for patch in overlay["patches"]
        if patch["target"]["kind"] == "ConfigMap" and "OTEL_SERVICE_NAME" in patch["patch"]
    }
    assert exported == {
        service: {
            "/data/OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "/data/OTEL_SERVICE_NAME": service,
        }
        for service in inventory.load_values(env)["services"]
    }
    (telemetry,) = [
        doc
        for path, text in rendered.items()
        if path.endswith("mesh/telemetry.yaml")
        for doc in yaml.safe_load_all(text)
    ]
    assert telemetry["spec"]["tracing"] == [{"providers": [{"name": gitops["provider"]}]}]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_latency_panels_show_exemplars(env):
    require_tracing(env)
    (configmap,) = [
        doc
        for path, text in inventory.render(env).items()
        if path.endswith("golden-signals.yaml")
        for doc in yaml.safe_load_all(text)
    ]
    (dashboard,) = [json.loads(text) for text in configmap["data"].values()]
    (latency,) = [p for p in dashboard["panels"] if p["title"].startswith("Latency")]
    assert [t.get("exemplar") for t in latency["targets"]] == [True, True]
    # Only latency carries them: a rate or a ratio has no request to point at.
    others = [t for p in dashboard["panels"] if p is not latency for t in p["targets"]]
    assert others and not any(t.get("exemplar") for t in others)


def test_without_the_trace_store_the_tree_points_nothing_at_it():
    """What the gitops role renders where tracing_enabled is off (the rehearsal)."""
    assert resolve("gitops", "rehearsal", "gitops_tracing_enabled") is False
    assert resolve("gitops", "local", "gitops_tracing_enabled") is True
    rendered = inventory.render("local", overrides={"tracing": {"enabled": False}})
    text = "\n".join(rendered.values())
    for absent in ("OTEL_EXPORTER_OTLP_ENDPOINT", "allow-trace-export"):
        assert absent not in text, absent
    # The Telemetry is rendered but no kustomization includes it.
    assert "telemetry.yaml" not in rendered["platform/local/mesh/kustomization.yaml"]
    traced = inventory.render("local")
    assert "telemetry.yaml" in traced["platform/local/mesh/kustomization.yaml"]
    assert all(p in "\n".join(traced.values()) for p in ("OTEL_SERVICE_NAME", "allow-trace-export"))
