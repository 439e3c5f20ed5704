"""Property-based tests of blog-service's own OpenAPI: no input gives a 5xx.

Every operation runs with a valid token, so the write paths get past
authentication and their bodies are what is exercised. Bounded examples keep
this in seconds; it runs against the real process on real PostgreSQL and Redis.
"""

import schemathesis
from blog_service.app import build_app
from blog_service.settings import BlogSettings
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import BlogProcess, Signer


def _openapi_document() -> dict:
    # The same document the service serves at /openapi.json; building the app
    # opens no connection, so the schema is known at collection time.
    settings = BlogSettings(metrics_port=0, database_url="postgresql+asyncpg://unused@127.0.0.1/x")
    return build_app(settings).openapi()


schema = schemathesis.openapi.from_dict(_openapi_document())


def test_the_served_document_is_the_one_tested(api) -> None:  # type: ignore[no-untyped-def]
    assert api.get("/openapi.json").json() == _openapi_document()


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_input_makes_a_server_error(case, blog_service: BlogProcess, signer: Signer) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(
        base_url=blog_service.url,
        headers=signer.headers(4242, "fuzzer"),
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )
