"""Properties of the gateway: its own OpenAPI never gives a 5xx, and no
spelling of an internal path is ever routed."""

from urllib.parse import quote

import pytest
import schemathesis
from api_gateway.app import build_app
from api_gateway.routing import resolve
from api_gateway.settings import Settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from tests.support.servers import free_port
from tests.support.services import running_service

schema = schemathesis.openapi.from_dict(build_app(Settings(metrics_port=0)).openapi())

segment = st.text(alphabet=st.characters(codec="ascii", exclude_characters="/?#"), max_size=8)


@given(
    prefix=st.sampled_from(
        ["/api/auth", "/api/users", "/api/posts", "/api/categories", "/blog", ""]
    ),
    before=st.lists(segment, max_size=3),
    after=st.lists(segment, max_size=3),
    spelling=st.sampled_from(
        [
            "internal",
            "INTERNAL",
            "Internal",
            quote("internal", safe=""),
            "%69nternal",
            "%2569nternal",
        ]
    ),
)
@settings(max_examples=300, deadline=None)
def test_no_internal_path_is_ever_routed(prefix, before, after, spelling):
    path = "/".join([prefix, *before, spelling, *after])
    assert resolve(path) is None


@pytest.fixture(scope="module")
def gateway(redis_service):
    port = free_port()
    env = {
        "GATEWAY_PORT": str(port),
        "GATEWAY_METRICS_PORT": "0",
        "GATEWAY_REDIS_URL": redis_service.url,
    }
    with running_service("api_gateway", port, env) as service:
        yield service


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_a_server_error(case, gateway):
    case.call_and_validate(base_url=gateway.url, checks=[not_a_server_error])
