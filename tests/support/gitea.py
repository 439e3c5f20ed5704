"""A real Gitea on a free 127.0.0.1 port, as a plain process.

The binary is the one `make setup-gitea` builds from Gitea's Go module at the
gitserver role's pin (build/bin/gitea); its locales and templates come from the
module's own directory (build/share/gitea), since the build has no bindata tag.
Gitea refuses to run as root, so when the tests run as root everything runs as a
system user of its own (created on first use). The binary, those files and the
data live in one private temporary directory that the user owns (the module
cache below /root is out of its reach): hard links, so nothing is copied.

    with gitea_server() as gitea:          # gitea.url, gitea.admin, gitea.password
        gitea.api("GET", "/api/v1/user")   # as the admin, basic auth

The configuration (app.ini) is written here at run time with fresh secrets; no
Gitea configuration file is committed. The admin's password is random unless
given (the rehearsal gives its vault's). state() and stop_state() let one command
start Gitea and another stop it (scripts/rehearsal.py).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.support.servers import free_port, stop_process

REPO_ROOT = Path(__file__).resolve().parents[2]
BINARY = REPO_ROOT / "build/bin/gitea"
STATIC = REPO_ROOT / "build/share/gitea"
RUN_AS = "titanium-gitea"
ADMIN = "titanium"
STATIC_DIRS = ("options", "templates", "public")


class GiteaError(RuntimeError):
    pass


def gitea_version() -> str:
    """The version the gitserver role deploys (and scripts/setup/gitea.sh builds)."""
    from titanium_tools.versions import platform

    return platform()["gitserver_gitea_version"]


def _run_as_user() -> pwd.struct_passwd:
    """Ourselves, or (as root) the system user Gitea runs as, created if missing."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    try:
        return pwd.getpwnam(RUN_AS)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
             "--shell", "/usr/sbin/nologin", RUN_AS],
            check=True, capture_output=True,
        )  # fmt: skip
        return pwd.getpwnam(RUN_AS)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


class GiteaServer:
    def __init__(
        self, webhook_allowed_hosts: str = "loopback,private", password: str | None = None
    ) -> None:
        if not BINARY.exists() or not (STATIC / "options/locale").is_dir():
            raise GiteaError(f"{BINARY} or {STATIC} missing: run `make setup-gitea`")
        self.user = _run_as_user()
        self.base = Path(tempfile.mkdtemp(prefix="titanium-gitea-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin = ADMIN
        self.password = password or "gitea-" + secrets.token_urlsafe(18)
        self.webhook_allowed_hosts = webhook_allowed_hosts
        self.process: subprocess.Popen | None = None
        self.start_seconds = 0.0
        self.config = self.base / "custom/conf/app.ini"
        self.log = self.base / "log"

    # -- set-up ---------------------------------------------------------------
    def _prepare(self) -> None:
        binary = self.base / "gitea"
        _link_or_copy(str(BINARY.resolve()), str(binary))
        static = self.base / "static"
        for name in STATIC_DIRS:
            if (STATIC / name).is_dir():
                shutil.copytree(STATIC / name, static / name, copy_function=_link_or_copy)
        for sub in ("data", "log", "custom/conf"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        self.config.write_text(self._app_ini())
        self.config.chmod(0o600)
        # The module cache's directories are read-only; ours must be removable.
        for root, dirs, _ in os.walk(self.base):
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o755)  # noqa: S103  inside a 0700 directory
            os.chown(root, self.user.pw_uid, self.user.pw_gid)
        for path in (self.base / "data", self.base / "log", self.base / "custom", self.config):
            for item in [path, *path.rglob("*")]:
                os.chown(item, self.user.pw_uid, self.user.pw_gid)
        self.base.chmod(0o700)

    def _app_ini(self) -> str:
        base, data = self.base, self.base / "data"
        return f"""\
APP_NAME = Titanium test Gitea
RUN_USER = {self.user.pw_name}
RUN_MODE = prod
WORK_PATH = {base}

[server]
PROTOCOL = http
HTTP_ADDR = 127.0.0.1
HTTP_PORT = {self.port}
DOMAIN = 127.0.0.1
ROOT_URL = {self.url}/
APP_DATA_PATH = {data}
STATIC_ROOT_PATH = {base}/static
DISABLE_SSH = true
START_SSH_SERVER = false
LFS_START_SERVER = false
OFFLINE_MODE = true

[database]
DB_TYPE = sqlite3
PATH = {data}/gitea.db
SQLITE_JOURNAL_MODE = WAL

[repository]
ROOT = {data}/repositories
ENABLE_PUSH_CREATE_USER = false

[security]
INSTALL_LOCK = true
SECRET_KEY = {secrets.token_hex(32)}
INTERNAL_TOKEN = {secrets.token_urlsafe(64)}
PASSWORD_HASH_ALGO = pbkdf2

[oauth2]
ENABLED = false

[service]
DISABLE_REGISTRATION = true
REQUIRE_SIGNIN_VIEW = true

[webhook]
ALLOWED_HOST_LIST = {self.webhook_allowed_hosts}

[actions]
ENABLED = false

[mailer]
ENABLED = false

[session]
PROVIDER = memory

[cache]
ADAPTER = memory

[indexer]
ISSUE_INDEXER_TYPE = db

[cron.update_checker]
ENABLED = false

[log]
MODE = file
LEVEL = Info
ROOT_PATH = {self.log}
"""

    def _command(self, *args: str) -> list[str]:
        return [
            str(self.base / "gitea"),
            "--config",
            str(self.config),
            "--work-path",
            str(self.base),
            *args,
        ]

    def _env(self) -> dict[str, str]:
        return {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.base / "data"),
            "USER": self.user.pw_name,
            "GITEA_WORK_DIR": str(self.base),
        }

    def _as_user(self) -> dict:
        if os.geteuid() != 0:
            return {}
        return {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}

    def gitea(self, *args: str) -> str:
        """One `gitea` command as Gitea's user, e.g. gitea("admin", "user", "list")."""
        result = subprocess.run(
            self._command(*args), env=self._env(), cwd=self.base, capture_output=True,
            text=True, timeout=120, check=False, **self._as_user(),
        )  # fmt: skip
        if result.returncode != 0:
            output = result.stdout[-2000:] + result.stderr[-2000:]
            raise GiteaError(f"gitea {' '.join(args[:3])} failed:\n{output}")
        return result.stdout

    # -- life cycle -----------------------------------------------------------
    def start(self, timeout: float = 60.0) -> float:
        """Migrate, create the admin, serve; seconds until /api/healthz answers
        (also kept in start_seconds)."""
        started = time.monotonic()
        self._prepare()
        self.gitea("migrate")
        self.gitea(
            "admin", "user", "create", "--admin", "--username", self.admin,
            "--password", self.password, "--email", f"{self.admin}@titanium.invalid",
            "--must-change-password=false",
        )  # fmt: skip
        output = (self.log / "web.out").open("wb")
        self.process = subprocess.Popen(
            self._command("web"), env=self._env(), cwd=self.base, stdout=output,
            stderr=subprocess.STDOUT, start_new_session=True, **self._as_user(),
        )  # fmt: skip
        output.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise GiteaError(f"gitea web exited with {self.process.returncode}:\n{self.logs()}")
            with contextlib.suppress(OSError):
                if self.request("GET", "/api/healthz", auth=False)[0] == 200:
                    self.start_seconds = time.monotonic() - started
                    return self.start_seconds
            time.sleep(0.2)
        raise GiteaError(f"Gitea not healthy after {timeout} s:\n{self.logs()}")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
        self.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def state(self) -> dict:
        """What stop_state() needs to stop this Gitea from another process (no secret)."""
        assert self.process is not None
        return {"pid": self.process.pid, "base": str(self.base), "url": self.url}

    def logs(self, lines: int = 40) -> str:
        out = []
        for path in sorted(self.log.glob("*")):
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path.name}\n" + "\n".join(tail))
        return "\n".join(out)

    # -- API ------------------------------------------------------------------
    def request(
        self, method: str, path: str, body: object = None, auth: bool = True
    ) -> tuple[int, object]:
        request = urllib.request.Request(  # noqa: S310  our own http:// URL
            self.url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        if auth:
            token = base64.b64encode(f"{self.admin}:{self.password}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  loopback
                raw = response.read()
                return response.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")

    def api(self, method: str, path: str, body: object = None) -> object:
        """The decoded answer of a successful call, as the admin."""
        status, answer = self.request(method, path, body)
        if not 200 <= status < 300:
            raise GiteaError(f"{method} {path}: HTTP {status} {answer}")
        return answer

    def git_auth_args(self) -> list[str]:
        """`git -c ...` arguments that authenticate as the admin (test use only)."""
        token = base64.b64encode(f"{self.admin}:{self.password}".encode()).decode()
        return ["-c", f"http.extraHeader=Authorization: Basic {token}"]


def stop_state(state: dict) -> list[str]:
    """Stop the Gitea that state() described and remove its directory; returns
    what survived (empty when stopped)."""
    from tests.cluster.processes import Component, stop_components

    base = Path(state["base"])
    web = Component("gitea", state["pid"], str(base / "log/web.out"), str(base / "gitea"))
    survivors = stop_components([web])
    if not survivors:
        shutil.rmtree(base, ignore_errors=True)
    return survivors


@contextlib.contextmanager
def gitea_server(**kwargs: object) -> Iterator[GiteaServer]:
    server = GiteaServer(**kwargs)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()
