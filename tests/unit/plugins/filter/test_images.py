"""source_image_tags: one tag per service's source, stable across runs and
leftovers, new when what the image is built from changes."""

from __future__ import annotations

import shutil

import pytest

from ansible_collections.titanium.platform.plugins.filter.images import source_image_tags

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
