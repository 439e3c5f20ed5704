"""titanium.platform.image_digest against a real registry (Debian's
docker-registry) that wants credentials: the digest it reads is the one the
push stored, and each way of failing says what is wrong."""

from __future__ import annotations

import pytest

from ansible_collections.titanium.platform.plugins.modules import image_digest
from tests.support.module_run import run_module_main
from tests.support.registry import registry_server
from tests.support.servers import free_port

REPOSITORY = "titanium-blog-service"


@pytest.fixture(scope="module")
def registry():
    with registry_server(credentials=("ci", "not-a-real-secret")) as server:
        server.digests[REPOSITORY, "1.4.0"] = server.publish(REPOSITORY, "1.4.0")
        server.digests[REPOSITORY, "1.5.0"] = server.publish(REPOSITORY, "1.5.0")
        yield server


def digest(registry_host: str, tag: str, auth: str = "", check: bool = False) -> tuple[int, dict]:
    args = {
        "registry": registry_host,
        "images": {REPOSITORY: tag},
        "tls_verify": False,
        "auth": auth,
        "retries": 0,
    }
    return run_module_main(image_digest.main, args, check=check)


def test_each_tag_resolves_to_the_digest_the_push_stored_even_in_check_mode(registry):
    for tag in ("1.4.0", "1.5.0"):
        code, result = digest(registry.host, tag, registry.auth_json(), check=True)
        assert code == 0, result
        assert result["changed"] is False
        assert result["digests"] == {REPOSITORY: registry.digests[REPOSITORY, tag]}
    assert registry.digests[REPOSITORY, "1.4.0"] != registry.digests[REPOSITORY, "1.5.0"]


def test_a_missing_tag_is_named_with_the_tags_the_registry_has(registry):
    code, result = digest(registry.host, "9.9.9", registry.auth_json())
    assert code == 1
    assert f"has no tag '9.9.9' of {REPOSITORY} (tags it has: 1.4.0, 1.5.0)" in result["msg"]


@pytest.mark.parametrize(
    ("auth", "said"),
    [
        ("", "unauthorized"),
        ("ci:not-a-real-secret", "is not a Docker config JSON"),
    ],
)
def test_missing_or_malformed_credentials_are_named(registry, auth, said):
    code, result = digest(registry.host, "1.4.0", auth)
    assert code == 1
    assert said in result["msg"]
    assert "not-a-real-secret" not in result["msg"]


def test_an_unreachable_registry_says_what_to_check():
    code, result = digest(f"127.0.0.1:{free_port()}", "1.4.0")
    assert code == 1
    assert "cannot read" in result["msg"] and "connection refused" in result["msg"]
    assert "image_registry" in result["msg"]
