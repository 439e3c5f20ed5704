"""No service serves FastAPI's documentation pages: they load Swagger UI and
ReDoc scripts from a CDN on the blog's origin (through the gateway,
/api/auth/docs). The OpenAPI document stays for tools."""

from fastapi.testclient import TestClient
from titanium_common import ServiceSettings, create_app


def test_no_docs_pages_and_the_openapi_document_stays():
    settings = ServiceSettings(service_name="testsvc", metrics_port=0)
    with TestClient(create_app(settings, title="test")) as client:
        for page in ("/docs", "/redoc", "/docs/oauth2-redirect"):
            answer = client.get(page)
            assert answer.status_code == 404, (page, answer.text[:200])
            assert "cdn" not in answer.text
        document = client.get("/openapi.json")
        assert document.status_code == 200 and document.json()["info"]["title"] == "test"
