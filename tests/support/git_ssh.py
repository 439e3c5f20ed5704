"""A real OpenSSH server for Git tests: Debian's `sshd` on 127.0.0.1.

It runs in the foreground from a private configuration with a host key made
for it, accepts public keys only, and lets only the user running the tests in,
so `git push` reaches `git-receive-pack` exactly as it would on a Git host.

    with GitSSHServer(workdir) as server:
        url = server.bare_repository("gitops")      # ssh://root@127.0.0.1:PORT/...
        server.repository("gitops")                  # its path, to inspect
        server.authorize(public_key_path)
        server.known_hosts_line                      # "[127.0.0.1]:PORT ssh-ed25519 ..."
"""

from __future__ import annotations

import getpass
import subprocess
import time
from pathlib import Path

from tests.support.servers import free_port, wait_for_port

SSHD = Path("/usr/sbin/sshd")
# sshd refuses to start without its privilege-separation directory, which
# Debian's package leaves to the (absent) service manager to create.
PRIVSEP_DIR = Path("/run/sshd")


def make_key(path: Path) -> Path:
    """A new ed25519 key pair without passphrase at PATH and PATH.pub."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)],
        check=True,
    )
    return path


class GitSSHServer:
    def __init__(self, workdir: Path) -> None:
        if not SSHD.exists():
            raise RuntimeError(f"{SSHD} not found: apt-get install openssh-server")
        self.dir = workdir
        self.user = getpass.getuser()
        self.port = free_port()
        self.authorized_keys = self.dir / "authorized_keys"
        self.repositories = self.dir / "repositories"
        self.log = self.dir / "sshd.log"
        self.process: subprocess.Popen | None = None

    def _configure(self) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.repositories.mkdir(exist_ok=True)
        self.host_key = make_key(self.dir / "host_key")
        self.authorized_keys.touch(mode=0o600)
        config = self.dir / "sshd_config"
        config.write_text(
            f"ListenAddress 127.0.0.1:{self.port}\n"
            f"HostKey {self.host_key}\n"
            f"PidFile {self.dir / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {self.authorized_keys}\n"
            f"AllowUsers {self.user}\n"
            # The tests run as root on the build machines; keys only, never a password.
            "PermitRootLogin prohibit-password\n"
            "PubkeyAuthentication yes\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "UsePAM no\n"
            # The files live under pytest's temporary folder, below the
            # world-writable /tmp, and StrictModes refuses any authorized_keys
            # whose path crosses a group- or world-writable folder ("bad
            # ownership or modes for directory /tmp", measured). This server
            # is loopback-only, lives for one test session, and its files are
            # written 0600 by this helper, so the check guards nothing here.
            "StrictModes no\n"
            "AllowTcpForwarding no\n"
            "X11Forwarding no\n"
            "PrintMotd no\n"
            "LogLevel VERBOSE\n"
        )
        config.chmod(0o600)
        return config

    @property
    def known_hosts_line(self) -> str:
        """This server's entry for a known_hosts file."""
        key = Path(f"{self.host_key}.pub").read_text().split()
        return f"[127.0.0.1]:{self.port} {key[0]} {key[1]}\n"

    def authorize(self, public_key: Path) -> None:
        with self.authorized_keys.open("a") as keys:
            keys.write(public_key.read_text())

    def repository(self, name: str) -> Path:
        return self.repositories / f"{name}.git"

    def bare_repository(self, name: str) -> str:
        """Create an empty bare repository `repository(name)` and return its ssh:// URL."""
        path = self.repository(name)
        subprocess.run(
            ["git", "init", "--quiet", "--bare", "--initial-branch", "main", str(path)],
            check=True,
        )
        return f"ssh://{self.user}@127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        config = self._configure()
        try:
            PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        except PermissionError as exc:
            raise RuntimeError(
                f"sshd needs {PRIVSEP_DIR}: mkdir -m 755 {PRIVSEP_DIR} as root"
            ) from exc
        with self.log.open("w") as log:
            # -D: stay in the foreground as our child; -e: log to stderr (the log file).
            self.process = subprocess.Popen(
                [str(SSHD), "-D", "-e", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + 10
        while self.process.poll() is None and time.monotonic() < deadline:
            try:
                wait_for_port(self.port, timeout=0.5)
                return
            except TimeoutError:
                continue
        self.stop()
        raise RuntimeError(f"sshd did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # sshd -D exits on SIGTERM at once
            self.process.wait(10)
            self.process = None

    def __enter__(self) -> GitSSHServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
