"""Queries on the blog's tables. No caching and no HTTP here."""

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from blog_service.categories_util import category_colour, category_key, hashed_slug, slug_for_key
from blog_service.markdown import RenderedPost
from blog_service.models import Category, Post
from blog_service.schemas import Author, CategoryOut, CategoryWithCount, PostOut, PostSummary


def category_out(category: Category) -> CategoryOut:
    return CategoryOut(
        name=category.name, slug=category.slug, colour=category_colour(category.slug)
    )


def post_out(post: Post) -> PostOut:
    return PostOut(
        id=post.id,
        title=post.title,
        body=post.body_markdown,
        html=post.body_html,
        category=category_out(post.category),
        author=Author(id=post.author_id, username=post.author_name),
        created_at=post.created_at,
        updated_at=post.updated_at,
    )


def post_summary(post: Post) -> PostSummary:
    return PostSummary(
        id=post.id,
        title=post.title,
        excerpt=post.excerpt,
        category=category_out(post.category),
        author=Author(id=post.author_id, username=post.author_name),
        created_at=post.created_at,
        updated_at=post.updated_at,
    )


# A list needs none of the bodies: leaving them in PostgreSQL keeps a page of
# a hundred posts small however long each post is.
_SUMMARY_COLUMNS = load_only(
    Post.id,
    Post.title,
    Post.excerpt,
    Post.author_id,
    Post.author_name,
    Post.category_id,
    Post.created_at,
    Post.updated_at,
)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_posts(
    session: AsyncSession,
    *,
    limit: int,
    offset: int,
    category_slug: str | None = None,
    search: str | None = None,
) -> tuple[list[Post], int]:
    """One page of posts (summary columns only), newest first, and how many match in all."""
    conditions = []
    if category_slug:
        conditions.append(Category.slug == category_slug)
    if search:
        pattern = f"%{_escape_like(search)}%"
        conditions.append(
            or_(
                Post.title.ilike(pattern, escape="\\"),
                Post.body_markdown.ilike(pattern, escape="\\"),
            )
        )
    filtered = select(Post).join(Post.category).where(*conditions)
    total = await session.scalar(select(func.count()).select_from(filtered.subquery()))
    rows = await session.scalars(
        filtered.options(_SUMMARY_COLUMNS)
        .order_by(Post.created_at.desc(), Post.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.unique()), total or 0


async def get_post(session: AsyncSession, post_id: int) -> Post | None:
    return await session.get(Post, post_id)


async def category_for_name(session: AsyncSession, name: str) -> Category:
    """The category whose key matches the name, created if new.

    INSERT ... ON CONFLICT DO NOTHING makes two writers naming the same new
    category at once agree on one row instead of one of them failing. The
    readable slug may already belong to another key (a category stored before
    keys existed keeps its old slug: "C++/Rust" holds "c-rust"); then the
    hashed slug is taken, which no readable or stored slug can equal.
    """
    key = category_key(name)
    for slug in dict.fromkeys((slug_for_key(key), hashed_slug(key))):
        await session.execute(
            insert(Category).values(name=name, name_key=key, slug=slug).on_conflict_do_nothing()
        )
        category = await session.scalar(select(Category).where(Category.name_key == key))
        if category is not None:
            return category
    raise RuntimeError(f"no free slug for category key {key!r}")


async def create_post(
    session: AsyncSession,
    *,
    title: str,
    body: str,
    rendered: RenderedPost,
    category_name: str,
    author: Author,
) -> Post:
    category = await category_for_name(session, category_name)
    post = Post(
        title=title,
        body_markdown=body,
        body_html=rendered.html,
        excerpt=rendered.excerpt,
        author_id=author.id,
        author_name=author.username,
        category=category,
    )
    session.add(post)
    await session.flush()
    await session.refresh(post)
    return post


async def update_post(
    session: AsyncSession,
    post: Post,
    *,
    title: str | None,
    body: tuple[str, RenderedPost] | None,
    category_name: str | None,
) -> Post:
    """`body` is the new Markdown with what it renders to, or None to keep the old."""
    if title is not None:
        post.title = title
    if body is not None:
        body, rendered = body
        post.body_markdown = body
        post.body_html = rendered.html
        post.excerpt = rendered.excerpt
    if category_name is not None:
        post.category = await category_for_name(session, category_name)
    post.updated_at = func.now()
    await session.flush()
    await session.refresh(post)
    return post


async def delete_post(session: AsyncSession, post: Post) -> None:
    # Only the post goes: its category stays even when it is left empty.
    await session.delete(post)
    await session.flush()


async def categories_with_counts(session: AsyncSession) -> list[CategoryWithCount]:
    rows = await session.execute(
        select(Category, func.count(Post.id))
        .outerjoin(Post, Post.category_id == Category.id)
        .group_by(Category.id)
        .order_by(Category.name)
    )
    return [
        CategoryWithCount(**category_out(category).model_dump(), post_count=count)
        for category, count in rows.all()
    ]
