"""The gateway's pooled client to one upstream service, on aiohttp.

aiohttp owns the HTTP/1.1 framing and the connection pool: interim (1xx)
responses are consumed before the final one, and a connection whose response
was not read to the end is closed instead of going back to the pool, so no
client can ever read another client's answer. `scripts/services/bench/clients.py`
measured it against httpx on the gateway's hot path (see services/README.md).
What stays ours is the policy: which headers cross, what is buffered or
streamed, what may be retried.
"""

from collections.abc import AsyncIterator, Iterable
from urllib.parse import urlsplit

import aiohttp
from multidict import CIMultiDict
from titanium_common.clients import CLIENT_KEEPALIVE_SECONDS
from yarl import URL

# Answers up to this size are read whole (one Response, one write); larger or
# unsized ones are streamed through so a big body never sits in memory twice.
BUFFERED_BODY_BYTES = 256 * 1024
STREAM_CHUNK_BYTES = 64 * 1024

# RFC 9110 §7.6.1 hop-by-hop fields, plus fields the gateway sets itself and
# Expect: the gateway already has the whole body (or streams it), so asking the
# upstream for a 100 Continue would only add an interim answer to the exchange.
HOP_BY_HOP = frozenset(
    {
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate",
        "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "expect",
        "host", "content-length",
    }
)  # fmt: skip
# Not passed back: aiohttp or the gateway's server frame the answer themselves;
# x-request-id: the middleware sets ours (the same id) on the way out.
RESPONSE_DROP = frozenset(
    {
        b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"trailer",
        b"upgrade", b"content-length", b"server", b"date", b"x-request-id",
    }
)  # fmt: skip


class UpstreamConnectError(Exception):
    """No request reached the upstream: safe to retry on another connection."""


class UpstreamDisconnected(Exception):
    """The upstream closed the connection before answering: a pooled connection it
    had dropped, or a crash mid-request. Only an idempotent request may be sent again."""


class UpstreamProtocolError(Exception):
    """The upstream's answer cannot be passed on (broken framing, a 1xx as final)."""


def forwardable(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop hop-by-hop fields and every field the client's Connection header names."""
    pairs = [(name.lower(), value) for name, value in headers]
    named = {
        token.strip().lower()
        for name, value in pairs
        if name == "connection"
        for token in value.split(",")
    }
    dropped = HOP_BY_HOP | named if named else HOP_BY_HOP
    return [(name, value) for name, value in pairs if name not in dropped]


class UpstreamResponse:
    """The final answer's status and headers; the body is read whole or streamed."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status = response.status
        named = {
            token.strip().lower().encode()
            for value in response.headers.getall("connection", ())
            for token in value.split(",")
        }
        dropped = RESPONSE_DROP | named if named else RESPONSE_DROP
        self.headers = [
            (name.lower(), value)
            for name, value in response.raw_headers
            if name.lower() not in dropped
        ]
        self.length = response.content_length
        if self.status < 200:
            # aiohttp consumes 100-199 except 101; a switch nobody asked for
            # (Upgrade never crosses) leaves a connection that is no longer HTTP.
            response.close()
            raise UpstreamProtocolError(f"upstream answered {self.status} as final")

    @property
    def small(self) -> bool:
        return self.length is not None and self.length <= BUFFERED_BODY_BYTES

    async def read(self) -> bytes:
        try:
            return await self._response.read()
        except aiohttp.ClientPayloadError as exc:
            raise UpstreamProtocolError(f"upstream body cut short: {exc}") from exc
        finally:
            self._response.release()

    async def stream(self) -> AsyncIterator[bytes]:
        # Released in `finally`: if the client went away or the upstream broke
        # off, aiohttp closes the connection rather than pooling a half-read one.
        try:
            async for chunk in self._response.content.iter_chunked(STREAM_CHUNK_BYTES):
                yield chunk
        finally:
            self._response.release()


class Upstream:
    def __init__(
        self, base_url: str, *, max_connections: int, connect_timeout: float, read_timeout: float
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http":
            raise ValueError(f"upstream {base_url!r}: only http:// (the mesh adds TLS)")
        self.base_url = f"http://{parts.hostname or '127.0.0.1'}:{parts.port or 80}"
        self._max_connections = max_connections
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=connect_timeout, sock_read=read_timeout
        )
        self._session: aiohttp.ClientSession | None = None

    def _session_for_this_loop(self) -> aiohttp.ClientSession:
        # Made on first use: aiohttp binds a session to the running event loop.
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._max_connections,
                    keepalive_timeout=CLIENT_KEEPALIVE_SECONDS,
                    ttl_dns_cache=30,
                ),
                timeout=self._timeout,
                # The client's own headers and bodies cross unchanged.
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def request(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | AsyncIterator[bytes],
    ) -> UpstreamResponse:
        """Send one request; the caller reads or streams the answer's body.

        Raises UpstreamConnectError (nothing sent), TimeoutError,
        UpstreamProtocolError or aiohttp.ClientError (sent, outcome unknown)."""
        session = self._session_for_this_loop()
        try:
            response = await session.request(
                method,
                # The raw path the routing table checked, sent as it came: no re-quoting.
                URL(self.base_url + target, encoded=True),
                headers=CIMultiDict(headers),
                data=body or None,  # no body: no framing headers on a GET
                allow_redirects=False,
            )
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise UpstreamConnectError(str(exc)) from exc
        except aiohttp.ServerTimeoutError as exc:
            raise TimeoutError(str(exc)) from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise UpstreamDisconnected(str(exc)) from exc
        return UpstreamResponse(response)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
