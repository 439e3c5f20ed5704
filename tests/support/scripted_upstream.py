"""An HTTP/1.1 upstream that answers scripted bytes, for the gateway's tests.

Requests are parsed with h11; the answers are raw bytes per path, so a test can
send what h11 (or any correct server) would refuse to: interim answers, a
protocol switch nobody asked for, a body cut short. Any other path answers 200
with the path it was asked for, so a test can tell whose answer it got.
"""

import asyncio
import json
import threading

import h11

from tests.support.servers import free_port

# What the fake blog upstream sends for each path (after reading the request).
SCRIPTS = {
    "/posts/interim": (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nlink: </x>; rel=preload\r\n\r\n"
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 7\r\n\r\ninterim"
    ),
    "/posts/switching": b"HTTP/1.1 101 Switching Protocols\r\nupgrade: h2c\r\n\r\n",
    "/posts/cut-short": (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 1000\r\n\r\nonly this"
    ),
    "/posts/cut-short-chunked": (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n400\r\nnot all of it"
    ),
    "/posts/hop-headers": None,  # answers with the request headers it received
}
# Paths under this prefix are answered by closing the connection, the first time each.
DROPPED_ONCE = "/posts/dropped-once/"
CLOSES_AFTER = {"/posts/switching", "/posts/cut-short", "/posts/cut-short-chunked"}


class ScriptedUpstream:
    """A raw HTTP/1.1 server on its own thread: requests are parsed with h11,
    answers are the scripted bytes (which h11 would refuse to produce)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.seen: list[dict[str, str]] = []
        self.dropped: set[str] = set()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        parser = h11.Connection(h11.SERVER)
        try:
            while True:
                event = parser.next_event()
                if event is h11.NEED_DATA:
                    data = await reader.read(65536)
                    parser.receive_data(data)
                    if not data:
                        return
                    continue
                if isinstance(event, h11.Request):
                    target = event.target.decode()
                    headers = {k.decode(): v.decode() for k, v in event.headers}
                    self.seen.append({"target": target, **headers})
                elif isinstance(event, h11.EndOfMessage):
                    if target.startswith(DROPPED_ONCE) and target not in self.dropped:
                        self.dropped.add(target)  # as if it died with the request in hand
                        return
                    script = SCRIPTS.get(target.split("?")[0], b"")
                    if script is None:
                        payload = json.dumps(self.seen[-1]).encode()
                        script = (
                            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                            b"content-length: " + str(len(payload)).encode() + b"\r\n\r\n"
                        ) + payload
                    elif not script:
                        payload = target.encode()
                        script = (
                            b"HTTP/1.1 200 OK\r\ncontent-length: "
                            + str(len(payload)).encode()
                            + b"\r\n\r\n"
                            + payload
                        )
                    writer.write(script)
                    await writer.drain()
                    if target in CLOSES_AFTER:
                        return
                    parser = h11.Connection(h11.SERVER)  # the scripts bypass h11's own state
                elif isinstance(event, h11.ConnectionClosed):
                    return
        except (h11.RemoteProtocolError, ConnectionError):
            return
        finally:
            writer.close()

    def __enter__(self) -> "ScriptedUpstream":
        self.thread.start()
        asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", self.port), self.loop
        ).result(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def gateway_env(port: int, upstream: ScriptedUpstream, redis_url: str) -> dict[str, str]:
    """A gateway whose every upstream is `upstream`, on `port`."""
    url = f"http://127.0.0.1:{upstream.port}"
    return {
        "GATEWAY_PORT": str(port),
        "GATEWAY_METRICS_PORT": str(free_port()),
        "GATEWAY_REDIS_URL": redis_url,
        "GATEWAY_BLOG_URL": url,
        "GATEWAY_AUTH_URL": url,
        "GATEWAY_USER_URL": url,
        "GATEWAY_READ_TIMEOUT": "3",
        # As behind the ingress: each test client names its address in X-Forwarded-For.
        "GATEWAY_TRUSTED_PROXY_HOPS": "1",
    }
