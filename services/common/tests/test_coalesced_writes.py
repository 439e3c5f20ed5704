"""A response leaves a service as one send: against a real uvicorn serving
through the services' protocol, the client's socket counts the data segments
it received (TCP_INFO), one per send on loopback with Nagle off (uvloop's
default). uvicorn alone writes the head and the body apart: two."""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest
import uvicorn
from titanium_common.serve import CoalescingHttpToolsProtocol

# struct tcp_info (linux/tcp.h): tcpi_data_segs_in, after the fields before it.
DATA_SEGS_IN_OFFSET = 152
BODY = b'{"items": []}'


async def answer(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    await receive()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(BODY)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": BODY})


def data_segments_in(sock: socket.socket) -> int:
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    return struct.unpack_from("I", info, DATA_SEGS_IN_OFFSET)[0]


async def fetch(port: int, connection: str) -> tuple[bytes, int]:
    """The whole answer to one GET, and the data segments it came in."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sock = writer.get_extra_info("socket")
    before = data_segments_in(sock)
    writer.write(f"GET / HTTP/1.1\r\nHost: x\r\nConnection: {connection}\r\n\r\n".encode())
    answer = await reader.readuntil(b"\r\n\r\n")
    answer += await reader.readexactly(len(BODY))
    await asyncio.sleep(0.05)  # anything sent apart has arrived by now
    segments = data_segments_in(sock) - before
    closed = await reader.read() if connection == "close" else b"open"
    writer.close()
    return answer + (b"" if closed == b"" else b"|" + closed), segments


async def scenario(http) -> list[tuple[bytes, int]]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # calls wait in its backlog until uvicorn accepts them
    server = uvicorn.Server(uvicorn.Config(answer, log_config=None, loop="uvloop", http=http))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        return [await fetch(listener.getsockname()[1], c) for c in ("keep-alive", "close")]
    finally:
        server.should_exit = True
        await serving


def run(http) -> list[tuple[bytes, int]]:
    import uvloop

    return uvloop.run(scenario(http))


@pytest.mark.slow
def test_head_and_body_leave_as_one_send() -> None:
    (kept, segments), (closed, _) = run(CoalescingHttpToolsProtocol)
    assert kept.startswith(b"HTTP/1.1 200 OK\r\n") and kept.endswith(BODY + b"|open")
    assert segments == 1
    # Closed after the answer: what was held went out before the close.
    assert closed.startswith(b"HTTP/1.1 200 OK\r\n") and closed.endswith(BODY)


@pytest.mark.slow
def test_uvicorn_alone_sends_them_apart() -> None:
    # What the protocol is for: if uvicorn ever joins them itself, drop it.
    (_, segments), _ = run("httptools")
    assert segments == 2
