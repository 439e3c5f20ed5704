import os
import sys

from titanium_common.serve import main

from bookinfo.app import build_app
from bookinfo.settings import Settings


def run() -> None:
    """`python -m bookinfo serve`: the service BOOKINFO_SERVICE names."""
    service = os.environ.get("BOOKINFO_SERVICE", "productpage")
    sys.exit(
        main(
            prog=f"bookinfo {service}",
            load_settings=Settings,
            build_app=build_app,
            alembic_dir=None,
        )
    )


def _as(service: str) -> None:
    os.environ["BOOKINFO_SERVICE"] = service
    run()


def productpage() -> None:
    _as("productpage")


def details() -> None:
    _as("details")


def reviews() -> None:
    _as("reviews")


def ratings() -> None:
    _as("ratings")


if __name__ == "__main__":
    run()
