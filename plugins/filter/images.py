# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tag an image built from source gets: a digest of what it is built from.
The images role builds under it and the gitops role deploys it, each asking
this filter, so both name the same image without passing facts between hosts;
an unchanged source keeps its tag (nothing rebuilt, nothing rolled), a changed
one gets a new tag (its pods roll)."""

from __future__ import annotations

import hashlib
from pathlib import Path

# Left behind by running code or tests, or by an editable install's metadata
# (`*.egg-info`, which make setup rewrites), never part of an image
# (.dockerignore drops them too): they must not change a tag.
NOT_SOURCE = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"}
NOT_SOURCE_SUFFIXES = (".egg-info",)
TAG_PREFIX = "src-"


def _source_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file()
        and not NOT_SOURCE.intersection(parts := path.relative_to(root).parts)
        and not any(part.endswith(NOT_SOURCE_SUFFIXES) for part in parts)
        and path.suffix != ".pyc"
    )


def source_image_tags(context: str, services: list[str]) -> dict[str, str]:
    """Service -> `src-<12 hex>` over the Dockerfile, its ignore file, the shared
    library and the service's own folder, under the build context `context`."""
    context_dir = Path(context)
    if not (context_dir / "Dockerfile").is_file():
        raise ValueError(f"{context} holds no Dockerfile: it is not the services' build context")
    shared = [context_dir / "Dockerfile", context_dir / ".dockerignore", context_dir / "common"]
    tags = {}
    for service in services:
        folder = context_dir / service
        if not folder.is_dir():
            raise ValueError(f"{context} has no folder for service {service!r}")
        digest = hashlib.sha256()
        for root in [*shared, folder]:
            for path in _source_files(root):
                digest.update(path.relative_to(context_dir).as_posix().encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
        tags[service] = TAG_PREFIX + digest.hexdigest()[:12]
    return tags


def environment_images(environment_values: dict, source: str | None = None) -> list[str]:
    """The images an environment runs (the renderer's rule): the blog's services,
    and bookinfo where the environment switches Bookinfo on. The images role builds
    and the gitops role deploys the same set."""
    from ansible_collections.titanium.platform.plugins.module_utils import gitops_render

    return gitops_render.environment_images(
        dict(environment_values or {}), Path(source) if source else gitops_render.DEFAULT_SOURCE
    )


def third_party_images(environment_values: dict, source: str | None = None) -> list[dict]:
    """The third-party images an environment runs, does not build itself and
    pins by digest (third_party_pin_digests), each as `key` (its values key),
    `reference`, and the `registry`, `repository` and `tag` the image_digest
    module reads it by; a reference pinned by digest already is left as it is."""
    from ansible_collections.titanium.platform.plugins.module_utils import gitops_render

    images = gitops_render.environment_third_party_images(
        dict(environment_values or {}), Path(source) if source else gitops_render.DEFAULT_SOURCE
    )
    found = []
    for key, reference in images.items():
        if "@" in reference:
            continue
        path, colon, tag = reference.rpartition(":")
        if not colon or "/" in tag or "/" not in path:
            raise ValueError(
                f"{key} {reference!r} names no registry or no tag: pin it in full as"
                " registry/repository:tag (docker.io/library/redis:7.4.7)"
            )
        registry, repository = path.rsplit("/", 1)
        found.append(
            {
                "key": key,
                "reference": reference,
                "registry": registry,
                "repository": repository,
                "tag": tag,
            }
        )
    return found


def pinned_by_digest(images: list[dict], digests: dict[str, str]) -> dict:
    """third_party_images pinned: `overrides` (key -> reference@digest, what the
    render's image_overrides takes) for each reference `digests` (reference ->
    digest) holds, and the references it lacks (`missing`)."""
    overrides, missing = {}, []
    for image in images:
        digest = digests.get(image["reference"])
        if digest:
            overrides[image["key"]] = f"{image['reference']}@{digest}"
        else:
            missing.append(image["reference"])
    return {"overrides": overrides, "missing": missing}


class FilterModule:
    def filters(self):
        return {
            "source_image_tags": source_image_tags,
            "environment_images": environment_images,
            "third_party_images": third_party_images,
            "pinned_by_digest": pinned_by_digest,
        }
