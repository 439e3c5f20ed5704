"""Each image (api-gateway, auth-service, user-service) runs exactly the
versions the tests ran, and has every package its requirements.in names; one
services/Dockerfile builds all four (blog-service's lock: its own tests)."""

import re
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parents[2]
REPO = SERVICES.parent
_PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s\\;]+)", re.MULTILINE)


def pins(lock: Path) -> dict[str, str]:
    return {
        name.lower().replace("_", "-"): version for name, version in _PIN.findall(lock.read_text())
    }


@pytest.mark.parametrize("service", ["api-gateway", "auth-service", "user-service", "bookinfo"])
def test_image_lock_agrees_with_the_repository_lock(service):
    image = pins(SERVICES / service / "requirements.lock")
    repository = pins(REPO / "requirements" / "python.lock")
    wanted = [
        re.split(r"[\[<>=;\s]", line, maxsplit=1)[0].lower()
        for line in (SERVICES / service / "requirements.in").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert image and [name for name in wanted if name not in image] == []
    differing = {n: (v, repository.get(n)) for n, v in image.items() if repository.get(n) != v}
    assert differing == {}, "run `make lock-service-images` after `make lock`"


def test_one_dockerfile_pinned_non_root_one_worker():
    """services/Dockerfile builds every image (tests/integration/test_service_images.py
    builds and runs them); no service keeps a Dockerfile of its own."""
    dockerfile = (SERVICES / "Dockerfile").read_text()
    assert re.search(
        r"^ARG BASE_IMAGE=python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}$", dockerfile, re.M
    )
    assert re.search(r"^USER 10001:10001$", dockerfile, re.MULTILINE)
    assert "--workers" not in dockerfile and dockerfile.rstrip().endswith('CMD ["serve"]')
    leftovers = [path for path in SERVICES.glob("*/*") if "docker" in path.name.lower()]
    assert leftovers == []


@pytest.mark.parametrize(
    "service", ["api-gateway", "user-service", "auth-service", "blog-service", "bookinfo"]
)
def test_dockerfile_has_a_stage_per_service(service):
    dockerfile = (SERVICES / "Dockerfile").read_text()
    package = service.replace("-", "_")
    stage = re.search(rf"^FROM runtime AS {service}$(.*?)(?=^FROM )", dockerfile, re.M | re.S)
    assert stage and f'ENTRYPOINT ["python", "-m", "{package}"]' in stage[1]
