"""A real container registry (Debian's docker-registry, the CNCF distribution
server) on a free 127.0.0.1 port, plain HTTP, storage in a temporary folder.

    with registry_server() as registry:   # registry.host: "127.0.0.1:PORT"
        digest = registry.publish("titanium-blog-service", "1.4.0")
    with registry_server(credentials=("ci", "secret")) as registry:  # htpasswd auth
        registry.auth_json()  # a Docker config JSON holding those credentials

publish() builds a one-file image with podman (distinct content per tag, so
each tag has its own digest) and pushes it, returning the digest the registry
stored, as podman reports it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.support.servers import free_port, stop_process, wait_for_port


class Registry:
    def __init__(self, root: Path, port: int, credentials: tuple[str, str] | None) -> None:
        self.root = root
        self.host = f"127.0.0.1:{port}"
        self.credentials = credentials
        # What a test published, (repository, tag) -> digest, for it to keep track.
        self.digests: dict[tuple[str, str], str] = {}

    def publish(self, repository: str, tag: str) -> str:
        context = Path(tempfile.mkdtemp(prefix="titanium-image-", dir=self.root))
        (context / "release").write_text(f"{repository} {tag}\n")
        (context / "Containerfile").write_text("FROM scratch\nCOPY release /release\n")
        reference = f"{self.host}/{repository}:{tag}"
        digest_file = context / "digest"
        try:
            for command in (
                ["podman", "build", "--quiet", "--tag", reference, str(context)],
                [
                    "podman",
                    "push",
                    "--quiet",
                    "--tls-verify=false",
                    *self._creds(),
                    "--digestfile",
                    str(digest_file),
                    reference,
                ],
            ):
                subprocess.run(command, check=True, capture_output=True, text=True)
        finally:
            subprocess.run(["podman", "rmi", "--force", reference], capture_output=True)
        return digest_file.read_text().strip()

    def _creds(self) -> list[str]:
        return ["--creds", ":".join(self.credentials)] if self.credentials else []

    def auth_json(self) -> str:
        """The credentials as `podman login --authfile` writes them."""
        token = base64.b64encode(":".join(self.credentials).encode()).decode()
        return json.dumps({"auths": {self.host: {"auth": token}}})


@contextlib.contextmanager
def registry_server(credentials: tuple[str, str] | None = None) -> Iterator[Registry]:
    binary = shutil.which("docker-registry")
    if binary is None:
        raise RuntimeError(
            "docker-registry not found: apt-get install docker-registry (make setup)"
        )
    root = Path(tempfile.mkdtemp(prefix="titanium-registry-"))
    port = free_port()
    config = root / "config.yml"
    # The distribution server's own configuration keys; no auth, no TLS: a test host only.
    config.write_text(
        "version: 0.1\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
        "log:\n  level: warn\n"
    )
    if credentials:
        import bcrypt  # the only hash the distribution server's htpasswd accepts

        hashed = bcrypt.hashpw(credentials[1].encode(), bcrypt.gensalt()).decode()
        (root / "htpasswd").write_text(f"{credentials[0]}:{hashed}\n")
        with config.open("a") as stream:
            stream.write(
                f"auth:\n  htpasswd:\n    realm: titanium\n    path: {root / 'htpasswd'}\n"
            )
    log = (root / "registry.log").open("w")
    process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port)
        yield Registry(root, port, credentials)
    finally:
        stop_process(process)
        log.close()
        shutil.rmtree(root, ignore_errors=True)
