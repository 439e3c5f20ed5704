"""/categories: every category with its colour and how many posts it holds."""

from fastapi import APIRouter, Response

from blog_service.schemas import CategoryWithCount
from blog_service.state import Blog

router = APIRouter(prefix="/categories", tags=["categories"])


@router.get(
    "",
    response_model=list[CategoryWithCount],
    responses={503: {"description": "PostgreSQL unavailable"}},
)
async def list_categories(blog: Blog) -> Response:
    """Seeded and user-made categories alike, empty ones included."""
    return Response(await blog.reader.categories(), media_type="application/json")
