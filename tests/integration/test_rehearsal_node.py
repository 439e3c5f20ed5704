"""`make rehearsal` end to end, run once for the module: site.yml on the simulated
cluster with Argo CD deploying the blog onto the real node (tests/cluster/node.py)
from the images built here, verify's smoke test and the browser test through the
node's port, a pod killed and replaced and a promoted tag rolled out while the
blog keeps answering, PostgreSQL's pod deleted under writes with none of the
acknowledged ones lost (its volume from the local-path provisioner), the error
drill's Kubernetes outage alerting and ending with the service back, Bookinfo
switched on and off again with nothing of it left running, and `make
rehearsal-down` leaving nothing behind. The report's table
is printed; build/rehearsal/report.json goes with the rest at the end."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from ansible_collections.titanium.platform.plugins.filter.images import source_image_tags
from tests.cluster.node import BRIDGE
from tests.support.blog_browser import chromium_page, register_login_write_and_find_the_post
from titanium_tools import inventory

# One real node per machine: a parallel run keeps this module and its sibling on
# one worker (tests/support/plugin.py, ONE_AT_A_TIME).
pytestmark = [pytest.mark.slow, pytest.mark.long(700)]
REPO_ROOT = Path(__file__).resolve().parents[2]
STATE = REPO_ROOT / "build" / "rehearsal"
NAMESPACE = "titanium-local"
# What the local overlay runs, each on the real node.
WORKLOADS = ("api-gateway", "auth-service", "blog-service", "user-service", "postgres",
             "redis", "redis-ratelimit", "loadgen")  # fmt: skip
SERVICES = ["api-gateway", "auth-service", "blog-service", "user-service"]
MIGRATIONS = ("auth-service-migrate", "blog-service-migrate", "user-service-migrate")


def rehearsal(*args: str, timeout: float = 1500) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts/rehearsal.py"), *args],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


@pytest.fixture(scope="module")
def run() -> Iterator[tuple[subprocess.CompletedProcess[str], dict]]:
    if (STATE / "state.json").exists():
        pytest.fail("a rehearsal already runs in this checkout: `make rehearsal-down` first")
    images = subprocess.run(["make", "images", "rehearsal-images"], cwd=REPO_ROOT,
                            capture_output=True, text=True)  # fmt: skip
    assert images.returncode == 0, images.stdout[-3000:] + images.stderr[-3000:]
    up = rehearsal("up")
    report_file = STATE / "report.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    try:
        yield up, report
    finally:
        if (STATE / "state.json").exists():  # the last test did not get to stop it
            rehearsal("down", timeout=300)


@pytest.mark.timeout(1800)
def test_site_yml_runs_and_argo_cd_syncs_everything(run, figures) -> None:
    up, report = run
    figures(up.stdout[up.stdout.find("rehearsal report") :])
    assert up.returncode == 0, up.stdout[-4000:] + up.stderr[-4000:]
    assert report["site_yml_rc"] == 0
    assert report["all_synced_healthy"], report["applications"]
    # Once Argo CD owns what the first run seeded, a second site.yml changes nothing.
    assert report["second_run_rc"] == 0
    assert " changed=0 " in " ".join(report["second_run_recap"]), report["second_run_recap"]


def test_the_blog_runs_on_the_real_node(run) -> None:
    _, report = run
    node = report["real_node"]
    assert node["ready"], node
    pods = node["pods"]

    def owner(pod: str) -> str:
        return pod.rsplit("-", 2)[0] if pod.count("-") >= 2 else pod

    ready = {owner(name) for name, state in pods.items() if state == "Ready"}
    assert set(WORKLOADS) - {"postgres"} <= ready, pods
    assert pods.get("postgres-0") == "Ready", pods
    # The PreSync migrations ran to completion against the in-cluster database.
    done = {name.rsplit("-", 1)[0] for name, state in pods.items() if state == "Succeeded"}
    assert set(MIGRATIONS) <= done, pods
    kubeconfig = json.loads((STATE / "endpoints.json").read_text())["kubeconfig"]
    listed = subprocess.run(
        ["kubectl", "--kubeconfig", kubeconfig, "-n", NAMESPACE, "get", "pods", "-o", "json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    nodes = {pod["spec"].get("nodeName") for pod in json.loads(listed.stdout)["items"]}
    assert nodes == {node["name"]}  # nothing of the blog on a kwok node
    # Each image is the one built here, under the reference the overlay gives it:
    # the services' by site.yml's images role, tagged with their source's digest;
    # the data stores' and the load generator's (tests/cluster/images) by the tag
    # and the digest the node's containerd holds.
    images = report["images"]
    assert all(digest.startswith("sha256:") for digest in images["services"].values())
    services = sorted(images["services"])
    tags = source_image_tags(str(REPO_ROOT / "services"), SERVICES)
    assert services == sorted(f"localhost/titanium-{svc}:{tag}" for svc, tag in tags.items())
    built = json.loads((REPO_ROOT / "build/rehearsal-images.json").read_text())
    assert set(images["data"]) == {"postgres_image", "redis_image", "loadgen_image"}
    for key, reference in images["data"].items():
        assert re.fullmatch(rf"{re.escape(built[key])}@sha256:[0-9a-f]{{64}}", reference), reference
    # The pods run exactly those (the api-gateway's under the name a promotion gave
    # it), nothing else.
    pods = json.loads(listed.stdout)["items"]
    running = {
        c["image"].removesuffix("-promoted")
        for pod in pods
        for c in pod["spec"]["containers"] + pod["spec"].get("initContainers", [])
    }
    assert running == set(services) | set(images["data"].values()), running
    # And containerd ran exactly those digests: each container's image as its
    # pod names it -> the image ID the kubelet reports for it.
    ran = {
        container["image"]: status["imageID"]
        for pod in pods
        for container in pod["spec"]["containers"]
        for status in pod["status"].get("containerStatuses", [])
        if status["name"] == container["name"]
    }
    for reference in images["data"].values():
        repository, digest = reference.split(":", 1)[0], reference.split("@", 1)[1]
        assert ran[reference] == f"{repository}@{digest}", ran


def test_the_blog_answers_through_the_node_port(run) -> None:
    _, report = run
    gateway = report["endpoints"]["gateway_url"]
    address = urlsplit(gateway)
    assert address.hostname == report["real_node"]["address"]
    assert 30000 <= address.port <= 32767
    assert httpx.get(f"{gateway}/blog/", timeout=10).status_code == 200
    # verify's smoke test (register, log in, post, read back) went through it.
    site_log = (STATE / "site.log").read_text()
    assert "everything verified" in site_log
    # ...and its summary names what the rehearsal simulates.
    assert "Simulated (what stands in for the real thing here)" in site_log
    assert "Nodes: kwok nodes that run no container" in site_log


def test_a_killed_pod_is_replaced_while_the_blog_answers(run) -> None:
    _, report = run
    kill = report["pod_kill"]
    assert "error" not in kill, kill["error"]
    assert kill["replacement_ready_s"] is not None, kill
    assert kill["requests"] > 0
    assert kill["failed"] == 0, kill


def test_postgresql_keeps_every_acknowledged_write_when_its_pod_is_deleted(run) -> None:
    """PostgreSQL's pod deleted under a steady stream of posts written through the
    node's port: writes are acknowledged again, and every write acknowledged
    before, during and after is in the new pod's database, on the same volume the
    local-path provisioner made for the claim."""
    _, report = run
    drill = report["postgres_deletion"]
    assert "error" not in drill, drill["error"]
    assert drill["acknowledged_before_deletion"] > 0, drill
    assert drill["new_pod_ready_s"] is not None, drill
    assert drill["writes_acknowledged_again_s"] is not None, drill
    assert drill["read_back"] is True, drill
    assert drill["acknowledged_lost"] == [], drill
    assert drill["acknowledged"] > drill["acknowledged_before_deletion"], drill
    volume = drill["volume_after"]
    assert volume == drill["volume_before"], drill
    assert volume["claim_phase"] == "Bound"
    assert volume["storage_class"] == "local-path"
    assert volume["provisioned_by"] == "rancher.io/local-path"
    assert volume["path"].startswith(str(STATE / "node" / "volumes") + "/"), volume


def test_the_browser_test_passes_through_the_node_port(run, tmp_path) -> None:
    """The blog's browser test (tests/support/blog_browser.py), against the real
    pods through the real node's NodePort."""
    _, report = run
    with chromium_page(tmp_path) as page:
        register_login_write_and_find_the_post(
            page, report["endpoints"]["gateway_url"], REPO_ROOT / "build" / "rehearsal-browser.png"
        )


def test_a_promoted_tag_rolls_out_while_the_blog_answers(run) -> None:
    _, report = run
    promotion = report["promotion"]
    assert "error" not in promotion, promotion["error"]
    assert promotion["rc"] == 0, (STATE / "promote.log").read_text()[-3000:]
    assert_rolled_out(promotion)


def test_rollback_returns_to_the_previous_tag_while_the_blog_answers(run) -> None:
    _, report = run
    rollback = report["rollback"]
    assert "error" not in rollback, rollback["error"]
    assert rollback["rc"] == 0, (STATE / "rollback.log").read_text()[-3000:]
    assert rollback["tag"] == report["promotion"]["from_tag"]
    assert_rolled_out(rollback)


def assert_rolled_out(moved: dict) -> None:
    """Argo CD synced the pushed tag into the Deployment, every pod runs it, and no
    request through the node's port failed meanwhile."""
    assert moved["push_to_synced_s"] is not None, moved
    assert moved["new_pods_serving_s"] is not None, moved
    assert moved["requests"] > 0
    assert moved["failed"] == 0, moved


def test_argo_cd_undoes_a_deleted_deployment_and_a_changed_replica_count(run) -> None:
    _, report = run
    heal = report["self_heal"]
    assert "error" not in heal, heal["error"]
    assert heal["recreated_s"] is not None, heal
    assert heal["serving_s"] is not None, heal
    assert heal["replicas_restored_s"] is not None, heal


def retries_run_out_s() -> float:
    """What the attempts on a refused commit add up to, read from the services
    Application as rendered: a fix that waited for them would take this long."""
    application = yaml.safe_load(inventory.render("local")["argocd/local/apps/services.yaml"])
    retry = application["spec"]["syncPolicy"]["retry"]
    backoff = retry["backoff"]

    def seconds(duration: str) -> int:
        return int(duration[:-1]) * {"s": 1, "m": 60}[duration[-1]]

    first, longest = seconds(backoff["duration"]), seconds(backoff["maxDuration"])
    return sum(min(first * backoff["factor"] ** n, longest) for n in range(retry["limit"]))


def test_a_refused_commit_leaves_the_previous_revision_serving_and_its_fix_goes_live(run) -> None:
    _, report = run
    bad = report["bad_commit"]
    assert "error" not in bad, bad["error"]
    assert bad["refused_s"] is not None, bad  # OutOfSync, the API server's reason shown
    assert "Unsupported value" in bad["message"], bad["message"]
    assert bad["previous_live"] is True, bad
    assert bad["failed"] == 0, bad
    assert bad["fix_live_s"] is not None, bad
    assert bad["fix_live_s"] < retries_run_out_s() / 2, bad
    assert bad["cleaned_s"] is not None, bad


def test_the_error_drill_fires_its_alert_and_gives_the_service_back(run) -> None:
    """error-scenario-drill.yml with its Kubernetes outage (self-heal paused, the
    service scaled to zero): HighErrorRate reaches Alertmanager, and afterwards the
    service has the replicas it had, Argo CD Synced and Healthy. Self-heal alone
    would leave it at zero: Argo CD ignores the replica count its
    HorizontalPodAutoscaler owns."""
    _, report = run
    drill = report["error_drill"]
    assert drill and "error" not in drill, drill
    assert drill["rc"] == 0, "see build/rehearsal/error-drill.log"
    # From the outage to the alert active in Alertmanager.
    assert drill.get("time_to_alert_s") is not None and drill["time_to_alert_s"] > 0, drill
    assert drill["replicas_before"]["available"] > 0, drill
    assert drill.get("back_after_s") is not None, drill


def test_bookinfo_switched_off_leaves_nothing_running(run) -> None:
    """Bookinfo switched on, then off, by its inventory switch (gitops.yml alone): off,
    the gitops role lets Argo CD delete the Application and what it deployed before
    it narrows the projects, then deletes the namespace. Narrowed first, Argo CD
    drops the Application and leaves its workloads running with no owner."""
    _, report = run
    switch = report["bookinfo_switch"]
    assert switch and "error" not in switch, switch
    assert switch["deployed_when_on"] > 0 and switch["in_projects_when_on"], switch
    assert switch["off_rc"] == 0, "see build/rehearsal/bookinfo-off.log"
    assert not switch["application_left"], switch
    assert switch["left_running"] == [] and not switch["namespace_left"], switch
    assert not switch["in_projects_when_off"], switch


def test_rehearsal_down_leaves_nothing_behind(run) -> None:
    down = rehearsal("down", timeout=300)
    assert down.returncode == 0, down.stdout + down.stderr
    assert not STATE.exists()
    assert not Path(f"/sys/class/net/{BRIDGE}").exists()
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    assert "KUBE-" not in rules
    assert "build/rehearsal" not in Path("/proc/self/mountinfo").read_text()
