"""The platform phase against a real API server (the simulated cluster): with the Helm
installs switched off (no chart repository is reachable offline), the roles still create
their namespaces, Secrets and ConfigMaps. Checked server-side, field by field; the second
run and a --check --diff run change nothing; a new password changes exactly the hash."""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import sys
from pathlib import Path

import bcrypt
import pytest
import yaml

from tests.cluster.sim import SimCluster

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
REPO_URL = "https://git.example.invalid/titanium/gitops-local.git"


def write_inventory(directory: Path, cluster: SimCluster, overrides: dict) -> Path:
    (directory / "group_vars" / "all").mkdir(parents=True, exist_ok=True)
    hosts = {
        "all": {
            "hosts": {
                "localhost": {
                    "ansible_connection": "local",
                    "ansible_python_interpreter": sys.executable,
                }
            }
        }
    }
    (directory / "hosts.yml").write_text(yaml.safe_dump(hosts))
    settings = {
        "titanium_environment": "local",
        "titanium_kubeconfig": cluster.kubeconfig,
        "titanium_kube_context": "titanium-sim",
        "istio_enabled": False,
        "monitoring_enabled": False,
        "logging_enabled": False,
        "tracing_enabled": False,
        "argocd_enabled": False,
        "gitserver_enabled": False,
        "gitops_repo_url": REPO_URL,
        **overrides,
    }
    (directory / "group_vars" / "all" / "main.yml").write_text(yaml.safe_dump(settings))
    return directory


def run(cluster: SimCluster, inventory: Path, playbook: str, *args: str) -> tuple[int, dict, str]:
    env = {
        **cluster.env(),
        "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_NOCOLOR": "1",
    }
    result = subprocess.run(
        ["ansible-playbook", "-i", str(inventory), str(REPO_ROOT / playbook), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=REPO_ROOT,
    )
    output = result.stdout[result.stdout.index("{") :] if "{" in result.stdout else "{}"
    document, _ = json.JSONDecoder().raw_decode(output)
    stats = document.get("stats", {}).get("localhost", {})
    return result.returncode, stats, result.stdout + result.stderr


def get(cluster: SimCluster, kind: str, name: str, namespace: str | None = None) -> dict:
    scope = ["-n", namespace] if namespace else []
    return json.loads(cluster.kubectl("get", kind, name, *scope, "-o", "json").stdout)


def decoded(secret: dict) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}


def stand_in(cluster: SimCluster, name: str, *secret_names: str) -> None:
    """A Deployment `name` as Argo CD would leave it, mounting `secret_names`; rolled out."""
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "titanium-local"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [{"name": name, "image": f"registry.invalid/{name}:0"}],
                    "volumes": [
                        {"name": f"key-{number}", "secret": {"secretName": secret}}
                        for number, secret in enumerate(secret_names)
                    ],
                },
            },
        },
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(deployment))
    cluster.kubectl(
        "rollout", "status", f"deployment/{name}", "-n", "titanium-local", "--timeout=120s"
    )


BLOG_SECRET_VARIABLES = {
    "titanium-postgres": {"password": "postgres_password"},
    "titanium-redis": {"password": "redis_password"},
    "titanium-auth-signing-key": {"private-key.pem": "auth_signing_key"},
    "titanium-db-user-service": {"password": "user_db_password"},
    "titanium-db-auth-service": {"password": "auth_db_password"},
    "titanium-db-blog-service": {"password": "blog_db_password"},
}


@pytest.fixture(scope="module")
def passwords() -> dict[str, str]:
    found = {
        "vault_grafana_admin_password": secrets.token_urlsafe(18),
        "vault_argocd_admin_password": secrets.token_urlsafe(18),
        "vault_gitops_repo_token": secrets.token_urlsafe(18),
    }
    for keys in BLOG_SECRET_VARIABLES.values():
        for variable in keys.values():
            found[variable] = secrets.token_urlsafe(18)
    return found


def test_check_diff_on_a_cluster_that_has_none_of_it_changes_nothing(
    sim_cluster: SimCluster, tmp_path, passwords
):
    """Runs before the fixture below applies anything: staging's namespace is new here."""
    settings = {**passwords, "titanium_environment": "staging"}
    inventory = write_inventory(tmp_path, sim_cluster, settings)
    rc, stats, output = run(sim_cluster, inventory, "playbooks/platform.yml", "--check", "--diff")
    assert rc == 0, output
    assert stats["failures"] == 0 and stats["changed"] > 0
    missing = sim_cluster.kubectl("get", "namespace", "titanium-staging", check=False)
    assert missing.returncode != 0 and "NotFound" in missing.stderr


@pytest.fixture(scope="module")
def platform(sim_cluster: SimCluster, tmp_path_factory, passwords):
    cluster = sim_cluster
    inventory = write_inventory(tmp_path_factory.mktemp("inventory"), cluster, passwords)
    rc, stats, output = run(cluster, inventory, "playbooks/platform.yml")
    assert rc == 0, output
    return cluster, inventory, stats


def test_first_run_creates_the_objects(platform):
    _, _, stats = platform
    assert stats["changed"] > 0 and stats["failures"] == 0


def test_namespaces_and_injection_label(platform):
    cluster, _, _ = platform
    for name in ("istio-system", "monitoring", "argocd"):
        assert get(cluster, "namespace", name)["status"]["phase"] == "Active"
    labels = get(cluster, "namespace", "titanium-local")["metadata"]["labels"]
    assert labels["istio-injection"] == "enabled"


def test_grafana_admin_secret_holds_the_vaulted_password(platform, passwords):
    cluster, _, _ = platform
    data = decoded(get(cluster, "secret", "grafana-admin", "monitoring"))
    assert data == {
        "admin-user": "admin",
        "admin-password": passwords["vault_grafana_admin_password"],
    }
    assert get(cluster, "secret", "alertmanager-receivers", "monitoring")["type"] == "Opaque"


def test_the_blogs_secrets_come_from_the_vaulted_variables(platform, passwords):
    cluster, _, _ = platform
    for name, keys in BLOG_SECRET_VARIABLES.items():
        data = decoded(get(cluster, "secret", name, "titanium-local"))
        assert data == {key: passwords[variable] for key, variable in keys.items()}, name


def test_loki_data_source_for_the_grafana_sidecar(platform):
    cluster, _, _ = platform
    cm = get(cluster, "configmap", "loki-datasource", "monitoring")
    assert cm["metadata"]["labels"]["grafana_datasource"] == "1"
    source = yaml.safe_load(cm["data"]["loki-datasource.yaml"])["datasources"][0]
    assert (source["type"], source["url"]) == ("loki", "http://loki.monitoring.svc:3100")


def test_jaeger_data_source_for_the_grafana_sidecar(platform):
    """Managed with the Helm release off, like Loki's; its spans link to Loki's lines."""
    cluster, _, _ = platform
    cm = get(cluster, "configmap", "jaeger-datasource", "monitoring")
    assert cm["metadata"]["labels"]["grafana_datasource"] == "1"
    (source,) = yaml.safe_load(cm["data"]["jaeger-datasource.yaml"])["datasources"]
    assert (source["type"], source["uid"]) == ("jaeger", "jaeger")
    assert source["url"] == "http://jaeger.monitoring.svc:16686"
    assert source["jsonData"]["tracesToLogsV2"]["datasourceUid"] == "loki"


def test_argocd_cm_carries_the_health_check_and_webhook_ignores(platform):
    cluster, _, _ = platform
    cm = get(cluster, "configmap", "argocd-cm", "argocd")
    assert cm["metadata"]["labels"]["app.kubernetes.io/part-of"] == "argocd"
    assert (
        "obj.status.health" in cm["data"]["resource.customizations.health.argoproj.io_Application"]
    )
    webhooks = "resource.customizations.ignoreDifferences.admissionregistration.k8s.io_"
    assert "caBundle" in cm["data"][webhooks + "MutatingWebhookConfiguration"]
    assert "failurePolicy" in cm["data"][webhooks + "ValidatingWebhookConfiguration"]


def test_argocd_admin_password_is_a_bcrypt_hash(platform, passwords):
    cluster, _, _ = platform
    data = decoded(get(cluster, "secret", "argocd-secret", "argocd"))
    password = passwords["vault_argocd_admin_password"].encode()
    assert bcrypt.checkpw(password, data["admin.password"].encode())
    assert password.decode() not in json.dumps(data)
    assert data["admin.passwordMtime"].endswith("Z")


def test_argocd_repository_secret(platform, passwords):
    cluster, _, _ = platform
    secret = get(cluster, "secret", "titanium-gitops-repository", "argocd")
    assert secret["metadata"]["labels"]["argocd.argoproj.io/secret-type"] == "repository"
    assert decoded(secret) == {
        "type": "git",
        "name": "titanium-gitops",
        "url": REPO_URL,
        "username": "git",
        "password": passwords["vault_gitops_repo_token"],
    }


def test_second_run_and_check_diff_change_nothing(platform):
    cluster, inventory, _ = platform
    rc, stats, output = run(cluster, inventory, "playbooks/platform.yml")
    assert rc == 0, output
    assert stats["changed"] == 0, output
    rc, stats, output = run(cluster, inventory, "playbooks/platform.yml", "--check", "--diff")
    assert rc == 0, output
    assert stats["changed"] == 0, output


def test_a_new_argocd_password_gets_a_new_hash_and_time_then_settles(platform, tmp_path):
    cluster, inventory, _ = platform
    before = decoded(get(cluster, "secret", "argocd-secret", "argocd"))
    new_password = secrets.token_urlsafe(18)
    changed = write_inventory(tmp_path, cluster, {"vault_argocd_admin_password": new_password})
    settings = yaml.safe_load((inventory / "group_vars/all/main.yml").read_text())
    settings["vault_argocd_admin_password"] = new_password
    (changed / "group_vars/all/main.yml").write_text(yaml.safe_dump(settings))
    rc, stats, output = run(cluster, changed, "playbooks/platform.yml", "--tags", "argocd")
    assert rc == 0, output
    assert stats["changed"] >= 1
    after = decoded(get(cluster, "secret", "argocd-secret", "argocd"))
    assert bcrypt.checkpw(new_password.encode(), after["admin.password"].encode())
    assert after["admin.password"] != before["admin.password"]
    rc, stats, output = run(cluster, changed, "playbooks/platform.yml", "--tags", "argocd")
    assert rc == 0 and stats["changed"] == 0, output
    # Put the module's password back for the other tests.
    rc, _, output = run(cluster, inventory, "playbooks/platform.yml", "--tags", "argocd")
    assert rc == 0, output


def test_platform_roles_leave_the_blog_to_argo_cd(platform):
    cluster, _, _ = platform
    deployments = json.loads(
        cluster.kubectl("get", "deployments", "-n", "titanium-local", "-o", "json").stdout
    )
    assert deployments["items"] == []


def test_a_missing_vaulted_password_stops_the_run_naming_it(sim_cluster: SimCluster, tmp_path):
    inventory = write_inventory(tmp_path, sim_cluster, {})
    rc, _, output = run(sim_cluster, inventory, "playbooks/platform.yml", "--tags", "monitoring")
    assert rc != 0
    assert "monitoring_grafana_admin_password is empty" in output
    assert "vault_grafana_admin_password" in output


def test_rotate_secrets_writes_the_new_value_and_restarts_the_reader(platform, passwords, tmp_path):
    cluster, _, _ = platform
    stand_in(cluster, "blog-service")
    rotated = {**passwords, "blog_db_password": secrets.token_urlsafe(18)}
    inventory = write_inventory(tmp_path, cluster, rotated)
    rc, stats, output = run(cluster, inventory, "playbooks/runbooks/rotate-secrets.yml")
    assert rc == 0, output
    data = decoded(get(cluster, "secret", "titanium-db-blog-service", "titanium-local"))
    assert data["password"] == rotated["blog_db_password"]
    template = get(cluster, "deployment", "blog-service", "titanium-local")["spec"]["template"]
    assert "titanium.io/secrets-rotated-at" in template["metadata"]["annotations"]
    # Only the rotated Secret and its reader changed; the other Secrets were already right.
    assert stats["changed"] == 2, output
    cluster.kubectl("delete", "deployment", "blog-service", "-n", "titanium-local")


def test_a_signing_key_is_promoted_only_after_the_cluster_has_published_it(
    platform, passwords, tmp_path
):
    cluster, _, _ = platform
    current, upcoming = passwords["auth_signing_key"], secrets.token_urlsafe(18)

    def signing_keys() -> dict[str, str | None]:
        found = {}
        for name in ("titanium-auth-signing-key", "titanium-auth-next-signing-key"):
            secret = cluster.kubectl(
                "get", "secret", name, "-n", "titanium-local", "-o", "json", check=False
            )
            found[name] = (
                decoded(json.loads(secret.stdout))["private-key.pem"]
                if secret.returncode == 0
                else None
            )
        return found

    def promote(directory: str, signing: str, *extra: str) -> tuple[int, str]:
        keys = {"auth_signing_key": signing, "auth_next_signing_key": current}
        inventory = write_inventory(tmp_path / directory, cluster, {**passwords, **keys})
        rc, _, output = run(
            cluster,
            inventory,
            "playbooks/runbooks/rotate-secrets.yml",
            "-e",
            "rotate_promote_signing_key=true",
            *extra,
        )
        return rc, output

    # Step 1: the next key in the vault becomes its Secret.
    publishing = {**passwords, "auth_next_signing_key": upcoming}
    inventory = write_inventory(tmp_path / "publish", cluster, publishing)
    rc, _, output = run(cluster, inventory, "playbooks/platform.yml", "--tags", "blog-secrets")
    assert rc == 0, output
    assert signing_keys() == {
        "titanium-auth-signing-key": current,
        "titanium-auth-next-signing-key": upcoming,
    }

    # Promoting before auth-service mounts it, or a key never published, changes nothing.
    stand_in(cluster, "auth-service", "titanium-auth-signing-key")
    rc, output = promote("early", upcoming, "-e", "rotate_jwks_cache_seconds=0")
    assert rc != 0 and "does not mount titanium-auth-next-signing-key" in output, output
    stand_in(cluster, "auth-service", "titanium-auth-signing-key", "titanium-auth-next-signing-key")
    rc, output = promote(
        "unpublished", secrets.token_urlsafe(18), "-e", "rotate_jwks_cache_seconds=0"
    )
    assert rc != 0 and "is not the key auth-service publishes as next" in output, output
    # Published, but verifiers may still hold a JWKS from before the rollout.
    rc, output = promote("too-soon", upcoming)
    assert rc != 0 and "for 360 s or more" in output, output
    assert signing_keys()["titanium-auth-signing-key"] == current

    # Step 2, once the cache has run out (0 s here): the next key signs, the old one
    # stays published.
    rc, output = promote("promote", upcoming, "-e", "rotate_jwks_cache_seconds=0")
    assert rc == 0, output
    assert signing_keys() == {
        "titanium-auth-signing-key": upcoming,
        "titanium-auth-next-signing-key": current,
    }

    # Retired: without the variable its Secret goes, and the rest stays.
    retired = write_inventory(
        tmp_path / "retire", cluster, {**passwords, "auth_signing_key": upcoming}
    )
    rc, _, output = run(cluster, retired, "playbooks/platform.yml", "--tags", "blog-secrets")
    assert rc == 0, output
    assert signing_keys() == {
        "titanium-auth-signing-key": upcoming,
        "titanium-auth-next-signing-key": None,
    }
    # Put the module's key back for the other tests.
    cluster.kubectl("delete", "deployment", "auth-service", "-n", "titanium-local")
    rc, _, output = run(
        cluster,
        write_inventory(tmp_path / "back", cluster, passwords),
        "playbooks/platform.yml",
        "--tags",
        "blog-secrets",
    )
    assert rc == 0, output
