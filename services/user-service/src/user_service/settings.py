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
    # Memory argon2 may hold at once, in MiB. Every hash holds argon2_memory_kib
    # until it ends, so at most budget // that many hashes run at once (at least
    # one). Size it to the container's memory limit minus what the process needs
    # besides (about 128 MiB); the GitOps overlays derive it from the limit.
    argon2_memory_budget_mib: int = 128
    # Hashes that may wait for a slot; the next request is answered 503 with
    # Retry-After at once. The longest wait is about queue / slots hashes, which
    # must stay well under auth-service's upstream timeout (5 s).
    argon2_queue_limit: int = 8
    password_min_length: int = 8
