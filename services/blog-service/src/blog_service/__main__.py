"""`blog-service serve` runs the service; `blog-service migrate` upgrades its schema."""

import sys

from titanium_common.serve import main as serve_main

from blog_service.app import build_served_app
from blog_service.settings import BlogSettings


def main(argv: list[str] | None = None) -> int:
    try:
        settings = BlogSettings()
    except ValueError as exc:  # a bad BLOG_* variable: name it, no traceback
        print(f"blog-service: {exc}", file=sys.stderr)
        return 2
    return serve_main(
        prog="blog-service",
        load_settings=lambda: settings,
        build_app=build_served_app,  # type: ignore[arg-type]
        alembic_dir=settings.resource_dir / "alembic",
        argv=argv,
    )


if __name__ == "__main__":
    sys.exit(main())
