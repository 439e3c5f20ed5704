"""refresh families: one row per login, the row that rotation and revocation lock

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "refresh_families",
        sa.Column("id", sa.Uuid(as_uuid=False), primary_key=True),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        schema="auth",
    )
    # Revocation only ever revoked a whole family, so one revoked token means a revoked login.
    op.execute(
        "INSERT INTO auth.refresh_families (id, user_id, created_at, revoked_at) "
        "SELECT family_id, min(user_id), min(created_at), max(revoked_at) "
        "FROM auth.refresh_tokens GROUP BY family_id"
    )
    op.create_foreign_key(
        "fk_refresh_tokens_family",
        "refresh_tokens",
        "refresh_families",
        ["family_id"],
        ["id"],
        source_schema="auth",
        referent_schema="auth",
        ondelete="CASCADE",
    )


def downgrade() -> None:
    op.drop_constraint("fk_refresh_tokens_family", "refresh_tokens", schema="auth")
    op.drop_table("refresh_families", schema="auth")
