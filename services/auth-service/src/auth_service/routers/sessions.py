"""`POST /refresh`, `POST /logout` and the JWKS."""

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from sqlalchemy.ext.asyncio import AsyncSession
from titanium_common import AppContext, db_session
from titanium_common.app import get_context

from auth_service import tokens
from auth_service.schemas import RefreshRequest, TokenPair

router = APIRouter(tags=["sessions"])

Session = Annotated[AsyncSession, Depends(db_session)]
Context = Annotated[AppContext, Depends(get_context)]


@router.post(
    "/refresh", response_model=TokenPair, responses={401: {"description": "invalid token"}}
)
async def refresh(body: RefreshRequest, session: Session, ctx: Context) -> TokenPair:
    return await tokens.rotate(session, ctx.extras["key"], ctx.settings, body.refresh_token)


@router.post("/logout", status_code=204)
async def logout(body: RefreshRequest, session: Session) -> Response:
    await tokens.logout(session, body.refresh_token)
    return Response(status_code=204)


@router.get("/.well-known/jwks.json")
async def jwks(ctx: Context, response: Response) -> dict[str, list[dict[str, str]]]:
    response.headers["Cache-Control"] = "public, max-age=300"
    return ctx.extras["key"].jwks
