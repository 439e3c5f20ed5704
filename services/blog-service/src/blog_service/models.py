"""The blog's tables, all in the `blog` schema the service owns."""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    MetaData,
    String,
    Text,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

SCHEMA = "blog"


class Base(DeclarativeBase):
    metadata = MetaData(
        schema=SCHEMA,
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_name)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        },
    )


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(Identity(always=True), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    # The identity (categories_util.category_key): "Go" and " go " are one
    # category, so are the NFC and NFD forms of "한국어". NULL only for a
    # category made before keys existed whose key an older one already holds
    # (migration 0004): it keeps its URL and posts, new posts go to the older.
    name_key: Mapped[str | None] = mapped_column(Text, unique=True)
    # Unique too, but not the identity: slugs stored before 0004 stay as they
    # were (stable URLs), even where today's slug of their name differs.
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Post(Base):
    __tablename__ = "posts"
    __table_args__ = (Index("ix_posts_category_id_created_at", "category_id", "created_at"),)

    id: Mapped[int] = mapped_column(Identity(always=True), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body_markdown: Mapped[str] = mapped_column(Text)
    # Rendered and sanitised once per write, so reads never run the parser.
    body_html: Mapped[str] = mapped_column(Text)
    # Plain text for lists, made with the HTML: lists never load the bodies.
    excerpt: Mapped[str] = mapped_column(Text)
    # The author as the access token names them; user data stays in user-service.
    author_id: Mapped[int] = mapped_column(BigInteger, index=True)
    author_name: Mapped[str] = mapped_column(String(64))
    # RESTRICT: a category outlives its posts; nothing deletes it as a side effect.
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    category: Mapped[Category] = relationship(lazy="joined", innerjoin=True)
