"""The upstream of bench/clients.py: one fixed JSON answer, nothing else."""

import json

BODY = json.dumps(
    {"items": [{"id": n, "title": f"Post {n}", "excerpt": "x" * 150} for n in range(20)]}
).encode()
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
