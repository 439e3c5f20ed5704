"""Render the GitOps repository for one environment (what `make render` runs):
the same renderer the gitops role's module and the render tests use."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ansible_collections.titanium.platform.plugins.module_utils.gitops_render import (
    DEFAULT_SOURCE,
    RenderError,
    write_tree,
)
from titanium_tools.inventory import environments, render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("env", help=f"an inventory: one of {', '.join(environments())}")
    parser.add_argument("--out", type=Path, help="output folder (default build/gitops/<env>)")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--set-tag", action="append", default=[], metavar="SERVICE=TAG")
    args = parser.parse_args(argv)
    overrides: dict = {}
    try:
        for item in args.set_tag:
            service, sep, tag = item.partition("=")
            if not sep:
                raise RenderError(f"--set-tag wants SERVICE=TAG, got {item!r}")
            overrides.setdefault("image_tags", {})[service] = tag
        files = render(args.env, args.source, overrides)
    except RenderError as exc:
        print(f"render: {exc}", file=sys.stderr)
        return 2
    out = args.out or Path("build/gitops") / args.env
    write_tree(files, out)
    print(f"render: {len(files)} files for {args.env} in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
