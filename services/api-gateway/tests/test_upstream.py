"""The gateway's upstream client against a real socket server we control."""

import asyncio

import pytest
from api_gateway.upstream import Upstream, UpstreamConnectError

from tests.support.servers import free_port


async def serve(handler):
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ),
        0,
    )
    return head + (await reader.readexactly(length) if length else b"")


def test_keep_alive_chunked_and_content_length():
    seen: list[bytes] = []

    async def handler(reader, writer):
        for answer in (
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n"
            b"set-cookie: a=1\r\nset-cookie: b=2\r\n\r\nhello",
            b"HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            b"HTTP/1.1 204 No Content\r\n\r\n",
        ):
            seen.append(await read_request(reader))
            writer.write(answer)
            await writer.drain()
        writer.close()

    async def scenario():
        server, port = await serve(handler)
        upstream = Upstream(
            f"http://127.0.0.1:{port}", max_connections=4, connect_timeout=1, read_timeout=2
        )
        answer = await upstream.request("GET", "/a?x=1", [("x-request-id", "r1")], b"")
        assert (answer.status, await answer.read()) == (200, b"hello")
        assert [v for n, v in answer.headers if n == b"set-cookie"] == [b"a=1", b"b=2"]
        answer = await upstream.request("POST", "/b", [], b'{"k": 1}')
        assert (answer.status, await answer.read()) == (201, b"abcde")
        answer = await upstream.request("DELETE", "/c", [], b"")
        assert (answer.status, await answer.read()) == (204, b"")
        await upstream.aclose()
        server.close()

    asyncio.run(scenario())
    assert len(seen) == 3  # all three over one kept-alive connection
    assert seen[0].startswith(b"GET /a?x=1 HTTP/1.1\r\n")
    assert b"x-request-id: r1" in seen[0].lower()
    assert seen[1].endswith(b'{"k": 1}')


def test_refused_connection_and_closed_keep_alive_are_connect_errors():
    async def closing_handler(reader, writer):
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()  # the server drops the idle connection

    async def scenario():
        dead = Upstream(
            f"http://127.0.0.1:{free_port()}", max_connections=2, connect_timeout=1, read_timeout=1
        )
        with pytest.raises(UpstreamConnectError):
            await dead.request("GET", "/", [], b"")
        server, port = await serve(closing_handler)
        upstream = Upstream(
            f"http://127.0.0.1:{port}", max_connections=2, connect_timeout=1, read_timeout=1
        )
        assert await (await upstream.request("GET", "/", [], b"")).read() == b"ok"
        await asyncio.sleep(0.05)
        # The pooled connection is dead: a fresh one is used, no error surfaces.
        assert await (await upstream.request("GET", "/", [], b"")).read() == b"ok"
        server.close()

    asyncio.run(scenario())


def test_read_timeout():
    async def silent(reader, writer):
        await asyncio.sleep(5)

    async def scenario():
        server, port = await serve(silent)
        upstream = Upstream(
            f"http://127.0.0.1:{port}", max_connections=1, connect_timeout=1, read_timeout=0.2
        )
        with pytest.raises(TimeoutError):
            await upstream.request("GET", "/", [], b"")
        server.close()

    asyncio.run(scenario())
