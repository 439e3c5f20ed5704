"""A real Alertmanager, the release the monitoring role's chart deploys (built by
scripts/setup/alertmanager.sh), whose one receiver is a webhook served by the
test itself, so a test sees exactly what a pager would.

    with webhook_recorder() as hook, running_alertmanager(workdir, hook.url) as am:
        ...                             # point Prometheus at am.address
        hook.wait_for(lambda alert: alert["labels"]["alertname"] == "ServiceDown")
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from tests.support.prometheus_server import ready_process
from tests.support.servers import free_port

ALERTMANAGER = Path(__file__).resolve().parents[2] / "build/bin/alertmanager"


class WebhookRecorder:
    """Keeps every alert Alertmanager posts, in arrival order."""

    def __init__(self) -> None:
        self.alerts: list[dict] = []
        self._lock = threading.Lock()

    def record(self, notification: dict) -> None:
        with self._lock:
            self.alerts.extend(notification["alerts"])

    def received(self, match: Callable[[dict], bool]) -> list[dict]:
        with self._lock:
            return [alert for alert in self.alerts if match(alert)]

    def wait_for(self, match: Callable[[dict], bool], timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while not (found := self.received(match)):
            if time.monotonic() > deadline:
                names = sorted({a["labels"].get("alertname", "?") for a in self.alerts})
                raise TimeoutError(f"no such alert in {timeout} s; received: {names}")
            time.sleep(0.2)
        return found[0]


@contextmanager
def webhook_recorder() -> Iterator[WebhookRecorder]:
    recorder = WebhookRecorder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            recorder.record(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass  # Alertmanager's posts are the test's business, not stderr's

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}/alerts"
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass
class Alertmanager:
    address: str  # host:port, as Prometheus's alerting config wants it
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://{self.address}"


def alertmanager_config(webhook_url: str) -> dict:
    """One route to the webhook, grouped and sent within a second or two."""
    return {
        "route": {
            "receiver": "webhook",
            "group_by": ["alertname", "service"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [
            {"name": "webhook", "webhook_configs": [{"url": webhook_url, "send_resolved": True}]}
        ],
    }


@contextmanager
def running_alertmanager(
    workdir: Path, webhook_url: str = "", *, config: dict | None = None
) -> Iterator[Alertmanager]:
    """`config` replaces the one route to `webhook_url`."""
    if not ALERTMANAGER.is_file():
        raise RuntimeError(
            f"{ALERTMANAGER} is missing: run `make setup` (scripts/setup/alertmanager.sh)"
        )
    config_file = workdir / "alertmanager.yml"
    config_file.write_text(yaml.safe_dump(config or alertmanager_config(webhook_url)))
    address = f"127.0.0.1:{free_port()}"
    log = workdir / "alertmanager.log"
    command = [
        str(ALERTMANAGER),
        f"--config.file={config_file}",
        f"--storage.path={workdir / 'alertmanager-data'}",
        f"--web.listen-address={address}",
        # No gossip: a single instance, and no port of its own to collide on.
        "--cluster.listen-address=",
    ]
    ready = f"http://{address}/-/ready"
    with ready_process(command, log, ready, "Alertmanager") as process:
        yield Alertmanager(address, process, log)
