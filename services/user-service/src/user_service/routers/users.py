"""Public profiles: `GET /users/{username}`, `GET/PATCH /users/me`."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from titanium_common import AppContext, CurrentUser, current_user, db_session, optional_user
from titanium_common.app import get_context

from user_service.models import User
from user_service.schemas import OwnProfile, ProfileUpdate, PublicProfile

router = APIRouter(prefix="/users", tags=["users"])

Session = Annotated[AsyncSession, Depends(db_session)]
Context = Annotated[AppContext, Depends(get_context)]


def profile_key(ctx: AppContext, username: str) -> str:
    return ctx.cache.key("profile", username)


async def load_own(session: AsyncSession, user: CurrentUser) -> User:
    found = await session.get(User, user.id)
    if found is None:
        raise HTTPException(404, "user not found")
    return found


@router.get("/me", response_model=OwnProfile)
async def read_me(user: Annotated[CurrentUser, Depends(current_user)], session: Session) -> User:
    return await load_own(session, user)


@router.patch("/me", response_model=OwnProfile)
async def update_me(
    changes: ProfileUpdate,
    user: Annotated[CurrentUser, Depends(current_user)],
    session: Session,
    ctx: Context,
) -> User:
    own = await load_own(session, user)
    for field, value in changes.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(own, field, value.lower() if field == "email" else value)
    try:
        await session.commit()
    except IntegrityError as exc:
        raise HTTPException(409, "e-mail already in use") from exc
    await session.refresh(own)
    # After the commit, so a reader cannot re-cache the old profile in between for long:
    # the entry is deleted and the next read loads the committed row.
    await ctx.cache.delete(profile_key(ctx, own.username))
    return own


@router.get("/{username}", response_model=PublicProfile | OwnProfile)
async def read_profile(
    username: Annotated[str, Path(max_length=64)],
    session: Session,
    ctx: Context,
    caller: Annotated[CurrentUser | None, Depends(optional_user)],
) -> dict[str, object]:
    cached = await ctx.cache.get_json(profile_key(ctx, username), cache_name="profile")
    if cached is None:
        found = (await session.execute(select(User).where(User.username == username))).scalar()
        if found is None:
            raise HTTPException(404, "user not found")
        # The cached entry holds the e-mail (served only to its owner), never the hash.
        cached = OwnProfile.model_validate(found).model_dump(mode="json")
        await ctx.cache.set_json(
            profile_key(ctx, username), cached, ctx.settings.profile_cache_seconds
        )
    if caller is not None and caller.id == cached["id"]:
        return OwnProfile.model_validate(cached).model_dump(mode="json")
    return PublicProfile.model_validate(cached).model_dump(mode="json")
