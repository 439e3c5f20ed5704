"""An environment that runs its own build of a pinned third-party image (the
rehearsal's, imported into its node's containerd) names it in image_overrides:
its data and load-generator overlays then build to exactly that reference, tag
and digest, while an environment without overrides runs the pins."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from ansible_collections.titanium.platform.plugins.module_utils import gitops_render as gitops
from titanium_tools import inventory

DIGEST = "sha256:" + "0123456789abcdef" * 4
OVERRIDES = {
    "postgres_image": f"localhost/titanium-postgres:15@{DIGEST}",
    "redis_image": "localhost/titanium-redis:7",
    "loadgen_image": f"localhost/titanium-k6:0.54.0@{DIGEST}",
}


def built_images(out: Path, overrides: dict | None = None) -> dict[str, set[str]]:
    """The images local's data and load-generator overlays run, as kustomize builds them."""
    gitops.write_tree(inventory.render("local", overrides=overrides), out)
    found = {}
    for overlay in ("data", "loadgen"):
        built = subprocess.run(
            ["kubectl", "kustomize", str(out / "services/overlays/local" / overlay)],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        found[overlay] = set(re.findall(r"^\s+image: (\S+)$", built, re.MULTILINE))
    return found


def test_overridden_images_run_exactly_as_named(tmp_path: Path) -> None:
    assert built_images(tmp_path, {"image_overrides": OVERRIDES}) == {
        "data": {OVERRIDES["postgres_image"], OVERRIDES["redis_image"]},
        "loadgen": {OVERRIDES["loadgen_image"]},
    }


def test_without_overrides_the_pins_run(tmp_path: Path) -> None:
    pins = gitops.common_values()
    assert built_images(tmp_path) == {
        "data": {pins["postgres_image"], pins["redis_image"]},
        "loadgen": {pins["loadgen_image"]},
    }
