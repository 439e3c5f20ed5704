"""Categories get an identity of their own, so names in any script can have one.

Revision ID: 0004
Revises: 0003

Before, a category was its slug, and slugs kept ASCII only: "기술 스택" had
none, and "C++" and "C" were one category. Now the identity is the name's
key (NFKC, case-folded: categories_util.category_key) and the slug only
names it in URLs. Stored slugs are left as they are, so every existing URL,
CSS class and colour stays; only new categories get the new slugs.

Two stored categories can share a key only where the old slug told them
apart and the key does not (say "Straße", slug "strae", and "STRASSE",
"strasse"). The older keeps the key and receives posts naming it; the other
keeps its slug, posts and URL with no key, rather than being merged into it
by a migration nobody reviewed.
"""

import sqlalchemy as sa
from alembic import op
from blog_service.categories_util import category_key

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = "blog"


def upgrade() -> None:
    op.add_column("categories", sa.Column("name_key", sa.Text(), nullable=True), schema=SCHEMA)
    categories = sa.table(
        "categories", sa.column("id"), sa.column("name"), sa.column("name_key"), schema=SCHEMA
    )
    bind = op.get_bind()
    # Categories are few (people name them); one pass holds them all.
    rows = bind.execute(sa.select(categories.c.id, categories.c.name).order_by(categories.c.id))
    taken: set[str] = set()
    keys = []
    for category_id, name in rows:
        key = category_key(name)
        if key and key not in taken:
            taken.add(key)
            keys.append({"category_id": category_id, "name_key": key})
    if keys:
        bind.execute(
            categories.update().where(categories.c.id == sa.bindparam("category_id")), keys
        )
    op.create_unique_constraint("uq_categories_name_key", "categories", ["name_key"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_constraint("uq_categories_name_key", "categories", schema=SCHEMA)
    op.drop_column("categories", "name_key", schema=SCHEMA)
