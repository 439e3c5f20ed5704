"""Trigram indexes for search: `ILIKE '%text%'` on title and body, answered by GIN.

Revision ID: 0002
Revises: 0001

pg_trgm ships with PostgreSQL (contrib) and is a trusted extension, so a role
may create it in a database where it has CREATE: in the cluster each service
owns its own database and this migration creates it. Where the services share
one database (tests, `make services-up`) the role has no CREATE there, and the
administrator's provisioning step (`titanium_common.provision --extension
pg_trgm`) installs it into the service's schema beforehand.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "blog"
INDEXES = {"ix_posts_title_trgm": "title", "ix_posts_body_markdown_trgm": "body_markdown"}


def _trgm_schema() -> str | None:
    return op.get_bind().scalar(
        sa.text(
            "SELECT n.nspname FROM pg_extension e"
            " JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
        )
    )


def upgrade() -> None:
    schema = _trgm_schema()
    if schema is None:
        bind = op.get_bind()
        if not bind.scalar(sa.text("SELECT has_database_privilege(current_database(), 'CREATE')")):
            role = bind.scalar(sa.text("SELECT current_user"))
            raise RuntimeError(
                f"extension pg_trgm is missing and role {role!r} may not create it here: have an "
                "administrator run `python -m titanium_common.provision ... --extension pg_trgm` "
                f"(or CREATE EXTENSION pg_trgm SCHEMA {SCHEMA}) first"
            )
        op.execute(f"CREATE EXTENSION pg_trgm SCHEMA {SCHEMA}")
        schema = SCHEMA
    # Qualified: the service's search_path holds only its own schema, and the
    # extension may have been installed elsewhere before this service came.
    for name, column in INDEXES.items():
        op.execute(
            f'CREATE INDEX {name} ON {SCHEMA}.posts USING gin ({column} "{schema}".gin_trgm_ops)'
        )


def downgrade() -> None:
    # The extension stays: an administrator may have installed it, and other
    # objects may use it.
    for name in INDEXES:
        op.drop_index(name, table_name="posts", schema=SCHEMA)
