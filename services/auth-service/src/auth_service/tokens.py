"""Issuing access tokens and rotating refresh tokens."""

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import jwt
from fastapi import HTTPException
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.keys import SigningKey
from auth_service.models import RefreshToken
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
    refresh = secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            token_hash=digest(refresh),
            family_id=family_id or str(uuid.uuid4()),
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


async def revoke_family(session: AsyncSession, family_id: str) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )


async def rotate(
    session: AsyncSession, key: SigningKey, settings: Settings, presented: str
) -> TokenPair:
    """Trade a refresh token for a new pair. Presenting a token that was already
    rotated means it leaked (or a client replays it): the whole family is revoked."""
    stored = (
        await session.execute(
            select(RefreshToken)
            .where(RefreshToken.token_hash == digest(presented))
            .with_for_update()
        )
    ).scalar()
    if stored is None or stored.revoked_at is not None:
        raise _refused()
    if stored.rotated_at is not None:
        await revoke_family(session, stored.family_id)
        await session.commit()
        raise _refused()
    if stored.expires_at <= datetime.now(UTC):
        raise _refused()
    stored.rotated_at = datetime.now(UTC)
    pair = await issue(session, key, settings, stored.user_id, stored.username, stored.family_id)
    await session.commit()
    return pair


async def logout(session: AsyncSession, presented: str) -> None:
    stored = (
        await session.execute(
            select(RefreshToken).where(RefreshToken.token_hash == digest(presented))
        )
    ).scalar()
    if stored is not None:
        await revoke_family(session, stored.family_id)
        await session.commit()
