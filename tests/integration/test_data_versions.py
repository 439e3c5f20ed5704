"""Deploy what you test: the PostgreSQL and Redis every environment pins
(gitops/values/common.yml) are the major versions the services' tests run
against and the rehearsal's node runs, both Debian's packages on this machine.

Majors, not point releases: PostgreSQL's minor releases keep the on-disk format
and add no features, and Redis's keep its commands; Debian and the upstream
images take their point releases on their own schedules.
"""

import re
import subprocess

from ansible_collections.titanium.platform.plugins.module_utils.gitops_render import common_values
from tests.support.servers import PG_BIN

PINS = common_values()


def pinned_major(key: str) -> str:
    tag = PINS[key].split("@")[0].rsplit(":", 1)[1]
    return re.match(r"\d+", tag)[0]


def major_run_here(command: list[str], pattern: str) -> str:
    banner = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return re.search(pattern, banner)[1]


def test_the_pinned_postgresql_is_the_major_run_here():
    tested = major_run_here([str(PG_BIN / "postgres"), "--version"], r"PostgreSQL\) (\d+)\.")
    assert pinned_major("postgres_image") == tested, (
        f"postgres_image {PINS['postgres_image']} is not PostgreSQL {tested}, which the tests run: "
        "pin the major the tests run (or move the tests and the rehearsal's image first)"
    )


def test_the_pinned_redis_is_the_major_run_here():
    tested = major_run_here(["redis-server", "--version"], r"v=(\d+)\.")
    assert pinned_major("redis_image") == tested, (
        f"redis_image {PINS['redis_image']} is not Redis {tested}, which the tests run"
    )
