"""Calls from auth-service only. The gateway never routes `/internal/*`, and the
mesh's authorization policy admits only auth-service here."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from titanium_common import AppContext, db_session
from titanium_common.app import get_context

from user_service.models import User
from user_service.schemas import Credentials, NewUser, OwnProfile, VerifiedUser

router = APIRouter(prefix="/internal", tags=["internal"])

Session = Annotated[AsyncSession, Depends(db_session)]
Context = Annotated[AppContext, Depends(get_context)]

HASHING_BUSY = {503: {"description": "too many passwords being hashed: retry after Retry-After"}}


@router.post("/users", status_code=201, response_model=OwnProfile, responses=HASHING_BUSY)
async def create_user(new: NewUser, session: Session, ctx: Context) -> User:
    passwords = ctx.extras["passwords"]
    user = User(
        username=new.username,
        email=new.email.lower(),
        password_hash=await passwords.hash(new.password),
        display_name=new.username,
        bio="",
    )
    session.add(user)
    try:
        await session.commit()
    except IntegrityError as exc:
        raise HTTPException(409, "username or e-mail already registered") from exc
    await session.refresh(user)
    return user


@router.post(
    "/credentials/verify",
    response_model=VerifiedUser,
    responses={401: {"description": "wrong username or password"}, **HASHING_BUSY},
)
async def verify_credentials(
    credentials: Credentials, session: Session, ctx: Context
) -> VerifiedUser:
    passwords = ctx.extras["passwords"]
    user = (
        await session.execute(select(User).where(User.username == credentials.username.lower()))
    ).scalar()
    if not await passwords.verify(user.password_hash if user else None, credentials.password):
        raise HTTPException(401, "wrong username or password")
    assert user is not None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = await passwords.hash(credentials.password)
        await session.commit()
    return VerifiedUser(id=user.id, username=user.username)
