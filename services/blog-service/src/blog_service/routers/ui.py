"""The server-rendered blog UI, under the settings' `ui_prefix` (/blog).

Pages are rendered from the same cached reads as the JSON API. Writing,
logging in and registering happen in the browser: static/blog.js calls the
gateway's /api/* with the access token it keeps in sessionStorage, so this
router never handles credentials or needs CSRF protection (no cookies).
"""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import TypeAdapter
from titanium_common.errors import ServiceUnavailable

from blog_service.categories_util import css_safe_slug, fold_slug
from blog_service.pagination import offset_for, window
from blog_service.schemas import CategoryWithCount, Composed, PostOut, PostPage, Storable
from blog_service.state import Blog, BlogState

# Only our own files: no inline script, no CDN, no plugin, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
_CATEGORIES = TypeAdapter(list[CategoryWithCount])


def _render(
    blog: BlogState, request: Request, template: str, status_code: int = 200, **context: object
) -> HTMLResponse:
    response = blog.templates.TemplateResponse(
        request,
        template,
        {"ui": blog.settings.ui_prefix, "api": blog.settings.public_api_base, **context},
        status_code=status_code,
    )
    return _secured(response)


def _secured(response: HTMLResponse) -> HTMLResponse:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _unavailable(blog: BlogState, request: Request) -> HTMLResponse:
    response = _render(
        blog,
        request,
        "error.html",
        status_code=503,
        title="Temporarily unavailable",
        message="The blog's database is not answering. Please try again in a moment.",
    )
    response.headers["Retry-After"] = "1"
    return response


async def index_page(
    blog: BlogState, request: Request, *, page: int, category: str | None, q: str | None
) -> HTMLResponse:
    """The index (the router's `/`, and blog-service's fast path for it without a
    query string): `category` already folded, `page` and `q` validated."""
    per_page = blog.settings.page_size
    if offset_for(page, per_page) > blog.settings.max_list_offset:
        return _render(
            blog,
            request,
            "error.html",
            status_code=422,
            title="Page too far",
            message="That page is too far back to show; pick a category or search instead.",
        )
    # The page's HTML is cached where its list is (the front page and the
    # first pages of each category, no search), under the generation read
    # before its parts: they are read after, so the page reflects every
    # write that generation has seen (cache.py). A cached page is one Redis
    # round trip instead of two, two validations and a template (1.2 ms of
    # CPU a page).
    cacheable = not q and blog.reader.cacheable(per_page, offset_for(page, per_page), None)
    generation = None
    if cacheable:
        generation, html = await blog.cache.lookup("index", page, category)
        if html is not None:
            return _secured(HTMLResponse(html))
    try:
        categories = _CATEGORIES.validate_json(await blog.reader.categories())
        posts = PostPage.model_validate_json(
            await blog.reader.post_page(
                limit=per_page,
                offset=offset_for(page, per_page),
                category=category,
                search=q or None,
            )
        )
    except ServiceUnavailable:
        return _unavailable(blog, request)
    response = _render(
        blog,
        request,
        "index.html",
        categories=categories,
        active=category,
        search=q or "",
        all_count=sum(c.post_count for c in categories),
        posts=posts,
        pager=window(page, per_page, posts.total),
    )
    # Like its list: a category's page only while the category has posts.
    if cacheable and (category is None or posts.total > 0):
        await blog.cache.set(generation, response.body, "index", page, category)
    return response


def build_router(prefix: str) -> APIRouter:
    router = APIRouter(prefix=prefix, tags=["ui"], include_in_schema=False)

    @router.get("")
    async def root() -> RedirectResponse:
        return RedirectResponse(f"{prefix}/", status_code=308)

    @router.get("/", response_class=HTMLResponse)
    async def index(
        blog: Blog,
        request: Request,
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        category: Annotated[str | None, Query(max_length=60)] = None,
        q: Annotated[str | None, Query(max_length=200), Storable, Composed] = None,
    ) -> HTMLResponse:
        return await index_page(
            blog, request, page=page, category=fold_slug(category) if category else None, q=q
        )

    async def _post_or_404(
        blog: BlogState, request: Request, post_id: int
    ) -> PostOut | HTMLResponse:
        try:
            raw = await blog.reader.post(post_id)
        except ServiceUnavailable:
            return _unavailable(blog, request)
        if raw is None:
            return _render(
                blog,
                request,
                "error.html",
                status_code=404,
                title="Post not found",
                message="There is no such post; it may have been deleted.",
            )
        return PostOut.model_validate_json(raw)

    @router.get("/posts/{post_id}", response_class=HTMLResponse)
    async def post_page(
        blog: Blog, request: Request, post_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
    ) -> Response:
        post = await _post_or_404(blog, request, post_id)
        if isinstance(post, Response):
            return post
        return _render(blog, request, "post.html", post=post)

    @router.get("/write", response_class=HTMLResponse)
    async def write_page(blog: Blog, request: Request) -> HTMLResponse:
        return _render(blog, request, "form.html", post=None)

    @router.get("/posts/{post_id}/edit", response_class=HTMLResponse)
    async def edit_page(
        blog: Blog, request: Request, post_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
    ) -> Response:
        post = await _post_or_404(blog, request, post_id)
        if isinstance(post, Response):
            return post
        return _render(blog, request, "form.html", post=post)

    @router.get("/login", response_class=HTMLResponse)
    async def login_page(blog: Blog, request: Request) -> HTMLResponse:
        return _render(blog, request, "auth.html", mode="login")

    @router.get("/register", response_class=HTMLResponse)
    async def register_page(blog: Blog, request: Request) -> HTMLResponse:
        return _render(blog, request, "auth.html", mode="register")

    @router.get("/categories.css")
    async def category_styles(blog: Blog) -> Response:
        """One rule per category: the colours stay out of inline styles (CSP)."""
        try:
            categories = _CATEGORIES.validate_json(await blog.reader.categories())
        except ServiceUnavailable:
            categories = []
        # Slugs are letters, digits and marks of any script joined by "-" (no
        # ASCII punctuation, nothing CSS would read otherwise), colours #rrggbb.
        rules = "".join(
            f".cat-{c.slug}{{--cat:{c.colour}}}\n" for c in categories if css_safe_slug(c.slug)
        )
        return Response(rules, media_type="text/css", headers={"Cache-Control": "no-cache"})

    # Last, so it only sees what no page above matched.
    @router.get("/{path:path}/")
    async def without_trailing_slash(request: Request) -> RedirectResponse:
        """/blog/posts/1/ -> /blog/posts/1, relative to the origin.

        Starlette's own slash redirect is off (app.py): it builds an absolute
        URL from the Host header, which behind the gateway is this service's
        internal address. The gateway forwards /blog/* unchanged, so a path
        alone is right wherever the browser stands. The raw path keeps the
        client's percent-encoding, and always starts with the prefix.
        """
        target = request.scope["raw_path"].decode("latin-1")[:-1]
        query = request.scope.get("query_string", b"").decode("latin-1")
        return RedirectResponse(f"{target}?{query}" if query else target, status_code=308)

    return router
