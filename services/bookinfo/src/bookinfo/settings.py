from typing import Literal

from titanium_common import ServiceSettings
from titanium_common.settings import service_config

SERVICES = ("productpage", "details", "reviews", "ratings")
Service = Literal["productpage", "details", "reviews", "ratings"]


class Settings(ServiceSettings):
    """BOOKINFO_* variables. The metrics port is the public one + 1000 unless set."""

    model_config = service_config("BOOKINFO_")

    service: Service = "productpage"
    service_name: str = ""
    port: int = 9080

    # Which reviews this process is: v1 shows no ratings, v2 black stars, v3 red.
    reviews_version: Literal["v1", "v2", "v3"] = "v1"

    details_url: str = "http://127.0.0.1:9081"
    reviews_url: str = "http://127.0.0.1:9082"
    ratings_url: str = "http://127.0.0.1:9083"

    # Calls give up quickly: a page without its reviews beats no page.
    connect_timeout: float = 1.0
    read_timeout: float = 3.0

    def model_post_init(self, _context: object) -> None:
        if not self.service_name:
            self.service_name = self.service
