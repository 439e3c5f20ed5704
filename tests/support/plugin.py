"""The test kit, loaded as a pytest plugin (`-p tests.support.plugin` in
pyproject.toml's addopts), so every test under tests/ and services/ gets its
fixtures without a conftest import or a sys.path edit.

Fixtures:
- `repo_root`: the checkout, which is also the titanium.platform collection.
- `postgres`, `redis_service`: one real PostgreSQL 15 and one real Redis 7 for
  the session (tests.support.servers); tests isolate by role and schema.
- `service_database`: provisions a service's role and schema on `postgres`.
- Parallel runs (`make pytest` runs pytest-xdist's `-n 2 --dist loadfile`): a
  module runs whole on one worker (its module fixtures once), the modules that
  must not run at the same time (ONE_AT_A_TIME) run on one worker one after the
  other, and modules marked `long(seconds)` start first, longest first, so the
  run does not end on one worker still busy with the longest.
- `figures`: `figures("text")` adds lines to the "figures" section pytest prints
  at the end of the run (timings, reports): the one way a passing test shows
  something, and it works under pytest-xdist, where a worker's output is lost.

The rest of the kit is imported where it is used: tests.support.servers and
services (processes on 127.0.0.1), ansible_run (ansible-playbook as an operator
runs it), module_run (a module's main() in this process), role_templates (the
roles' templates rendered by ansible-playbook), prometheus_server,
alertmanager_server, monitoring and traffic (the observability tier), gitea,
argocd, git_http, git_ssh, blog_stack, ingress, tokens, status_page_args,
molecule_cluster (molecule/default's cluster), isolation (the unit tier's
guard). The simulated cluster is tests/cluster (sim.py, with pki.py and
processes.py; node.py is its real node).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ansible.plugins.loader import init_plugin_loader

from tests.support.servers import (
    PostgresServer,
    RedisServer,
    postgres_server,
    provision_service,
    redis_server,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

# Ansible's collection finder, installed before any test module imports
# ansible_collections.titanium.platform: the checkout is that collection through
# build/collections (make setup), and a test that starts Ansible's plugin loader
# later must find the collection's packages already loaded the same way.
init_plugin_loader([str(REPO_ROOT / "build" / "collections")])


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL 15 for the session; tests isolate by role and schema."""
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def redis_service() -> Iterator[RedisServer]:
    """One real Redis 7 for the session."""
    with redis_server() as server:
        yield server


@pytest.fixture(scope="session")
def service_database(postgres: PostgresServer) -> Callable[[str], str]:
    """Factory: `service_database("blog")` provisions role and schema `blog` (once)
    and returns the asyncpg URL that role connects with."""
    urls: dict[str, str] = {}

    def make(name: str) -> str:
        if name not in urls:
            urls[name] = provision_service(postgres, name, name, secrets.token_urlsafe(16))
        return urls[name]

    return make


FIGURES = "figures"


@pytest.fixture
def figures(record_property) -> Callable[[str], None]:
    """`figures(text)`: text for the run's "figures" section, under the test's name."""

    def add(text: str) -> None:
        record_property(FIGURES, text.strip("\n"))

    return add


def pytest_terminal_summary(terminalreporter) -> None:
    """Every test's figures, in run order, whether the test passed or failed. Under
    xdist the reports arrive at the controller with their user_properties."""
    shown = [
        (report.nodeid, value)
        for outcome in ("passed", "failed", "error")
        for report in terminalreporter.stats.get(outcome, [])
        if report.when == "call" or outcome == "error"
        for name, value in getattr(report, "user_properties", [])
        if name == FIGURES
    ]
    if not shown:
        return
    terminalreporter.section(FIGURES)
    for nodeid, text in dict.fromkeys(shown):
        terminalreporter.write_line(f"{nodeid}:")
        for line in text.splitlines():
            terminalreporter.write_line(f"  {line}")


# Modules that must not run at the same time: a parallel run gives each set to
# one worker, which runs them one after the other (in collection order).
ONE_AT_A_TIME = {
    "real-node-and-heaviest": (
        # One real node per machine: the bridge, CoreDNS on port 53 and the
        # host's KUBE- chains, which stop() removes and both modules' last tests
        # look for.
        "tests/integration/test_real_node.py",
        "tests/integration/test_rehearsal_node.py",
        # Not the node's, but two cores cannot carry it beside the rehearsal:
        # together, the rehearsal's kubectl calls timed out after 30 s and its
        # drills ran two to three times slower.
        "tests/integration/test_molecule_k3s.py",
    ),
}
WORK_UNIT = {module: name for name, modules in ONE_AT_A_TIME.items() for module in modules}


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: unknown without it
def pytest_xdist_make_scheduler(config, log):
    """--dist loadfile, with each set of ONE_AT_A_TIME as one unit. The
    scheduler sees only node ids, never markers (and xdist's loadgroup renames
    node ids in a way pytest 9 ignores), so the sets are named here."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class ModuleScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = super()._split_scope(nodeid)
            return WORK_UNIT.get(module, module)

    return ModuleScheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long modules first, longest first (a stable sort keeps each module's own
    order): every worker collects in this order, and xdist hands out modules in it."""
    items.sort(key=lambda item: -expected_seconds(item))


def expected_seconds(item: pytest.Item) -> float:
    """What `@pytest.mark.long(seconds)` says the test's module takes; 0 unmarked."""
    marker = item.get_closest_marker("long")
    return marker.args[0] if marker else 0
