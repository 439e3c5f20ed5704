"""The routing table: which public path goes where, and what never goes anywhere."""

import functools
from dataclasses import dataclass
from urllib.parse import unquote


@dataclass(frozen=True)
class Route:
    prefix: str  # public path prefix, matched on whole segments
    upstream: str  # name of the upstream service
    upstream_prefix: str  # what replaces `prefix` upstream


ROUTES: tuple[Route, ...] = (
    Route("/api/auth", "auth", ""),
    Route("/api/users", "user", "/users"),
    Route("/api/posts", "blog", "/posts"),
    Route("/api/categories", "blog", "/categories"),
    Route("/blog", "blog", "/blog"),
)


def _segments(path: str) -> list[str]:
    # Decode repeatedly: %2569nternal must not slip past as "internal" one hop later.
    for _ in range(3):
        decoded = unquote(path)
        if decoded == path:
            break
        path = decoded
    return [segment.lower() for segment in path.replace("\\", "/").split("/")]


def forbidden(raw_path: str) -> bool:
    """Internal endpoints and dot-segments are never forwarded, however spelled."""
    segments = _segments(raw_path)
    return any(segment in {"internal", "..", "."} or ";" in segment for segment in segments)


# Remembered: the fast path and the proxy both ask, for every request, mostly
# the same few paths; made-up ones only push each other out.
@functools.lru_cache(maxsize=1024)
def resolve(raw_path: str) -> tuple[Route, str] | None:
    """(route, upstream path) for a raw request path, or None if nothing serves it."""
    if forbidden(raw_path):
        return None
    for route in ROUTES:
        if raw_path == route.prefix or raw_path.startswith(route.prefix + "/"):
            rest = raw_path[len(route.prefix) :]
            upstream_path = route.upstream_prefix + rest
            return route, upstream_path or "/"
    return None
