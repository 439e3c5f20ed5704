"""How one service calls another: the keep-alive every client of a service keeps."""

from typing import Any

import httpx

from titanium_common.serve import SERVER_KEEPALIVE_SECONDS

# A client of one of the services drops an idle connection a second before the
# service would: reusing one the service is closing at that instant turns into a
# reset mid-request, a 502 or 503 nobody caused.
CLIENT_KEEPALIVE_SECONDS = SERVER_KEEPALIVE_SECONDS - 1.0


def service_client(
    *, max_connections: int = 100, max_keepalive_connections: int = 20, **options: Any
) -> httpx.AsyncClient:
    """An httpx client for calls to another service (options: base_url, timeout...)."""
    return httpx.AsyncClient(
        limits=httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive_connections,
            keepalive_expiry=CLIENT_KEEPALIVE_SECONDS,
        ),
        **options,
    )
