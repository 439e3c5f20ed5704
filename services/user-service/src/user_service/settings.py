from titanium_common import ServiceSettings
from titanium_common.settings import service_config


class Settings(ServiceSettings):
    model_config = service_config("USER_")

    service_name: str = "user-service"
    port: int = 8001
    profile_cache_seconds: int = 300
    # argon2id cost; the defaults are argon2-cffi's RFC 9106 "low memory" profile.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    password_min_length: int = 8
