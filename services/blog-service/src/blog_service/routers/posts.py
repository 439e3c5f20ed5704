"""/posts: list, read, write, edit and delete blog posts."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response, status
from fastapi.exceptions import RequestValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from titanium_common.auth import CurrentUser, current_user
from titanium_common.db import db_session

from blog_service import repository
from blog_service.categories_util import fold_slug
from blog_service.models import Post
from blog_service.reads import API_PAGE_SIZE
from blog_service.schemas import (
    Author,
    Composed,
    PostCreate,
    PostOut,
    PostPage,
    PostUpdate,
    Storable,
)
from blog_service.state import Blog

router = APIRouter(prefix="/posts", tags=["posts"])

Session = Annotated[AsyncSession, Depends(db_session)]
User = Annotated[CurrentUser, Depends(current_user)]
# int4 ids: anything larger cannot name a post, and must not reach the driver.
PostId = Annotated[int, Path(ge=1, le=2**31 - 1)]

_NOT_FOUND = {404: {"description": "No such post"}}
_AUTH = {401: {"description": "Missing, expired or forged token"}}
_AUTHOR = {403: {"description": "Only the post's author may do this"}}
_DOWN = {503: {"description": "PostgreSQL unavailable"}}
_UNPARSABLE = {400: {"description": "The body is not decodable (not UTF-8 JSON)"}}


def check_offset(offset: int, limit: int) -> None:
    """A 422 in the shared shape, naming the field, for offsets past the cap."""
    if offset > limit:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "offset"),
                    "msg": f"offset must be at most {limit}; narrow by category or search",
                    "type": "less_than_equal",
                }
            ]
        )


def _json(body: bytes, status_code: int = 200) -> Response:
    return Response(body, status_code=status_code, media_type="application/json")


@router.get("", response_model=PostPage, responses=_DOWN)
async def list_posts(
    blog: Blog,
    limit: Annotated[int, Query(ge=1, le=100)] = API_PAGE_SIZE,
    offset: Annotated[
        int, Query(ge=0, description="At most BLOG_MAX_LIST_OFFSET (10,000 by default)")
    ] = 0,
    category: Annotated[
        str | None,
        Query(max_length=60, description="Category slug (percent-encoded UTF-8 in the URL)"),
        Storable,
    ] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Text in title or body"), Storable, Composed
    ] = None,
) -> Response:
    """Newest posts first, as summaries, with the total matching count for pagination.

    A page holds `limit` posts unless they would pass the page's byte cap
    (BLOG_LIST_MAX_BYTES); continue from `next_offset` either way.
    """
    check_offset(offset, blog.settings.max_list_offset)
    # Folded like the slugs themselves, so a link cased or normalised otherwise
    # finds the category, and is one cache entry with the canonical link.
    body = await blog.reader.post_page(
        limit=limit,
        offset=offset,
        category=fold_slug(category) if category else None,
        search=q or None,
    )
    return _json(body)


@router.get("/{post_id}", response_model=PostOut, responses=_NOT_FOUND | _DOWN)
async def get_post(blog: Blog, post_id: PostId) -> Response:
    body = await blog.reader.post(post_id)
    if body is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "post not found")
    return _json(body)


async def _own_post(session: AsyncSession, post_id: int, user: CurrentUser) -> Post:
    post = await repository.get_post(session, post_id)
    if post is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "post not found")
    if post.author_id != user.id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the author may change this post")
    return post


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PostOut,
    responses=_AUTH | _UNPARSABLE | _DOWN,
)
async def create_post(
    blog: Blog, session: Session, user: User, payload: PostCreate, response: Response
) -> PostOut:
    """Write a post; a category named for the first time is created."""
    # Before the transaction opens: a big body may wait for the renderer.
    rendered = await blog.renderer.render(payload.body)
    post = await repository.create_post(
        session,
        title=payload.title,
        body=payload.body,
        rendered=rendered,
        category_name=payload.category,
        author=Author(id=user.id, username=user.username),
    )
    await session.commit()
    # After the commit, never before: see cache.py for why the order matters.
    await blog.cache.bump()
    response.headers["Location"] = f"/posts/{post.id}"
    return repository.post_out(post)


@router.patch(
    "/{post_id}",
    response_model=PostOut,
    responses=_AUTH | _AUTHOR | _NOT_FOUND | _UNPARSABLE | _DOWN,
)
async def update_post(
    blog: Blog, session: Session, user: User, post_id: PostId, payload: PostUpdate
) -> PostOut:
    body = None
    if payload.body is not None:
        body = (payload.body, await blog.renderer.render(payload.body))
    post = await _own_post(session, post_id, user)
    post = await repository.update_post(
        session, post, title=payload.title, body=body, category_name=payload.category
    )
    await session.commit()
    await blog.cache.bump()
    return repository.post_out(post)


@router.delete(
    "/{post_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_AUTH | _AUTHOR | _NOT_FOUND | _DOWN,
)
async def delete_post(blog: Blog, session: Session, user: User, post_id: PostId) -> Response:
    post = await _own_post(session, post_id, user)
    await repository.delete_post(session, post)
    await session.commit()
    await blog.cache.bump()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
