"""Posts and categories, with the seed categories.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "blog"

# Seeded through the identity column (no explicit ids), so the sequence already
# stands past them and the first category a user creates cannot collide.
SEED_CATEGORIES = [
    ("General", "general"),
    ("Technology", "technology"),
    ("Tutorials", "tutorials"),
    ("Travel", "travel"),
    ("Food", "food"),
]


def upgrade() -> None:
    categories = op.create_table(
        "categories",
        sa.Column("id", sa.Integer(), sa.Identity(always=True), nullable=False),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("slug", sa.String(60), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_categories"),
        sa.UniqueConstraint("slug", name="uq_categories_slug"),
        schema=SCHEMA,
    )
    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), sa.Identity(always=True), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body_markdown", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("author_name", sa.String(64), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            [f"{SCHEMA}.categories.id"],
            name="fk_posts_category_id_categories",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_posts"),
        schema=SCHEMA,
    )
    op.create_index("ix_posts_author_id", "posts", ["author_id"], schema=SCHEMA)
    op.create_index("ix_posts_created_at", "posts", ["created_at"], schema=SCHEMA)
    op.create_index(
        "ix_posts_category_id_created_at", "posts", ["category_id", "created_at"], schema=SCHEMA
    )
    op.bulk_insert(categories, [{"name": name, "slug": slug} for name, slug in SEED_CATEGORIES])


def downgrade() -> None:
    op.drop_table("posts", schema=SCHEMA)
    op.drop_table("categories", schema=SCHEMA)
