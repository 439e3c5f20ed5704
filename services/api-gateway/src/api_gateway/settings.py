from titanium_common import ServiceSettings
from titanium_common.settings import service_config


class Settings(ServiceSettings):
    model_config = service_config("GATEWAY_")

    service_name: str = "api-gateway"
    port: int = 8000

    auth_url: str = "http://127.0.0.1:8002"
    user_url: str = "http://127.0.0.1:8001"
    blog_url: str = "http://127.0.0.1:8005"
    # Verifies tokens locally to key write limits on the user; empty = auth_url's JWKS.
    jwks_url: str = ""

    connect_timeout: float = 1.0
    read_timeout: float = 10.0
    pool_connections: int = 200
    # Extra attempts for idempotent requests that could not connect.
    idempotent_retries: int = 2

    # Proxies in front of the gateway that append to X-Forwarded-For (the Istio
    # ingress gateway is one). 0 = use the TCP peer; addresses beyond the trusted
    # hops are the client's to forge and never used.
    trusted_proxy_hops: int = 0

    # Redis for rate-limit counters, apart from the cache so that cache pressure
    # never evicts a limit; empty = the cache's Redis (development only).
    ratelimit_redis_url: str = ""
    rate_limit_window_seconds: int = 60
    login_per_address: int = 5
    login_per_username: int = 5
    writes_per_user: int = 60
    reads_per_address: int = 600

    def model_post_init(self, _context: object) -> None:
        if not self.jwks_url:
            self.jwks_url = self.auth_url.rstrip("/") + "/.well-known/jwks.json"
