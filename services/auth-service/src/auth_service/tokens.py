"""Issuing access tokens and rotating refresh tokens."""

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import jwt
from fastapi import HTTPException
from sqlalchemy import ScalarSelect, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.keys import SigningKey
from auth_service.models import RefreshFamily, RefreshToken
from auth_service.schemas import TokenPair
from auth_service.settings import Settings


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def access_token(key: SigningKey, settings: Settings, user_id: int, username: str) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "username": username,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + timedelta(seconds=settings.access_token_seconds),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, key.private_key, key.algorithm, headers={"kid": key.kid})


async def issue(
    session: AsyncSession,
    key: SigningKey,
    settings: Settings,
    user_id: int,
    username: str,
    family_id: str | None = None,
) -> TokenPair:
    """A new pair; `family_id` continues a login's family, None starts one. Not committed."""
    if family_id is None:
        family_id = str(uuid.uuid4())
        session.add(RefreshFamily(id=family_id, user_id=user_id))
        # The token's foreign key needs the family's row in first.
        await session.flush()
    refresh = secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            token_hash=digest(refresh),
            family_id=family_id,
            user_id=user_id,
            username=username,
            expires_at=datetime.now(UTC) + timedelta(days=settings.refresh_token_days),
        )
    )
    return TokenPair(
        access_token=access_token(key, settings, user_id, username),
        refresh_token=refresh,
        expires_in=settings.access_token_seconds,
    )


def _refused() -> HTTPException:
    return HTTPException(401, "invalid refresh token")


def _family_of(presented: str) -> ScalarSelect[str]:
    return (
        select(RefreshToken.family_id)
        .where(RefreshToken.token_hash == digest(presented))
        .scalar_subquery()
    )


async def revoke_family(session: AsyncSession, family_id: str) -> None:
    """Not committed. The family's row first: that is the lock a rotation holds, so
    the token UPDATE below runs after any rotation in flight has committed its
    successor, and its fresh snapshot includes it."""
    now = datetime.now(UTC)
    await session.execute(
        update(RefreshFamily)
        .where(RefreshFamily.id == family_id, RefreshFamily.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def rotate(
    session: AsyncSession, key: SigningKey, settings: Settings, presented: str
) -> TokenPair:
    """Trade a refresh token for a new pair. Presenting a token that was already
    rotated means it leaked (or a client replays it): the whole family is revoked.

    Every step runs under the family's row lock, taken before anything is read, so
    rotations and revocations of one login run one at a time on whichever replicas
    they land, and a revocation can never miss a successor issued beside it."""
    family = (
        await session.execute(
            select(RefreshFamily).where(RefreshFamily.id == _family_of(presented)).with_for_update()
        )
    ).scalar()
    if family is None or family.revoked_at is not None:
        raise _refused()
    now = datetime.now(UTC)
    # One statement spends the token, so a token can only be spent once.
    spent = (
        await session.execute(
            update(RefreshToken)
            .where(
                RefreshToken.token_hash == digest(presented),
                RefreshToken.rotated_at.is_(None),
                RefreshToken.revoked_at.is_(None),
                RefreshToken.expires_at > now,
            )
            .values(rotated_at=now)
            .returning(RefreshToken.user_id, RefreshToken.username)
        )
    ).one_or_none()
    if spent is None:
        rotated_at = (
            await session.execute(
                select(RefreshToken.rotated_at).where(RefreshToken.token_hash == digest(presented))
            )
        ).scalar()
        if rotated_at is not None:
            await revoke_family(session, family.id)
            await session.commit()
        raise _refused()
    pair = await issue(session, key, settings, spent.user_id, spent.username, family.id)
    await session.commit()
    return pair


async def logout(session: AsyncSession, presented: str) -> None:
    family_id = (
        await session.execute(
            select(RefreshToken.family_id).where(RefreshToken.token_hash == digest(presented))
        )
    ).scalar()
    if family_id is not None:
        await revoke_family(session, family_id)
        await session.commit()
