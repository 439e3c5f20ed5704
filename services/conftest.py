"""Fixtures every service's tests share: real PostgreSQL and Redis processes."""

from tests.support.fixtures import *  # noqa: F403
