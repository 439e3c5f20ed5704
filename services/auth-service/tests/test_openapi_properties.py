"""Property-based tests of auth-service's OpenAPI: no input gives a 5xx.
Bounded examples; real processes (auth and user-service) on real PostgreSQL and Redis."""

import pytest
import schemathesis
from auth_service.app import build_app
from auth_service.settings import Settings
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.support.servers import free_port
from tests.support.services import run_command, running_service, running_user_service

pytestmark = pytest.mark.slow
schema = schemathesis.openapi.from_dict(build_app(Settings(metrics_port=0)).openapi())


@pytest.fixture(scope="module")
def auth_service(service_database, redis_service):
    with running_user_service(service_database("users"), redis_service.url) as users:
        auth_env = {
            "AUTH_DATABASE_URL": service_database("auth"),
            "AUTH_REDIS_URL": redis_service.url,
            "AUTH_USER_SERVICE_URL": users.url,
            "AUTH_PORT": str(free_port()),
            "AUTH_METRICS_PORT": "0",
        }
        run_command("auth_service", "migrate", auth_env)
        with running_service("auth_service", int(auth_env["AUTH_PORT"]), auth_env) as auth:
            yield auth


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_a_server_error(case, auth_service):
    case.call_and_validate(base_url=auth_service.url, checks=[not_a_server_error])
