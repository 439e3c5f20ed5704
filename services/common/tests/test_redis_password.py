"""The Redis password is a setting of its own, so no character of it has to
survive a URL: the cache authenticates with one full of URL delimiters."""

import asyncio

from titanium_common import Cache
from titanium_common.metrics import Metrics

from tests.support.servers import redis_server

PASSWORD = "p@ss:w/rd?#%20 end"


def test_a_password_full_of_url_delimiters_authenticates():
    with redis_server("--requirepass", PASSWORD) as server:

        async def scenario() -> tuple[bool, bool]:
            metrics = Metrics("redis-password-test")
            with_password = Cache(server.url, metrics, password=PASSWORD)
            without = Cache(server.url, metrics)
            stored = await with_password.set("k", "v", 10)
            refused = await without.set("k", "v", 10)
            await with_password.close()
            await without.close()
            return stored, refused

        stored, refused = asyncio.run(scenario())
    assert stored is True
    assert refused is False  # no password: Redis says NOAUTH and the cache degrades


def test_the_setting_hands_the_password_to_the_cache_and_hides_it():
    from titanium_common import ServiceSettings

    settings = ServiceSettings(redis_password=PASSWORD)
    assert settings.redis_password_value == PASSWORD
    assert PASSWORD not in repr(settings)
    assert ServiceSettings().redis_password_value == ""
