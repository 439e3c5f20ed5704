"""`POST /register` and `POST /login`: credentials are user-service's business;
this service only asks it over HTTP and issues tokens."""

import logging
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession
from titanium_common import AppContext, db_session
from titanium_common.app import get_context
from titanium_common.errors import ServiceUnavailable

from auth_service import tokens
from auth_service.schemas import Login, RegisteredUser, Registration, TokenPair

router = APIRouter(tags=["accounts"])
log = logging.getLogger(__name__)

Session = Annotated[AsyncSession, Depends(db_session)]
Context = Annotated[AppContext, Depends(get_context)]


async def call_user_service(
    ctx: AppContext, request: Request, path: str, body: dict
) -> httpx.Response:
    state = request.scope.get("state", {})
    headers = {
        "X-Request-ID": state.get("request_id", ""),
        "traceparent": state.get("traceparent", ""),
    }
    try:
        return await ctx.extras["users"].post(path, json=body, headers=headers)
    except httpx.HTTPError as exc:
        log.warning("user-service unreachable", extra={"error": repr(exc)})
        raise ServiceUnavailable("user-service") from exc


@router.post(
    "/register",
    status_code=201,
    response_model=RegisteredUser,
    responses={409: {"description": "username or e-mail taken"}},
)
async def register(registration: Registration, request: Request, ctx: Context) -> JSONResponse:
    answer = await call_user_service(ctx, request, "/internal/users", registration.model_dump())
    if answer.status_code == 201:
        user = answer.json()
        return JSONResponse(
            RegisteredUser(
                id=user["id"], username=user["username"], email=user["email"]
            ).model_dump(),
            status_code=201,
        )
    if answer.status_code in (409, 422):
        return JSONResponse(answer.json(), status_code=answer.status_code)
    raise ServiceUnavailable("user-service")


@router.post(
    "/login", response_model=TokenPair, responses={401: {"description": "wrong credentials"}}
)
async def login(credentials: Login, request: Request, session: Session, ctx: Context) -> TokenPair:
    answer = await call_user_service(
        ctx, request, "/internal/credentials/verify", credentials.model_dump()
    )
    if answer.status_code in (401, 422):
        raise HTTPException(401, "wrong username or password")
    if answer.status_code != 200:
        raise ServiceUnavailable("user-service")
    user = answer.json()
    pair = await tokens.issue(
        session, ctx.extras["key"], ctx.settings, user["id"], user["username"]
    )
    await session.commit()
    return pair
