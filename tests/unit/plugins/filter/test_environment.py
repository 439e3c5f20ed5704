"""preflight's environment-name check is the renderer's rule, not a copy of it."""

from __future__ import annotations

import pytest

from ansible_collections.titanium.platform.plugins.filter.environment import (
    environment_name_problem,
)


@pytest.mark.parametrize("name", ["local", "staging", "eu-west-2"])
def test_a_name_fit_for_paths_has_no_problem(name):
    assert environment_name_problem(name) == ""


@pytest.mark.parametrize("name", ["", "Staging", "qa/../prod", "-x", "a" * 40, None])
def test_an_unfit_name_is_named_with_what_to_do(name):
    problem = environment_name_problem(name)
    assert repr(name) in problem and "lowercase letters, digits and '-'" in problem
