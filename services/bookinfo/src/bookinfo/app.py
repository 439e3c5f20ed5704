"""The four services. Each is a titanium_common app (logs, metrics on their own
port, health, errors), so the dashboards read them as they read the blog's."""

from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse
from titanium_common import create_app
from titanium_common.app import AppContext, get_context

from bookinfo.books import BOOKS, RATINGS, REVIEWS
from bookinfo.calls import Downstream, session
from bookinfo.settings import Settings

Context = Annotated[AppContext, Depends(get_context)]
# The reviews each version shows its stars in (v1 shows none).
STAR_COLOURS = {"v2": "black", "v3": "red"}


def _book(book_id: int) -> dict[str, Any]:
    if book_id not in BOOKS:
        raise HTTPException(404, f"no book {book_id}")
    return BOOKS[book_id]


def details_router() -> APIRouter:
    router = APIRouter()

    @router.get("/details/{book_id}")
    async def details(book_id: int) -> dict[str, Any]:
        return {"id": book_id, **_book(book_id)}

    return router


def ratings_router() -> APIRouter:
    router = APIRouter()

    @router.get("/ratings/{book_id}")
    async def ratings(book_id: int) -> dict[str, Any]:
        _book(book_id)
        return {"id": book_id, "ratings": RATINGS.get(book_id, {})}

    return router


def reviews_router(settings: Settings) -> APIRouter:
    router = APIRouter()
    version = settings.reviews_version
    colour = STAR_COLOURS.get(version)

    @router.get("/reviews/{book_id}")
    async def reviews(book_id: int, request: Request, ctx: Context) -> dict[str, Any]:
        _book(book_id)
        shown = [{"reviewer": who, "text": text} for who, text in REVIEWS.get(book_id, [])]
        if colour is not None:
            ratings = await ctx.extras["ratings"].get_json(ctx, f"/ratings/{book_id}", request)
            for review in shown:
                if ratings is None:
                    review["rating"] = {"error": "ratings are unavailable"}
                else:
                    stars = ratings["ratings"].get(review["reviewer"])
                    review["rating"] = {"stars": stars, "color": colour}
        return {"id": book_id, "version": version, "reviews": shown}

    return router


def productpage_router() -> APIRouter:
    router = APIRouter()

    async def gather(book_id: int, request: Request, ctx: Context) -> dict[str, Any]:
        _book(book_id)
        details = await ctx.extras["details"].get_json(ctx, f"/details/{book_id}", request)
        reviews = await ctx.extras["reviews"].get_json(ctx, f"/reviews/{book_id}", request)
        return {
            "id": book_id,
            "details": details if details is not None else {"error": "details are unavailable"},
            "reviews": reviews if reviews is not None else {"error": "reviews are unavailable"},
        }

    @router.get("/api/v1/products/{book_id}")
    async def product(book_id: int, request: Request, ctx: Context) -> dict[str, Any]:
        return await gather(book_id, request, ctx)

    @router.get("/productpage", response_class=HTMLResponse)
    async def page(request: Request, ctx: Context) -> HTMLResponse:
        return HTMLResponse(render_page(await gather(0, request, ctx)))

    return router


def render_page(product: dict[str, Any]) -> str:
    """The page a person sees: details, then reviews with stars in their colour."""
    details = product["details"]
    if "error" in details:
        details_html = f"<p class='error'>{escape(details['error'])}</p>"
    else:
        rows = "".join(
            f"<tr><th>{escape(key)}</th><td>{escape(str(details[key]))}</td></tr>"
            for key in ("author", "year", "type", "pages", "publisher", "language", "isbn_13")
        )
        details_html = (
            f"<h1>{escape(details['title'])}</h1><p>{escape(details['summary'])}</p>"
            f"<table class='details'>{rows}</table>"
        )
    reviews = product["reviews"]
    if "error" in reviews:
        reviews_html = f"<p class='error'>{escape(reviews['error'])}</p>"
    else:
        items = []
        for review in reviews["reviews"]:
            rating = review.get("rating")
            stars = ""
            if rating and "error" in rating:
                stars = f"<p class='error'>{escape(rating['error'])}</p>"
            elif rating:
                stars = (
                    f"<p class='stars' style='color: {escape(rating['color'])}'>"
                    + "&#9733;" * int(rating["stars"] or 0)
                    + "</p>"
                )
            items.append(
                f"<blockquote><p>{escape(review['text'])}</p>"
                f"<small>{escape(review['reviewer'])}</small>{stars}</blockquote>"
            )
        reviews_html = (
            f"<section class='reviews' data-version='{escape(reviews['version'])}'>"
            + "".join(items)
            + "</section>"
        )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Bookinfo</title></head><body>"
        f"{details_html}<h2>Reviews</h2>{reviews_html}</body></html>"
    )


def build_app(settings: Settings) -> FastAPI:
    """The app of the service BOOKINFO_SERVICE names, with clients for its callees."""
    callees = {
        "productpage": {"details": settings.details_url, "reviews": settings.reviews_url},
        "reviews": {"ratings": settings.ratings_url}
        if settings.reviews_version in STAR_COLOURS
        else {},
    }.get(settings.service, {})
    routers = {
        "productpage": productpage_router,
        "details": details_router,
        "reviews": lambda: reviews_router(settings),
        "ratings": ratings_router,
    }

    async def open_clients(ctx: AppContext) -> None:
        if callees:
            shared = session(settings.connect_timeout, settings.read_timeout)
            ctx.extras["session"] = shared
            for name, url in callees.items():
                ctx.extras[name] = Downstream(name, url, shared)

    async def close_clients(ctx: AppContext) -> None:
        if "session" in ctx.extras:
            await ctx.extras["session"].close()

    return create_app(
        settings,
        title=f"Bookinfo {settings.service}",
        routers=[routers[settings.service]()],
        on_startup=[open_clients],
        on_shutdown=[close_clients],
    )
