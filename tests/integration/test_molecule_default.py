"""`molecule test -s default`: site.yml end to end on the simulated cluster
(see molecule/default/README.md), as part of `make test`."""

from __future__ import annotations

import pytest

from tests.support.molecule import assert_scenario_passes


@pytest.mark.slow
@pytest.mark.long(130)
@pytest.mark.timeout(900)
def test_molecule_default_scenario_passes(figures):
    assert_scenario_passes("default", figures)
