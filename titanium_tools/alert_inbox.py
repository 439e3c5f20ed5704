"""The local environment's alert inbox: the webhook receiver that Alertmanager
delivers to in `inventories/local`, for the operator to watch.

    make alert-inbox              # python -m titanium_tools.alert_inbox

Each alert of each notification is printed as one line (status, severity,
name, service, summary, runbook) and appended to build/alerts/inbox.jsonl;
http://127.0.0.1:9095/ shows the latest lines. It listens on every address by
default because Alertmanager reaches it from a pod, through the node's address
(`--url` prints it; scripts/local-vault.sh puts it in the local vault).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import sys
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TextIO

DEFAULT_PORT = 9095
DEFAULT_LOG = Path(__file__).resolve().parents[1] / "build" / "alerts" / "inbox.jsonl"
SHOWN = 200  # lines the page keeps


def node_url(port: int = DEFAULT_PORT) -> str:
    """The URL a pod on this machine posts to: this machine's address on the
    route out (a UDP socket's connect sends nothing), not 127.0.0.1, which is
    the pod itself there."""
    address = "127.0.0.1"
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))
        address = probe.getsockname()[0]
    return f"http://{address}:{port}/alerts"


def line(alert: dict) -> str:
    labels, annotations = alert.get("labels", {}), alert.get("annotations", {})
    where = " ".join(
        f"{key}={labels[key]}" for key in ("namespace", "service", "pod") if key in labels
    )
    parts = [
        alert.get("startsAt", "?") if alert.get("status") == "firing" else alert.get("endsAt", "?"),
        alert.get("status", "?").upper(),
        labels.get("severity", "-"),
        labels.get("alertname", "?"),
        where,
        annotations.get("summary", ""),
        annotations.get("runbook_url", ""),
    ]
    return " | ".join(part for part in parts if part)


class Inbox:
    """What arrived, as lines, in order; each notification also kept whole."""

    def __init__(self, log: Path, out: TextIO) -> None:
        self.log, self.out = log, out
        self.lines: deque[str] = deque(maxlen=SHOWN)
        self._lock = threading.Lock()
        log.parent.mkdir(parents=True, exist_ok=True)

    def deliver(self, notification: dict) -> None:
        shown = [line(alert) for alert in notification.get("alerts", [])]
        with self._lock:
            with self.log.open("a") as kept:
                kept.write(json.dumps(notification) + "\n")
            self.lines.extend(shown)
            for text in shown:
                print(text, file=self.out, flush=True)

    def page(self) -> str:
        with self._lock:
            return "\n".join(self.lines) + "\n" if self.lines else "no alert yet\n"


@contextmanager
def serving(inbox: Inbox, host: str, port: int) -> Iterator[ThreadingHTTPServer]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            try:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                notification = json.loads(body)
            except ValueError:
                self.send_error(400, "expected Alertmanager's webhook JSON")
                return
            inbox.deliver(notification)
            self.send_response(200)
            self.end_headers()

        def do_GET(self) -> None:
            body = inbox.page().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass  # the alerts are the output, not the requests

    server = ThreadingHTTPServer((host, port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="0.0.0.0")  # noqa: S104  Alertmanager calls from a pod
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--log", type=Path, default=DEFAULT_LOG)
    parser.add_argument(
        "--url", action="store_true", help="print the URL Alertmanager posts to, and exit"
    )
    args = parser.parse_args(argv)
    if args.url:
        print(node_url(args.port))
        return 0
    inbox = Inbox(args.log, sys.stdout)
    with serving(inbox, args.host, args.port):
        print(
            f"alert inbox on {args.host}:{args.port}, kept in {args.log}; Ctrl-C stops it",
            file=sys.stderr,
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
