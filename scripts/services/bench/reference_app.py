"""The reference of `make bench-services`: the smallest ASGI app on the services'
own server stack (uvicorn with uvloop and httptools, one worker) that answers
the blog's cached list bytes from the same Redis. Nothing real can do less per
request on this stack, so the real paths are judged as a share of it.

Reads REFERENCE_REDIS_URL and REFERENCE_KEY; serves any path.
    python reference_app.py <port>
"""

import os
import sys

import redis.asyncio as redis
from titanium_common.serve import serve
from titanium_common.settings import ServiceSettings

CLIENT = redis.Redis.from_url(os.environ["REFERENCE_REDIS_URL"])
KEY = os.environ["REFERENCE_KEY"]


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await CLIENT.aclose()
        await send({"type": "lifespan.shutdown.complete"})
        return
    body = await CLIENT.get(KEY) or b""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    # The services' own server, as every service's `serve` command runs it.
    serve(app, ServiceSettings(host="127.0.0.1", port=int(sys.argv[1])))
