"""Property-based tests of user-service's OpenAPI: no input gives a 5xx.
Bounded examples; a real process on real PostgreSQL and Redis."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from user_service.app import build_app
from user_service.settings import Settings

from tests.support.services import running_user_service
from tests.support.tokens import TokenFactory, serving_jwks

pytestmark = pytest.mark.slow
schema = schemathesis.openapi.from_dict(build_app(Settings(metrics_port=0)).openapi())
TOKENS = TokenFactory()


@pytest.fixture(scope="module")
def user_service(service_database, redis_service):
    with (
        serving_jwks(TOKENS.jwks) as jwks_url,
        running_user_service(
            service_database("users"), redis_service.url, USER_JWKS_URL=jwks_url
        ) as service,
    ):
        yield service


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_a_server_error(case, user_service):
    case.call_and_validate(
        base_url=user_service.url, headers=TOKENS.headers(1, "fuzzer"), checks=[not_a_server_error]
    )
