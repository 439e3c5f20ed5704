"""What preflight asks the network for, served on 127.0.0.1: the pinned k3s
release's checksum file and the index of every chart repository the roles name,
from a directory the test fills, by a real HTTP server in a thread. The extra
variables point the inventory's URL variables at it (or at a closed port)."""

from __future__ import annotations

import functools
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from tests.support.servers import serving
from titanium_tools.versions import platform as platform_versions

REPO_ROOT = Path(__file__).resolve().parents[2]
PREFLIGHT = yaml.safe_load((REPO_ROOT / "roles/preflight/defaults/main.yml").read_text())
# The variables naming chart repositories, as preflight lists them.
CHART_REPOSITORY_VARIABLES = [
    repo["variable"] for repo in PREFLIGHT["preflight_chart_repositories"]
]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # the test reads the playbook's output, not this
        pass


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def source_variables(base_url: str, k3s_version: str | None = None) -> dict:
    """Extra variables pointing k3s_release_url and every chart repository at base_url."""
    return {
        "k3s_release_url": f"{base_url}/k3s",
        **{name: f"{base_url}/charts/{name}" for name in CHART_REPOSITORY_VARIABLES},
        **({"k3s_version": k3s_version} if k3s_version else {}),
    }


@contextmanager
def mirror(root: Path, k3s_version: str | None = None) -> Iterator[str]:
    """Serve a k3s release (amd64 and arm64 checksum files) and an index.yaml per
    chart repository from root; yields the base URL."""
    version = k3s_version or platform_versions()["k3s_version"]
    release = root / "k3s" / version
    release.mkdir(parents=True, exist_ok=True)
    for arch in ("amd64", "arm64", "arm"):
        (release / f"sha256sum-{arch}.txt").write_text(f"{'0' * 64}  k3s-{arch}\n")
    for name in CHART_REPOSITORY_VARIABLES:
        index = root / "charts" / name / "index.yaml"
        index.parent.mkdir(parents=True, exist_ok=True)
        index.write_text("apiVersion: v1\nentries: {}\n")
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root))
    )
    with serving(server) as port:
        yield f"http://127.0.0.1:{port}"
