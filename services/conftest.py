"""Fixtures every service's tests share: real PostgreSQL and Redis processes."""

# postgres, redis_service, service_database: the test kit plugin (tests/support/plugin.py).
