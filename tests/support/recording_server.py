"""A real HTTP server that records each request it gets (when, path, Host) and
answers by path: /slow after SLOW_SECONDS, /broken 500, /missing 404, else 200.

    httpd, server = serve()            # server.url, server.seen.arrivals
    httpd.shutdown(); httpd.server_close()
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SLOW_SECONDS = 1.5


@dataclass
class Seen:
    arrivals: list[tuple[float, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Handler(BaseHTTPRequestHandler):
    seen: Seen
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        with self.seen.lock:
            self.seen.arrivals.append((time.monotonic(), self.path, self.headers.get("Host", "")))
        if self.path == "/slow":
            time.sleep(SLOW_SECONDS)
        status = {"/broken": 500, "/missing": 404}.get(self.path, 200)
        body = b"ok" if status == 200 else b"no"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@dataclass
class Server:
    url: str
    seen: Seen


def serve(address: str = "127.0.0.1") -> tuple[ThreadingHTTPServer, Server]:
    seen = Seen()
    handler = type("RecordingHandler", (Handler,), {"seen": seen})
    httpd = ThreadingHTTPServer((address, 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, Server(f"http://{address}:{httpd.server_address[1]}", seen)
