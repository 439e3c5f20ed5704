"""The whole platform offline (playbooks/airgap.yml, then site.yml's roles with
titanium_airgap_dir), against local servers standing in for the internet: an
HTTP server with a k3s release and a Helm chart repository (a test chart
packaged with helm here, under the name and pin of the chart the gitserver role
installs), and Debian's docker-registry holding images podman built here.

Gathering derives the images from what it renders (the chart with the values
the role passes, and the GitOps tree as Argo CD builds it), so the images
expected below are named by the inputs, never listed in the code under test."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tests.cluster.sim import SimCluster
from tests.support.ansible_run import REPO_ROOT, run_on_localhost
from tests.support.registry import registry_server
from tests.support.servers import free_port, serving, stop_process

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
K3S_VERSION = "v1.99.0+k3s1"
CHART_VERSION = "0.0.1-airgap"
GITEA_TAG = "1.0.0-airgap"
BLOG_TAG = "0.1.0"
COMMON = yaml.safe_load((REPO_ROOT / "gitops/values/common.yml").read_text())
STAGING = yaml.safe_load(
    (REPO_ROOT / "inventories/staging/group_vars/all/environment.yml").read_text()
)["titanium_environment_values"]
# The blog's services, which the tree runs; every image tag the render asks
# for (other workloads, switched off here, still name theirs) is published.
SERVICES = sorted(COMMON["services"])
TAGGED = sorted(
    {*SERVICES, *STAGING.get("image_tags", {}), *(["bookinfo"] if "bookinfo" in COMMON else [])}
)


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def _recap(stdout: str) -> dict:
    line = next(line for line in stdout.splitlines() if line.startswith("localhost "))
    return {k: int(v) for k, v in (part.split("=") for part in line.split()[2:])}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _helm() -> str:
    return str(REPO_ROOT / "build/bin/helm")


class Internet:
    """What the gathering reaches: the HTTP server's base URL, the registry, and
    the digests of what was published there."""

    def __init__(self, root: Path, base_url: str, registry) -> None:
        self.root = root
        self.base_url = base_url
        self.registry = registry
        self.digests: dict[str, str] = {}

    def k3s_release(self) -> Path:
        return self.root / "k3s" / K3S_VERSION

    def variables(self, airgap: Path, **extra) -> dict:
        values = {
            **STAGING,
            "image_registry": f"{self.registry.host}/titanium",
            "image_pin_digests": True,
            "image_tags": dict.fromkeys(TAGGED, BLOG_TAG),
            "loadgen": False,
        }
        return {
            "titanium_airgap_dir": str(airgap),
            "titanium_environment": "staging",
            "titanium_environment_values": values,
            "titanium_image_registry_tls_verify": False,
            "k3s_version": K3S_VERSION,
            "k3s_release_url": f"{self.base_url}/k3s",
            "istio_enabled": False,
            "monitoring_enabled": False,
            "logging_enabled": False,
            "argocd_enabled": False,
            "tracing_enabled": False,
            "gitserver_chart_repo_url": f"{self.base_url}/charts",
            "gitserver_chart_version": CHART_VERSION,
            "gitserver_gitea_version": GITEA_TAG,
            "gitops_repo_url": "http://git.invalid/titanium-gitops.git",
            "gitops_source_dir": str(self.root / "gitops"),
            **extra,
        }


@pytest.fixture(scope="module")
def internet(tmp_path_factory) -> Iterator[Internet]:
    root = tmp_path_factory.mktemp("internet")
    release = root / "k3s" / K3S_VERSION
    release.mkdir(parents=True)
    (release / "k3s").write_bytes(b"#!/bin/sh\necho 'k3s version " + K3S_VERSION.encode() + b"'\n")
    (release / "k3s-airgap-images-amd64.tar.zst").write_bytes(b"k3s's own images" * 64)
    (release / "sha256sum-amd64.txt").write_text(
        "".join(
            f"{_sha256(release / name)}  {name}\n"
            for name in ("k3s", "k3s-airgap-images-amd64.tar.zst")
        )
    )
    with registry_server() as registry:
        # The GitOps source with its third-party pins on this registry (the
        # base is rendered from the common values, which no inventory overrides).
        shutil.copytree(REPO_ROOT / "gitops", root / "gitops")
        common = root / "gitops/values/common.yml"
        data_image = f"{registry.host}/data/store:1"
        common.write_text(
            common.read_text()
            .replace(f"postgres_image: {COMMON['postgres_image']}", f"postgres_image: {data_image}")
            .replace(f"redis_image: {COMMON['redis_image']}", f"redis_image: {data_image}")
        )
        # The chart: the test chart under the gitserver role's chart name and
        # pin, its default registry this one (the role sets only the tag).
        chart = root / "src" / "gitea"
        shutil.copytree(HERE / "charts" / "image-probe", chart)
        meta = yaml.safe_load((chart / "Chart.yaml").read_text())
        (chart / "Chart.yaml").write_text(
            yaml.safe_dump({**meta, "name": "gitea", "version": CHART_VERSION})
        )
        (chart / "values.yaml").write_text(
            yaml.safe_dump(
                {
                    "image": {
                        "registry": registry.host,
                        "repository": "gitea/gitea",
                        "tag": "chart-default",
                    }
                }
            )
        )
        charts = root / "charts"
        charts.mkdir()
        subprocess.run(
            [_helm(), "package", str(chart), "-d", str(charts)], check=True, capture_output=True
        )
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
        with serving(server) as port:
            base_url = f"http://127.0.0.1:{port}"
            subprocess.run(
                [_helm(), "repo", "index", str(charts), "--url", f"{base_url}/charts"],
                check=True,
                capture_output=True,
            )
            world = Internet(root, base_url, registry)
            for repository, tag in [
                ("gitea/gitea", GITEA_TAG),
                ("data/store", "1"),
                *((f"titanium/{COMMON['image_prefix']}{name}", BLOG_TAG) for name in TAGGED),
            ]:
                world.digests[f"{registry.host}/{repository}:{tag}"] = registry.publish(
                    repository, tag
                )
            yield world


def gather(internet: Internet, airgap: Path, **extra) -> subprocess.CompletedProcess:
    return run_on_localhost(
        "playbooks/airgap.yml", internet.variables(airgap, **extra), timeout=600
    )


@pytest.fixture(scope="module")
def gathered(internet, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    airgap = tmp_path_factory.mktemp("gathered") / "airgap"
    result = gather(internet, airgap)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    return airgap, result


def expected_images(internet: Internet, tagged: list[str] = SERVICES) -> set[str]:
    host, prefix = internet.registry.host, COMMON["image_prefix"]
    blog = {
        f"{host}/titanium/{prefix}{service}@{internet.digests[f'{host}/titanium/{prefix}{service}:{BLOG_TAG}']}"
        for service in tagged
    }
    # The data stores' pin, staging pinning digests, by the digest it had too
    # (gathered by digest alone, as the blog's are).
    data = f"{host}/data/store@{internet.digests[f'{host}/data/store:1']}"
    return {f"{host}/gitea/gitea:{GITEA_TAG}", data, *blog}


def test_gather_holds_k3s_the_chart_and_the_images_derived_from_renders(internet, gathered):
    airgap, _ = gathered
    release = internet.k3s_release()
    for name in ("k3s", "k3s-airgap-images-amd64.tar.zst", "sha256sum-amd64.txt"):
        assert (airgap / "k3s" / name).read_bytes() == (release / name).read_bytes()
    assert (airgap / "k3s/k3s").stat().st_mode & 0o111
    chart = airgap / f"charts/gitea-{CHART_VERSION}.tgz"
    assert chart.is_file()

    manifest = json.loads((airgap / "manifest.json").read_text())
    # The gitea image carries the tag the role passes (gitserver_gitea_version),
    # not the chart's default; the blog's are pinned by the digest the registry
    # serves; the data stores' one reference is gathered once.
    # Workloads other than the blog (switched off) may still name their image
    # in the overlay's image list: those may come along, nothing else.
    references = {image["reference"] for image in manifest["images"]}
    assert expected_images(internet) <= references <= expected_images(internet, TAGGED)
    (chart_entry,) = manifest["charts"]
    assert chart_entry["images"] == [f"{internet.registry.host}/gitea/gitea:{GITEA_TAG}"]
    assert chart_entry["sha256"] == _sha256(chart) and chart_entry["repository"].startswith(
        internet.base_url
    )
    assert manifest["k3s"]["version"] == K3S_VERSION
    # The digests read for the pinned tags, which an offline render pins.
    prefix = COMMON["image_prefix"]
    data = f"{internet.registry.host}/data/store:1"
    assert manifest["image_digests"] == {
        data: internet.digests[data],
        **{
            f"{internet.registry.host}/titanium/{prefix}{name}:{BLOG_TAG}": internet.digests[
                f"{internet.registry.host}/titanium/{prefix}{name}:{BLOG_TAG}"
            ]
            for name in TAGGED
        },
    }

    # SHA256SUMS covers every file, the manifest included, and holds.
    sums = (airgap / "SHA256SUMS").read_text().splitlines()
    listed = {line.split(None, 1)[1] for line in sums}
    on_disk = {str(p.relative_to(airgap)) for p in airgap.rglob("*") if p.is_file()} - {
        "SHA256SUMS"
    }
    assert listed == on_disk and "manifest.json" in listed
    check = subprocess.run(
        ["sha256sum", "--check", "--strict", "SHA256SUMS"],
        cwd=airgap,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr

    # Each archive is an OCI layout naming its reference; a digest-pinned one
    # holds exactly the manifest the registry served.
    for image in manifest["images"]:
        with tarfile.open(airgap / image["file"]) as archive:
            index = json.load(archive.extractfile("index.json"))
        (entry,) = index["manifests"]
        assert entry["annotations"]["org.opencontainers.image.ref.name"] == image["reference"]
        if "@" in image["reference"]:
            assert entry["digest"] == image["reference"].split("@", 1)[1]


def test_a_second_gathering_changes_nothing(internet, gathered):
    airgap, _ = gathered
    before = (airgap / "SHA256SUMS").read_text()
    again = gather(internet, airgap)
    assert again.returncode == 0, again.stdout[-4000:]
    assert _recap(again.stdout)["changed"] == 0
    assert (airgap / "SHA256SUMS").read_text() == before


def test_gathering_refuses_a_k3s_binary_that_fails_the_release_checksum(internet, tmp_path):
    release = internet.k3s_release()
    original = (release / "k3s").read_bytes()
    (release / "k3s").write_bytes(original + b"tampered")
    try:
        result = gather(
            internet, tmp_path / "airgap", gitserver_enabled=False, airgap_gitops_images=False
        )
    finally:
        (release / "k3s").write_bytes(original)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert f"k3s {K3S_VERSION} for amd64 was not gathered from {internet.base_url}/k3s/" in output
    assert "The checksum for" in output and "did not match" in output
    assert "corrupt or tampered download" in output
    assert not (tmp_path / "airgap/k3s/k3s").exists()


# --- the install side -------------------------------------------------------------

ROLE_TASKS_PLAYBOOK = """
- name: Run one task file of a role, as site.yml's play would
  hosts: localhost
  gather_facts: false
  tasks:
    - name: As the role does
      ansible.builtin.include_role:
        name: titanium.platform.{role}
        tasks_from: {tasks}
"""


def run_role_tasks(role: str, tasks: str, variables: dict, tmp_path: Path, *args: str, env=None):
    playbook = tmp_path / f"{role}-{tasks}"
    playbook.write_text(ROLE_TASKS_PLAYBOOK.format(role=role, tasks=tasks))
    return run_on_localhost(str(playbook), variables, *args, env=env)


def copy_of(airgap: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "carried"
    shutil.copytree(airgap, copy)
    return copy


def chart_variables(airgap: Path, namespace: str) -> dict:
    return {
        "titanium_airgap_dir": str(airgap),
        # Unreachable on purpose: offline, nothing may ask a chart repository.
        "gitserver_chart_repo_url": "http://127.0.0.1:9/charts",
        "gitserver_chart_version": CHART_VERSION,
        "gitserver_gitea_version": GITEA_TAG,
        "gitserver_namespace": namespace,
        "gitserver_helm_timeout": 120,
    }


def cluster_env(cluster: SimCluster, tmp_path: Path) -> dict[str, str]:
    env = cluster.env()
    return {
        **env,
        "PATH": f"{REPO_ROOT / 'build/bin'}:{env['PATH']}",
        "HELM_CACHE_HOME": str(tmp_path / "helm/cache"),
        "HELM_CONFIG_HOME": str(tmp_path / "helm/config"),
        "HELM_DATA_HOME": str(tmp_path / "helm/data"),
    }


def releases(cluster: SimCluster, namespace: str, tmp_path: Path) -> list[dict]:
    out = subprocess.run(
        [_helm(), "list", "-n", namespace, "-o", "json"],
        env=cluster_env(cluster, tmp_path),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def test_a_role_installs_its_chart_from_the_directory(internet, gathered, sim_cluster, tmp_path):
    airgap, _ = gathered
    namespace = "airgap-charts"
    sim_cluster.kubectl("create", "namespace", namespace)
    variables = chart_variables(airgap, namespace)
    env = cluster_env(sim_cluster, tmp_path)

    check = run_role_tasks(
        "gitserver", "helm.yml", variables, tmp_path, "--check", "--diff", env=env
    )
    assert check.returncode == 0, check.stdout[-4000:]
    assert releases(sim_cluster, namespace, tmp_path) == []

    first = run_role_tasks("gitserver", "helm.yml", variables, tmp_path, env=env)
    assert first.returncode == 0, first.stdout[-4000:]
    assert _recap(first.stdout)["changed"] == 1
    (release,) = releases(sim_cluster, namespace, tmp_path)
    assert release["chart"] == f"gitea-{CHART_VERSION}" and release["status"] == "deployed"
    deployment = json.loads(
        sim_cluster.kubectl("get", "deployment", "-n", namespace, "gitea", "-o", "json").stdout
    )
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"{internet.registry.host}/gitea/gitea:{GITEA_TAG}"

    second = run_role_tasks("gitserver", "helm.yml", variables, tmp_path, env=env)
    assert second.returncode == 0 and _recap(second.stdout)["changed"] == 0, second.stdout[-4000:]


def test_a_damaged_chart_stops_the_role_before_helm_runs(gathered, sim_cluster, tmp_path):
    # (A missing file is reported the same way: the preflight test below.)
    airgap = copy_of(gathered[0], tmp_path)
    chart = airgap / f"charts/gitea-{CHART_VERSION}.tgz"
    with chart.open("ab") as stream:
        stream.write(b"damaged in transit")
    namespace = "airgap-damaged"
    sim_cluster.kubectl("create", "namespace", namespace)
    result = run_role_tasks(
        "gitserver",
        "helm.yml",
        chart_variables(airgap, namespace),
        tmp_path,
        env=cluster_env(sim_cluster, tmp_path),
    )
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert f"{chart} is corrupt" in output
    assert "Re-run playbooks/airgap.yml on a connected machine" in output
    assert releases(sim_cluster, namespace, tmp_path) == []


def node_variables(airgap: Path, node: Path) -> dict:
    (node / "usr/local/bin").mkdir(parents=True, exist_ok=True)
    return {
        "titanium_airgap_dir": str(airgap),
        "k3s_version": K3S_VERSION,
        "k3s_arch": "amd64",
        "k3s_binary_name": "k3s",
        "k3s_install_dir": str(node / "usr/local/bin"),
        "k3s_data_dir": str(node / "var/lib/rancher/k3s"),
    }


def test_k3s_and_the_platform_images_go_to_the_node_from_the_directory(gathered, tmp_path):
    airgap, _ = gathered
    node = tmp_path / "node"
    variables = node_variables(airgap, node)
    check = run_role_tasks("k3s", "install_airgap.yml", variables, tmp_path, "--check", "--diff")
    assert check.returncode == 0, check.stdout[-4000:]
    assert not (node / "usr/local/bin/k3s").exists() and not (node / "var").exists()

    first = run_role_tasks("k3s", "install_airgap.yml", variables, tmp_path)
    assert first.returncode == 0, first.stdout[-4000:]
    assert (node / "usr/local/bin/k3s").read_bytes() == (airgap / "k3s/k3s").read_bytes()
    images = node / "var/lib/rancher/k3s/agent/images"
    manifest = json.loads((airgap / "manifest.json").read_text())
    assert sorted(p.name for p in images.iterdir()) == sorted(
        [
            "k3s-airgap-images-amd64.tar.zst",
            *(Path(image["file"]).name for image in manifest["images"]),
        ]
    )
    for image in manifest["images"]:
        assert _sha256(images / Path(image["file"]).name) == image["sha256"]

    second = run_role_tasks("k3s", "install_airgap.yml", variables, tmp_path)
    assert second.returncode == 0 and _recap(second.stdout)["changed"] == 0, second.stdout[-4000:]


def test_a_damaged_image_archive_stops_k3s_before_anything_is_placed(gathered, tmp_path):
    airgap = copy_of(gathered[0], tmp_path)
    manifest = json.loads((airgap / "manifest.json").read_text())
    archive = airgap / manifest["images"][0]["file"]
    with archive.open("ab") as stream:
        stream.write(b"damaged in transit")
    node = tmp_path / "node"
    result = run_role_tasks("k3s", "install_airgap.yml", node_variables(airgap, node), tmp_path)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert f"{archive} is corrupt" in output and "Re-run playbooks/airgap.yml" in output
    assert not (node / "usr/local/bin/k3s").exists() and not (node / "var").exists()


def test_containerd_loads_every_archive_under_the_name_the_manifests_use(gathered, tmp_path):
    """What k3s does with its images directory as it starts, done by Debian's
    containerd (private root, state and socket): each archive imports under its
    reference, a digest-pinned one under exactly that digest."""
    if shutil.which("containerd") is None or shutil.which("ctr") is None:
        pytest.skip("containerd and ctr are not installed (apt-get install containerd; make setup)")
    airgap, _ = gathered
    manifest = json.loads((airgap / "manifest.json").read_text())
    socket = tmp_path / "containerd.sock"
    config = tmp_path / "containerd.toml"
    config.write_text(
        "version = 2\n"
        f'root = "{tmp_path / "root"}"\nstate = "{tmp_path / "state"}"\n'
        f'[grpc]\n  address = "{socket}"\n'
        f'[debug]\n  address = "{tmp_path / "debug.sock"}"\n'
        f'[metrics]\n  address = "127.0.0.1:{free_port()}"\n'
        '[plugins."io.containerd.grpc.v1.cri"]\n  disable_tcp_service = true\n'
    )
    log = (tmp_path / "containerd.log").open("w")
    process = subprocess.Popen(
        ["containerd", "--config", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        ctr = ["ctr", "--address", str(socket), "--namespace", "k8s.io"]
        for _ in range(100):
            if subprocess.run([*ctr, "version"], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        for image in manifest["images"]:
            subprocess.run(
                [*ctr, "images", "import", "--all-platforms", str(airgap / image["file"])],
                check=True,
                capture_output=True,
            )
        listed = subprocess.run(
            [*ctr, "images", "ls"], check=True, capture_output=True, text=True
        ).stdout
        names = {line.split()[0]: line.split()[2] for line in listed.splitlines()[1:]}
        for image in manifest["images"]:
            assert image["reference"] in names, listed
            if "@" in image["reference"]:
                assert names[image["reference"]] == image["reference"].split("@", 1)[1]
    finally:
        stop_process(process)
        log.close()


PREFLIGHT_SOURCES = """
- name: Preflight's source checks alone
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Start with no problems found
      ansible.builtin.set_fact:
        preflight_problems: []
    - name: Check the sources as preflight does
      ansible.builtin.include_role:
        name: titanium.platform.preflight
        tasks_from: sources.yml
    - name: Show them
      ansible.builtin.debug:
        msg: "PROBLEMS {{ preflight_problems | to_json }}"
"""


def preflight_problems(airgap: Path, tmp_path: Path) -> list[str]:
    playbook = tmp_path / "preflight-sources.yml"
    playbook.write_text(PREFLIGHT_SOURCES)
    result = run_on_localhost(str(playbook), {"titanium_airgap_dir": str(airgap)})
    assert result.returncode == 0, result.stdout[-4000:]
    line = next(line for line in result.stdout.splitlines() if '"msg": "PROBLEMS ' in line)
    return json.loads(json.loads("{" + line.strip() + "}")["msg"].removeprefix("PROBLEMS "))


def test_preflight_lists_every_damaged_file_before_anything_changes(gathered, tmp_path):
    assert preflight_problems(gathered[0], tmp_path) == []
    airgap = copy_of(gathered[0], tmp_path)
    manifest = json.loads((airgap / "manifest.json").read_text())
    (airgap / manifest["images"][0]["file"]).unlink()
    with (airgap / "k3s/k3s").open("ab") as stream:
        stream.write(b"damaged")
    (airgap / "images/stray.oci.tar").write_bytes(b"not gathered")
    problems = preflight_problems(airgap, tmp_path)
    hint = ": re-run playbooks/airgap.yml on a connected machine"
    assert all(hint in problem for problem in problems)
    assert sorted(problem.split(" (")[0].split(":")[0] for problem in problems) == sorted(
        [
            f"{airgap / manifest['images'][0]['file']} is missing",
            f"{airgap / 'images/stray.oci.tar'} is not listed in SHA256SUMS",
            f"{airgap / 'k3s/k3s'} is corrupt",
        ]
    )


def test_the_gitops_role_pins_the_digests_recorded_when_gathering(internet, gathered, tmp_path):
    """Offline the registry is out of reach: the rendered tree pins the digests
    manifest.json recorded. The registry's TLS is checked here, so a read of
    this plain-HTTP registry would fail the run."""
    airgap, _ = gathered
    variables = {
        **internet.variables(airgap),
        "titanium_image_registry_tls_verify": True,
        "gitops_render_dir": str(tmp_path / "tree"),
        # The render task file alone: the repository the gitserver role would
        # have published (gitserver_repository) is given.
        "gitops_clone_url": "http://git.invalid/titanium-gitops.git",
    }
    rendered = run_role_tasks("gitops", "render.yml", variables, tmp_path)
    assert rendered.returncode == 0, rendered.stdout[-4000:]
    images = (tmp_path / "tree/services/overlays/staging/images/kustomization.yaml").read_text()
    host, prefix = internet.registry.host, COMMON["image_prefix"]
    for service in SERVICES:
        assert internet.digests[f"{host}/titanium/{prefix}{service}:{BLOG_TAG}"] in images

    variables["titanium_environment_values"]["image_tags"]["blog-service"] = "0.2.0"
    refused = run_role_tasks("gitops", "render.yml", variables, tmp_path)
    output = " ".join((refused.stdout + refused.stderr).split())
    assert refused.returncode != 0
    assert f"{host}/titanium/{prefix}blog-service:0.2.0: not in the air-gap directory" in output
    assert "Re-run playbooks/airgap.yml" in output
