"""Settings read from the environment; each service subclasses with its own prefix."""

from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url

# Metrics live on the public port plus this offset unless set explicitly, so the
# public port never exposes them (8000 -> 9000, 8005 -> 9005).
METRICS_PORT_OFFSET = 1000


class ServiceSettings(BaseSettings):
    """Base settings. A service subclass sets `model_config` with its env prefix.

    Example: `class Settings(ServiceSettings): model_config = service_config("BLOG_")`
    reads BLOG_PORT, BLOG_DATABASE_URL, ...
    """

    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = "service"
    environment: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    metrics_port: int | None = None
    metrics_host: str | None = None
    log_level: str = "INFO"
    # Which requests get the service's own JSON access line: `all`, or
    # `errors-and-slow` (status >= 400, or slower than access_log_slow_ms).
    # Behind an Istio sidecar every request already has a line in the sidecar's
    # access log; the service's own line costs about a fifth of a cached read's
    # CPU (services/README.md), so the GitOps tree picks errors-and-slow there.
    access_log: Literal["all", "errors-and-slow"] = "all"
    access_log_slow_ms: float = 250.0

    # Empty means the service has no database (the gateway).
    database_url: str = ""
    # The role's password, apart from database_url so that any character works
    # (a URL would need it percent-encoded, which a Kubernetes $(VAR) reference
    # cannot do). When set it replaces whatever password the URL holds.
    database_password: SecretStr | None = None
    database_pool_size: int = 10
    database_max_overflow: int = 5
    # Seconds; a down database must turn into a quick 503, not a hung request.
    database_connect_timeout: float = 2.0
    database_statement_timeout: float = 5.0

    # Empty means no Redis; the service then behaves as if Redis were down.
    redis_url: str = ""
    # Apart from the URL, so no character of it needs escaping there (the
    # cluster passes it from the titanium-redis Secret).
    redis_password: SecretStr | None = None
    redis_timeout: float = 0.25

    # Where access tokens are verified from. Empty disables authentication
    # dependencies (they then answer 401).
    jwks_url: str = ""
    jwks_cache_seconds: int = 300
    jwt_issuer: str = "titanium-auth"
    jwt_audience: str = "titanium"

    max_body_bytes: int = 1024 * 1024

    @property
    def database_connect_url(self) -> URL:
        """database_url with database_password in it, escaped by SQLAlchemy."""
        url = make_url(self.database_url)
        if self.database_password is not None:
            url = url.set(password=self.database_password.get_secret_value())
        return url

    @property
    def redis_password_value(self) -> str:
        """The Redis password for the client ("" when Redis has none)."""
        return self.redis_password.get_secret_value() if self.redis_password else ""

    @property
    def effective_metrics_port(self) -> int:
        return (
            self.metrics_port if self.metrics_port is not None else self.port + METRICS_PORT_OFFSET
        )

    @property
    def effective_metrics_host(self) -> str:
        return self.metrics_host or self.host


def service_config(env_prefix: str) -> SettingsConfigDict:
    """The settings config a service uses: its own prefix, unknown variables ignored."""
    return SettingsConfigDict(env_prefix=env_prefix, extra="ignore")
