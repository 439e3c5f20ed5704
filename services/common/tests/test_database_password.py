"""A role password with URL-significant characters reaches PostgreSQL intact:
escaped when the tests' support builds a URL, and kept out of the URL when
given as <PREFIX>DATABASE_PASSWORD (as the cluster's Deployments give it)."""

import pytest
from fastapi.testclient import TestClient
from titanium_common import ServiceSettings, create_app
from titanium_common.serve import migrate

from tests.support.servers import PG_DATABASE, provision_service

pytestmark = pytest.mark.slow

# Each of these ends or splits a URL's user-info part when left unescaped.
PASSWORD = "p@ss:w/rd?#%2F[x] 'q\""
ROLE = "odd_password"


def ready(settings: ServiceSettings) -> int:
    with TestClient(create_app(settings, title="t")) as client:
        return client.get("/health/ready").status_code


@pytest.fixture(scope="module")
def provisioned(postgres) -> str:
    return provision_service(postgres, ROLE, ROLE, PASSWORD)


def test_the_support_url_escapes_the_password(provisioned):
    settings = ServiceSettings(service_name="t", metrics_port=0, database_url=provisioned)
    assert ready(settings) == 200


def test_database_password_setting_stays_out_of_the_url(postgres, provisioned, tmp_path):
    settings = ServiceSettings(
        service_name="t",
        metrics_port=0,
        database_url=f"postgresql+asyncpg://{ROLE}@127.0.0.1:{postgres.port}/{PG_DATABASE}",
        database_password=PASSWORD,
    )
    assert ready(settings) == 200
    # Migrations connect the same way (an empty migration tree is enough to connect).
    (tmp_path / "versions").mkdir()
    (tmp_path / "env.py").write_text(
        "from sqlalchemy import MetaData\n"
        "from titanium_common.serve import run_async_migrations\n"
        f"run_async_migrations(MetaData(), schema={ROLE!r})\n"
    )
    (tmp_path / "script.py.mako").write_text("")
    migrate(tmp_path, settings)
