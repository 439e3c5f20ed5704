"""source_image_tags: one tag per service's source, stable across runs and
leftovers, new when what the image is built from changes. third_party_images
and pinned_by_digest: the pinned third-party images an environment runs, and
each by the digest its registry served."""

from __future__ import annotations

import re
import shutil

import pytest

from ansible_collections.titanium.platform.plugins.filter.images import (
    pinned_by_digest,
    source_image_tags,
    third_party_images,
)
from titanium_tools import inventory

SERVICES = ["api-gateway", "blog-service"]


@pytest.fixture
def context(tmp_path, repo_root):
    copy = tmp_path / "services"
    shutil.copytree(
        repo_root / "services", copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    return copy


def test_a_tag_per_service_that_holds_across_leftovers(context):
    tags = source_image_tags(str(context), SERVICES)
    assert set(tags) == set(SERVICES) and tags["api-gateway"] != tags["blog-service"]
    assert all(tag.startswith("src-") and len(tag) == 16 for tag in tags.values())
    cache = context / "blog-service" / "src" / "__pycache__"
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "x.cpython-311.pyc").write_bytes(b"\0")
    assert source_image_tags(str(context), SERVICES) == tags
    # What `pip install -e` (make setup) writes beside the sources: a rehearsal whose
    # images role and gitops role ran either side of it deployed a tag never built.
    metadata = context / "common" / "src" / "titanium_common.egg-info"
    metadata.mkdir(parents=True, exist_ok=True)
    (metadata / "PKG-INFO").write_text(f"Metadata-Version: 2.1\nName: {metadata.name}\n")
    assert source_image_tags(str(context), SERVICES) == tags


def test_a_change_to_a_service_retags_it_alone_and_a_shared_change_retags_all(context):
    tags = source_image_tags(str(context), SERVICES)
    (context / "blog-service" / "requirements.lock").write_text("changed\n")
    after = source_image_tags(str(context), SERVICES)
    assert after["blog-service"] != tags["blog-service"]
    assert after["api-gateway"] == tags["api-gateway"]
    (context / "Dockerfile").write_text((context / "Dockerfile").read_text() + "\n# changed\n")
    final = source_image_tags(str(context), SERVICES)
    assert all(final[service] != after[service] for service in SERVICES)


def test_a_folder_that_is_no_build_context_is_named(context, tmp_path):
    with pytest.raises(ValueError, match="holds no Dockerfile"):
        source_image_tags(str(tmp_path), SERVICES)
    with pytest.raises(ValueError, match="no folder for service 'search-service'"):
        source_image_tags(str(context), ["search-service"])


def test_third_party_images_are_those_the_environment_runs_and_does_not_build():
    keys = {image["key"]: image for image in third_party_images({"loadgen": True})}
    assert set(keys) == {"postgres_image", "redis_image", "loadgen_image"}
    postgres = keys["postgres_image"]
    assert (
        f"{postgres['registry']}/{postgres['repository']}:{postgres['tag']}"
        == (postgres["reference"])
    )
    assert postgres["registry"] == "docker.io/library" and postgres["repository"] == "postgres"
    # No load generator, no k6; an own build (the rehearsal's) or a digest already
    # pinned is not read again.
    own = {"image_overrides": {"redis_image": "localhost/titanium-redis:7"}}
    assert [i["key"] for i in third_party_images({"loadgen": False, **own})] == ["postgres_image"]
    pinned = {"loadgen": False, "postgres_image": "example.org/pg:15@sha256:" + "a" * 64}
    assert [i["key"] for i in third_party_images(pinned)] == ["redis_image"]


@pytest.mark.parametrize("env", inventory.environments())
def test_every_environment_runs_its_third_party_images_by_digest(env):
    # local too: its own images are built on its node, but PostgreSQL, Redis and
    # k6 come from docker.io, where a tag can be pushed again.
    keys = {image["key"] for image in third_party_images(inventory.values(env))}
    assert {"postgres_image", "redis_image"} <= keys


def test_an_environment_that_pins_no_third_party_digest_reads_none():
    assert third_party_images({"loadgen": True, "third_party_pin_digests": False}) == []


@pytest.mark.parametrize("reference", ["example.org/pg", "redis:7", "example.org:5000/pg"])
def test_a_third_party_pin_not_in_full_is_refused_by_name(reference):
    with pytest.raises(ValueError, match=re.escape(f"postgres_image {reference!r} names no")):
        third_party_images({"loadgen": False, "postgres_image": reference})


def test_each_image_is_pinned_by_the_digest_read_for_its_reference():
    images = third_party_images({"loadgen": False})
    digest = "sha256:" + "b" * 64
    found = pinned_by_digest(images, {images[0]["reference"]: digest})
    assert found["overrides"] == {images[0]["key"]: f"{images[0]['reference']}@{digest}"}
    assert found["missing"] == [images[1]["reference"]]
