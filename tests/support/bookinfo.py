"""Bookinfo's services (services/bookinfo) as real processes on 127.0.0.1, each
with its own public and metrics port, wired as the call graph wires them."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tests.support.servers import free_port
from tests.support.services import RunningService, running_service

VERSIONS = ("v1", "v2", "v3")


@dataclass
class BookinfoProcess:
    service: RunningService
    metrics_port: int

    @property
    def url(self) -> str:
        return self.service.url

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def logs(self) -> str:
        return self.service.logs()


def start(
    stack: contextlib.ExitStack, service: str, env: dict[str, str] | None = None, **settings: str
) -> BookinfoProcess:
    """`python -m bookinfo serve` as `service`, with BOOKINFO_<KEY> settings and
    any other variables in `env`."""
    port, metrics = free_port(), free_port()
    variables = {
        **(env or {}),
        "BOOKINFO_SERVICE": service,
        "BOOKINFO_PORT": str(port),
        "BOOKINFO_METRICS_PORT": str(metrics),
        **{f"BOOKINFO_{key.upper()}": value for key, value in settings.items()},
    }
    return BookinfoProcess(
        stack.enter_context(running_service("bookinfo", port, variables)), metrics
    )


@contextlib.contextmanager
def bookinfo_graph(
    productpage_reviews: str = "v2", env: Callable[[str], dict[str, str]] | None = None
) -> Iterator[dict]:
    """details, ratings, reviews v1/v2/v3 and a productpage calling the reviews
    version given (the mesh would spread its calls over the three):
    {"details", "ratings", "reviews": {version: ...}, "productpage"}. `env`
    gives a workload (its Deployment's name: reviews-v2) more variables."""
    extra = env or (lambda _workload: {})
    with contextlib.ExitStack() as stack:
        details = start(stack, "details", extra("details"))
        ratings = start(stack, "ratings", extra("ratings"))
        reviews = {
            version: start(
                stack,
                "reviews",
                extra(f"reviews-{version}"),
                reviews_version=version,
                ratings_url=ratings.url,
            )
            for version in VERSIONS
        }
        productpage = start(
            stack,
            "productpage",
            extra("productpage"),
            details_url=details.url,
            reviews_url=reviews[productpage_reviews].url,
        )
        yield {
            "details": details,
            "ratings": ratings,
            "reviews": reviews,
            "productpage": productpage,
        }
