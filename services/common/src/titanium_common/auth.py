"""Access-token verification against auth-service's JWKS, cached locally.

Services never call auth-service per request: they fetch the JWKS once, keep
it for `jwks_cache_seconds`, and refetch early only when a token names a key
id they do not know (key rotation), at most once every few seconds.

While auth-service is slow or down, a crowd of requests must not become a
crowd of fetches: one fetch is in flight at a time and every request that needs
it waits for that one; after a failure the next attempt backs off (doubling up
to a minute); a known key keeps verifying from the stale cache meanwhile.
"""

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
import jwt
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from titanium_common.clients import service_client
from titanium_common.errors import ServiceUnavailable

log = logging.getLogger(__name__)

# What auth-service signs with (Ed25519 or RSA keys). A key verifies only its
# own algorithm: a token whose header names another one is refused before the
# key is used, whatever the header says.
ALGORITHMS = frozenset({"EdDSA", "RS256"})
# The least time between two fetch attempts, whatever the tokens ask for.
REFETCH_SECONDS = 5.0
# The longest wait between attempts while fetches keep failing.
MAX_BACKOFF_SECONDS = 60.0


@dataclass(frozen=True)
class CurrentUser:
    id: int
    username: str


class InvalidToken(Exception):
    pass


class TokenVerifier:
    def __init__(
        self,
        jwks_url: str,
        *,
        issuer: str,
        audience: str,
        cache_seconds: int = 300,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.audience = audience
        self.cache_seconds = cache_seconds
        self._http = http or service_client(timeout=2.0)
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = -float("inf")
        self._next_attempt_at = 0.0
        self._failures = 0
        self._fetch: asyncio.Task[None] | None = None

    def load_jwks(self, jwks: dict[str, Any]) -> None:
        """Install keys directly (auth-service verifies with its own JWKS this way)."""
        keys = {}
        for entry in jwt.PyJWKSet.from_dict(jwks).keys:
            if entry.key_id and entry.algorithm_name in ALGORITHMS:
                keys[entry.key_id] = entry
        self._keys = keys
        self._fetched_at = time.monotonic()

    def _start_fetch(self) -> asyncio.Task[None] | None:
        """The fetch in flight, or a new one if the backoff allows; None if not."""
        if self._fetch is None and self.jwks_url and time.monotonic() >= self._next_attempt_at:
            self._fetch = asyncio.create_task(self._fetch_jwks())
        return self._fetch

    async def _fetch_jwks(self) -> None:
        try:
            response = await self._http.get(self.jwks_url)
            response.raise_for_status()
            self.load_jwks(response.json())
            self._failures = 0
            self._next_attempt_at = time.monotonic() + REFETCH_SECONDS
        # Whatever came back (a timeout, a 5xx, a body that is no JWKS), the
        # keys in hand stay and the next attempt backs off: one shared fetch
        # must never hand an exception to every request waiting on it.
        except Exception as exc:
            self._failures += 1
            backoff = min(REFETCH_SECONDS * 2 ** (self._failures - 1), MAX_BACKOFF_SECONDS)
            self._next_attempt_at = time.monotonic() + backoff
            log.warning(
                "jwks fetch failed",
                extra={"error": repr(exc), "url": self.jwks_url, "retry_in_s": backoff},
            )
        finally:
            self._fetch = None

    async def _key_for(self, kid: str) -> jwt.PyJWK:
        key = self._keys.get(kid)
        if key is not None:
            if time.monotonic() - self._fetched_at > self.cache_seconds:
                self._start_fetch()  # refreshed behind this request, which need not wait
            return key
        fetch = self._start_fetch()
        if fetch is not None:
            # Shielded: a request that goes away must not cancel everyone's fetch.
            await asyncio.shield(fetch)
        if not self._keys and self.jwks_url:
            raise ServiceUnavailable("token keys")
        key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("unknown key id")
        return key

    async def verify(self, token: str) -> CurrentUser:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("malformed token") from exc
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("no key id")
        key = await self._key_for(kid)
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm_name],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
            return CurrentUser(id=int(claims["sub"]), username=str(claims.get("username", "")))
        except (jwt.PyJWTError, ValueError) as exc:
            raise InvalidToken(str(exc)) from exc

    async def close(self) -> None:
        if self._fetch is not None:
            self._fetch.cancel()
        await self._http.aclose()


_bearer = HTTPBearer(auto_error=False, description="Access token from POST /api/auth/login")


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(401, reason, headers={"WWW-Authenticate": "Bearer"})


async def optional_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> CurrentUser | None:
    """The caller if a bearer token came; None if none came; 401 if it is bad."""
    if credentials is None:
        return None
    verifier: TokenVerifier | None = request.app.state.ctx.verifier
    if verifier is None:
        raise _unauthorized("authentication not configured")
    try:
        return await verifier.verify(credentials.credentials)
    except InvalidToken as exc:
        raise _unauthorized("invalid or expired token") from exc


async def current_user(
    user: Annotated[CurrentUser | None, Depends(optional_user)],
) -> CurrentUser:
    """The caller; 401 without a valid bearer token."""
    if user is None:
        raise _unauthorized("authentication required")
    return user
