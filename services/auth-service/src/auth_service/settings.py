from pathlib import Path

from titanium_common import ServiceSettings
from titanium_common.settings import service_config


class Settings(ServiceSettings):
    model_config = service_config("AUTH_")

    service_name: str = "auth-service"
    port: int = 8002
    # PEM Ed25519 (or RSA) private key, mounted from a Secret. Required outside
    # development; in development a throw-away key is made at start.
    signing_key_file: Path | None = None
    # Optional second key (PEM), published in the JWKS but never signing. To
    # rotate: put the new key here and wait jwks_cache_seconds, so every
    # verifier holds it; then swap the two files, so the old key stays published
    # until the tokens it signed expire (access_token_seconds); then drop it.
    next_signing_key_file: Path | None = None
    user_service_url: str = "http://127.0.0.1:8001"
    access_token_seconds: int = 900
    refresh_token_days: int = 30
    upstream_timeout: float = 5.0
