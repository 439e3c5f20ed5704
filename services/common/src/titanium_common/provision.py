"""Create a service's database role and schema (run by an administrator, once).

Each service connects as its own role, which owns its schema and nothing else:
it can create its tables there (through its migrations) and cannot touch
another service's schema. Idempotent: a second run changes nothing but the
password.

Extensions a service's migrations need (`--extension pg_trgm` for blog) are
installed here, into the service's schema: where services share a database
the role has no CREATE on it, so it could not install even a trusted one.

usage: python -m titanium_common.provision --admin-dsn DSN --role blog --schema blog \
           [--extension pg_trgm]
       (the role's password is read from the environment variable PROVISION_PASSWORD)
"""

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

import asyncpg


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"unsafe identifier: {name!r}")
    return '"' + name + '"'


async def provision(
    admin_dsn: str, role: str, schema: str, password: str, extensions: Sequence[str] = ()
) -> None:
    connection = await asyncpg.connect(admin_dsn)
    try:
        database = await connection.fetchval("SELECT current_database()")
        exists = await connection.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
        verb = "ALTER" if exists else "CREATE"
        # Passwords cannot be bind parameters in DDL; quote them as a literal.
        literal = "'" + password.replace("'", "''") + "'"
        await connection.execute(f"{verb} ROLE {_ident(role)} LOGIN PASSWORD {literal}")
        await connection.execute(
            f"CREATE SCHEMA IF NOT EXISTS {_ident(schema)} AUTHORIZATION {_ident(role)}"
        )
        await connection.execute(f"REVOKE ALL ON SCHEMA public FROM {_ident(role)}")
        await connection.execute(f"GRANT CONNECT ON DATABASE {_ident(database)} TO {_ident(role)}")
        await connection.execute(f"ALTER ROLE {_ident(role)} SET search_path = {_ident(schema)}")
        for extension in extensions:
            # IF NOT EXISTS: an extension lives once per database, wherever it was put first.
            await connection.execute(
                f"CREATE EXTENSION IF NOT EXISTS {_ident(extension)} SCHEMA {_ident(schema)}"
            )
    finally:
        await connection.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="titanium-provision", description=__doc__)
    parser.add_argument("--admin-dsn", required=True)
    parser.add_argument("--role", required=True)
    parser.add_argument("--schema", required=True)
    parser.add_argument(
        "--extension",
        action="append",
        default=[],
        help="an extension the service's migrations need (repeatable)",
    )
    args = parser.parse_args(argv)
    password = os.environ.get("PROVISION_PASSWORD")
    if not password:
        print("titanium-provision: set PROVISION_PASSWORD", file=sys.stderr)
        return 2
    asyncio.run(provision(args.admin_dsn, args.role, args.schema, password, args.extension))
    return 0


if __name__ == "__main__":
    sys.exit(main())
