"""Each image (api-gateway, auth-service, user-service) runs exactly the
versions the tests ran, and has every package its requirements.in names."""

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


@pytest.mark.parametrize("service", ["api-gateway", "auth-service", "user-service"])
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


@pytest.mark.parametrize("service", ["api-gateway", "auth-service", "user-service"])
def test_dockerfile_runs_as_non_root_with_one_worker(service):
    dockerfile = (SERVICES / service / "Dockerfile").read_text()
    assert dockerfile.count("FROM python:3.11-slim") == 2
    assert re.search(r"^USER 10001:10001$", dockerfile, re.MULTILINE)
    assert "--workers" not in dockerfile and 'CMD ["serve"]' in dockerfile
