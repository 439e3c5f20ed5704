"""A service's client lets go of an idle connection before the service closes it:
against a real uvicorn with the services' keep-alive, a call made between the
two timeouts goes out on a fresh connection, never on the one being closed
(the race that turns into a 503 on the auth-service's call to user-service)."""

from __future__ import annotations

import asyncio
import socket

import pytest
import uvicorn
from titanium_common.clients import CLIENT_KEEPALIVE_SECONDS, service_client
from titanium_common.serve import SERVER_KEEPALIVE_SECONDS


async def client_port(scope, receive, send) -> None:
    """Answers with the port the caller's connection comes from."""
    if scope["type"] != "http":
        return
    await receive()
    body = str(scope["client"][1]).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


@pytest.mark.slow
def test_an_idle_connection_is_dropped_before_the_service_drops_it() -> None:
    asyncio.run(scenario())


async def scenario() -> None:
    assert CLIENT_KEEPALIVE_SECONDS < SERVER_KEEPALIVE_SECONDS - 0.5
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(client_port, log_config=None, timeout_keep_alive=SERVER_KEEPALIVE_SECONDS)
    )
    listener.listen()  # calls wait in its backlog until uvicorn accepts them
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        async with service_client(base_url=f"http://127.0.0.1:{port}", timeout=2) as client:
            first = (await client.get("/")).text
            assert (await client.get("/")).text == first  # kept alive while in use
            # Idle until just short of the server's timeout: the client must
            # have let go by now.
            await asyncio.sleep(SERVER_KEEPALIVE_SECONDS - 0.5)
            second = await client.get("/")
        assert second.status_code == 200
        assert second.text != first, "the idle connection was reused as the service closed it"
    finally:
        server.should_exit = True
        await serving
