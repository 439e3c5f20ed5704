import sys

from titanium_common.serve import main

from auth_service.app import ALEMBIC_DIR, build_app
from auth_service.settings import Settings


def run() -> None:
    sys.exit(
        main(
            prog="auth-service",
            load_settings=Settings,
            build_app=build_app,
            alembic_dir=ALEMBIC_DIR,
        )
    )


if __name__ == "__main__":
    run()
