from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Identity, Index, MetaData, String, Uuid, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA = "auth"


class Base(DeclarativeBase):
    metadata = MetaData(schema=SCHEMA)


class RefreshFamily(Base):
    """One login. Rotating any of its tokens and revoking it both lock this row
    first, so a revocation waits for a rotation in flight and then sees (and
    revokes) the token that rotation issued, whichever replica ran it."""

    __tablename__ = "refresh_families"

    id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True)
    user_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RefreshToken(Base):
    """One issued refresh token. Only its SHA-256 is stored; a token used once is
    `rotated` and its reuse revokes every token of its family (one login)."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_family", "family_id"),)

    id: Mapped[int] = mapped_column(Identity(always=True), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[str] = mapped_column(
        Uuid(as_uuid=False),
        ForeignKey(
            f"{SCHEMA}.refresh_families.id", name="fk_refresh_tokens_family", ondelete="CASCADE"
        ),
    )
    user_id: Mapped[int]
    username: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
