"""The unit tier: plugin, filter and template logic in this process, in seconds.

Every phase of every test here (fixtures included, whatever their scope; not
the session's final teardown, which also stops other tiers' servers) runs under
tests.support.isolation: a test that starts a process (ansible-playbook,
git, a server) or binds or reaches a network socket fails, naming what it did.
Such a test belongs in tests/integration.
"""

from __future__ import annotations

import pytest

from tests.support.isolation import isolated


def _guarded(item: pytest.Item):
    with isolated() as violations:
        result = yield
    if violations:
        pytest.fail(
            f"{item.nodeid} is not a unit test: it "
            + "; it ".join(dict.fromkeys(violations))
            + ". Move it to tests/integration.",
            pytrace=False,
        )
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    return (yield from _guarded(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    return (yield from _guarded(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    if nextitem is None:
        # The session's last teardown also stops what other tiers' session
        # fixtures started (a PostgreSQL, the simulated cluster); a unit fixture's
        # own setup was guarded already.
        return (yield)
    return (yield from _guarded(item))
