"""playbooks/gitops.yml and the promote/rollback runbooks, run by ansible-playbook
against a real bare repository and a real registry (staging pins digests, so
every tag is read from the registry first; the Kubernetes registration is
switched off here; test_gitops_apply.py covers the manifests against a real API
server)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.ansible_run import run_on_localhost
from tests.support.git_http import in_remote, subjects
from tests.support.registry import Registry, registry_server
from titanium_tools import inventory

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV = "staging"
IMAGES = f"services/overlays/{ENV}/images/kustomization.yaml"
VALUES = inventory.values(ENV)
PUBLISHED = ("2.0.0", "1.4.0")
VALUES_IN_USE = dict(VALUES)
COMMON = yaml.safe_load((REPO_ROOT / "gitops/values/common.yml").read_text())
PREFIX = COMMON["image_prefix"]
# Staging runs the load generators: all three third-party images are deployed.
THIRD_PARTY = {key: COMMON[key] for key in ("postgres_image", "redis_image", "loadgen_image")}


@pytest.fixture(scope="module", autouse=True)
def registry() -> Registry:
    """What CI would have published: the inventory's first tags and two releases.
    Every playbook of this module reads its digests from here."""
    with registry_server() as server:
        VALUES_IN_USE["image_registry"] = server.host
        for service, first in VALUES["image_tags"].items():
            for tag in {*PUBLISHED, str(first)}:
                server.digests[service, tag] = server.publish(PREFIX + service, tag)
        # The third-party pins, as their registries would serve them.
        for key, reference in THIRD_PARTY.items():
            repository, tag = reference.split("/", 1)[1].rsplit(":", 1)
            VALUES_IN_USE[key] = f"{server.host}/{repository}:{tag}"
            server.digests[key, tag] = server.publish(repository, tag)
        yield server


@pytest.fixture
def remote(tmp_path) -> Path:
    path = tmp_path / "gitops.git"
    subprocess.run(["git", "init", "--quiet", "--bare", "-b", "main", str(path)], check=True)
    return path


def playbook(
    remote: Path, tmp_path: Path, name: str, *args: str, values: dict | None = None
) -> subprocess.CompletedProcess:
    extra = {
        "titanium_environment": ENV,
        "titanium_environment_values": values or VALUES_IN_USE,
        "titanium_image_registry_tls_verify": False,
        "gitserver_enabled": False,
        "gitops_repo_url": f"file://{remote}",
        "gitops_register_with_argocd": False,
        "gitops_render_dir": str(tmp_path / "render"),
    }
    return run_on_localhost(name, extra, *args)


def recap(result) -> str:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    return next(line for line in result.stdout.splitlines() if line.startswith("localhost "))


@pytest.mark.slow
def test_gitops_phase_seeds_once_then_promote_and_rollback_go_through_git(
    remote, tmp_path, registry
):
    check = playbook(remote, tmp_path, "playbooks/gitops.yml", "--check", "--diff")
    assert "changed=1" in recap(check)
    assert "+kind: AppProject" in check.stdout
    assert subprocess.run(
        ["git", "--git-dir", str(remote), "rev-parse", "--verify", "main"], capture_output=True
    ).returncode, "check mode must not push"

    assert "changed=1" in recap(playbook(remote, tmp_path, "playbooks/gitops.yml"))
    assert "changed=0" in recap(playbook(remote, tmp_path, "playbooks/gitops.yml"))
    assert subjects(remote) == [f"Seed {ENV} from Titanium"]
    # Bookinfo's one image is pinned with its application (staging runs it).
    seeded = pins(remote) | pins(remote, f"bookinfo/{ENV}/kustomization.yaml")
    assert "bookinfo" in seeded
    for service, tag in VALUES["image_tags"].items():
        assert seeded[service]["newName"] == f"{registry.host}/{PREFIX}{service}"
        assert seeded[service]["digest"] == registry.digests[service, str(tag)]

    # The third-party images are pinned by the digest their registries serve,
    # in every place the tree runs them (Bookinfo's load generator too).
    third_party = {
        **pins(remote, f"services/overlays/{ENV}/data/kustomization.yaml"),
        **pins(remote, f"services/overlays/{ENV}/loadgen/kustomization.yaml"),
    }
    for key in THIRD_PARTY:
        repository, tag = VALUES_IN_USE[key].rsplit(":", 1)
        (entry,) = [e for e in third_party.values() if e["newName"] == repository]
        assert entry["digest"] == registry.digests[key, tag], entry
    bookinfo_loadgen = pins(remote, f"bookinfo/{ENV}/kustomization.yaml")
    assert (
        bookinfo_loadgen[VALUES_IN_USE["loadgen_image"].rsplit(":", 1)[0]]["digest"]
        == (registry.digests["loadgen_image", THIRD_PARTY["loadgen_image"].rsplit(":", 1)[1]])
    )

    promote = ("-e", "service=blog-service", "-e", "image_tag=1.4.0")
    assert "changed=1" in recap(
        playbook(remote, tmp_path, "playbooks/runbooks/promote.yml", *promote)
    )
    assert "changed=0" in recap(
        playbook(remote, tmp_path, "playbooks/runbooks/promote.yml", *promote)
    )
    assert "changed=0" in recap(playbook(remote, tmp_path, "playbooks/gitops.yml"))
    assert subjects(remote)[0] == f"promote blog-service to 1.4.0 in {ENV}"
    promoted = pins(remote)
    assert promoted["blog-service"]["digest"] == registry.digests["blog-service", "1.4.0"]
    assert promoted["user-service"] == seeded["user-service"]

    assert "changed=1" in recap(playbook(remote, tmp_path, "playbooks/runbooks/rollback.yml"))
    assert "changed=0" in recap(playbook(remote, tmp_path, "playbooks/runbooks/rollback.yml"))
    assert subjects(remote)[0] == f"rollback: promote blog-service to 1.4.0 in {ENV}"
    assert "1.4.0" not in in_remote(remote, "show", f"main:{IMAGES}")


@pytest.mark.slow
def test_a_third_party_pin_its_registry_lacks_stops_the_seed(remote, tmp_path, registry):
    repository = VALUES_IN_USE["redis_image"].rsplit(":", 1)[0]
    values = {**VALUES_IN_USE, "redis_image": f"{repository}:0.0.0"}
    refused = playbook(remote, tmp_path, "playbooks/gitops.yml", values=values)
    assert refused.returncode != 0
    said = refused.stdout + refused.stderr
    assert "has no tag '0.0.0' of redis" in said, said[-2000:]
    assert subprocess.run(
        ["git", "--git-dir", str(remote), "rev-parse", "--verify", "main"], capture_output=True
    ).returncode, "nothing is pushed"


@pytest.mark.slow
def test_promote_refuses_a_tag_the_registry_does_not_have(remote, tmp_path):
    assert "changed=1" in recap(playbook(remote, tmp_path, "playbooks/gitops.yml"))
    before = subjects(remote)
    refused = playbook(
        remote,
        tmp_path,
        "playbooks/runbooks/promote.yml",
        "-e",
        "service=blog-service",
        "-e",
        "image_tag=9.9.9",
    )
    assert refused.returncode != 0
    said = refused.stdout + refused.stderr
    assert f"has no tag '9.9.9' of {PREFIX}blog-service" in said
    assert "tags it has: 0.1.0, 1.4.0, 2.0.0" in said
    assert subjects(remote) == before, "nothing is committed for a tag the registry lacks"


@pytest.mark.parametrize(
    "args, complaint",
    [
        (("-e", "service=blog-service", "-e", "image_tag=latest"), "image_tag"),
        (("-e", "service=search-service", "-e", "image_tag=1.0.0"), "service"),
        (("-e", '{"service": "blog-service", "image_tag": "1.0 beta"}'), "image_tag"),
    ],
)
def test_promote_refuses_bad_input_before_touching_git(remote, tmp_path, args, complaint):
    result = playbook(remote, tmp_path, "playbooks/runbooks/promote.yml", *args)
    assert result.returncode != 0
    assert complaint in result.stdout + result.stderr
    assert subprocess.run(
        ["git", "--git-dir", str(remote), "rev-parse", "--verify", "main"], capture_output=True
    ).returncode


def pins(remote: Path, file: str = IMAGES) -> dict[str, dict]:
    """Service name to what a kustomization (the environment's images one by
    default) pins for it."""
    shown = in_remote(remote, "show", f"main:{file}")
    return {entry["name"].removeprefix(PREFIX): entry for entry in yaml.safe_load(shown)["images"]}


def tags(remote: Path) -> dict[str, str]:
    """Service name to the tag the environment's images kustomization pins."""
    return {service: str(entry["newTag"]) for service, entry in pins(remote).items()}


def promote(remote, tmp_path, service: str, tag: str, promotion: str) -> None:
    args = ("-e", f"service={service}", "-e", f"image_tag={tag}", "-e", f"promotion_id={promotion}")
    assert "changed=1" in recap(playbook(remote, tmp_path, "playbooks/runbooks/promote.yml", *args))


@pytest.mark.slow
def test_rollback_reverts_every_commit_of_the_latest_promotion_as_one_commit(remote, tmp_path):
    assert "changed=1" in recap(playbook(remote, tmp_path, "playbooks/gitops.yml"))
    before = tags(remote)
    promote(remote, tmp_path, "api-gateway", "2.0.0", "run-41")
    promote(remote, tmp_path, "blog-service", "2.0.0", "run-41")
    promoted = subjects(remote)
    assert promoted[:2] == [
        f"promote blog-service to 2.0.0 in {ENV}",
        f"promote api-gateway to 2.0.0 in {ENV}",
    ]
    body = in_remote(remote, "log", "-1", "--format=%B", "main")
    assert "Titanium-Promotion: run-41" in body.splitlines()

    rollback = "playbooks/runbooks/rollback.yml"
    check = playbook(remote, tmp_path, rollback, "--check", "--diff")
    assert "changed=1" in recap(check)
    assert "+    newTag:" in check.stdout or "+  newTag:" in check.stdout
    assert subjects(remote) == promoted, "check mode must not push"

    assert "changed=1" in recap(playbook(remote, tmp_path, rollback))
    assert subjects(remote)[1:] == promoted, "one revert commit for the whole promotion"
    assert subjects(remote)[0] == "rollback: promotion run-41 (2 commits)"
    assert tags(remote) == before
    assert "changed=0" in recap(playbook(remote, tmp_path, rollback))
    assert len(subjects(remote)) == len(promoted) + 1


@pytest.mark.slow
def test_rollback_undoes_only_the_latest_promotion(remote, tmp_path):
    assert "changed=1" in recap(playbook(remote, tmp_path, "playbooks/gitops.yml"))
    before = tags(remote)
    promote(remote, tmp_path, "api-gateway", "2.0.0", "run-41")
    promote(remote, tmp_path, "blog-service", "2.0.0", "run-42")

    # An older promotion whose files a later one changed again is refused, named.
    refused = playbook(
        remote, tmp_path, "playbooks/runbooks/rollback.yml", "-e", "promotion_id=run-41"
    )
    assert refused.returncode != 0
    assert f"promote blog-service to 2.0.0 in {ENV}" in refused.stdout
    assert len(subjects(remote)) == 3

    assert "changed=1" in recap(playbook(remote, tmp_path, "playbooks/runbooks/rollback.yml"))
    assert subjects(remote)[0] == f"rollback: promote blog-service to 2.0.0 in {ENV}"
    assert tags(remote) == {**before, "api-gateway": "2.0.0"}
