"""The image runs exactly the versions the tests ran."""

import re
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[1]
REPO = SERVICE.parents[1]
_PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s\\;]+)", re.MULTILINE)


def pins(lock: Path) -> dict[str, str]:
    return {
        name.lower().replace("_", "-"): version for name, version in _PIN.findall(lock.read_text())
    }


def test_image_lock_agrees_with_the_repository_lock() -> None:
    image = pins(SERVICE / "requirements.lock")
    repository = pins(REPO / "requirements" / "python.lock")
    assert image, "the image lock pins nothing"
    differing = {
        name: (version, repository.get(name))
        for name, version in image.items()
        if repository.get(name) != version
    }
    assert differing == {}, "run `make lock-blog-image` after `make lock`"


def test_every_requirement_is_in_the_image_lock() -> None:
    image = pins(SERVICE / "requirements.lock")
    wanted = [
        re.split(r"[\[<>=;\s]", line, maxsplit=1)[0].lower()
        for line in (SERVICE / "requirements.in").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert [name for name in wanted if name not in image] == []
