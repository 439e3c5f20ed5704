"""A plain-text excerpt per post, so lists carry summaries instead of bodies.

Revision ID: 0003
Revises: 0002

Existing posts get theirs from the service's own excerpt function, the one
every write uses, so old and new posts read alike.
"""

import sqlalchemy as sa
from alembic import op
from blog_service.markdown import excerpt

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "blog"
BATCH = 500


def upgrade() -> None:
    op.add_column("posts", sa.Column("excerpt", sa.Text(), nullable=True), schema=SCHEMA)
    bind = op.get_bind()
    last_id = 0
    posts = sa.table(
        "posts",
        sa.column("id"),
        sa.column("body_markdown"),
        sa.column("excerpt"),
        schema=SCHEMA,
    )
    while rows := bind.execute(
        sa.select(posts.c.id, posts.c.body_markdown)
        .where(posts.c.id > last_id)
        .order_by(posts.c.id)
        .limit(BATCH)
    ).all():
        bind.execute(
            posts.update().where(posts.c.id == sa.bindparam("post_id")),
            [{"post_id": post_id, "excerpt": excerpt(body)} for post_id, body in rows],
        )
        last_id = rows[-1][0]
    op.alter_column("posts", "excerpt", nullable=False, schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("posts", "excerpt", schema=SCHEMA)
