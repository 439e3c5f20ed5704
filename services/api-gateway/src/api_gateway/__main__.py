import sys

from titanium_common.serve import main

from api_gateway.app import build_served_app
from api_gateway.settings import Settings


def run() -> None:
    sys.exit(
        main(
            prog="api-gateway", load_settings=Settings, build_app=build_served_app, alembic_dir=None
        )
    )


if __name__ == "__main__":
    run()
