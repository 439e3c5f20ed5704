"""What the JSON API accepts and returns."""

import unicodedata
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from blog_service.categories_util import category_key


def storable_text(text: str | None) -> str | None:
    """PostgreSQL text cannot hold NUL, and UTF-8 cannot encode lone surrogates."""
    if text is None:
        return None
    if "\x00" in text:
        raise ValueError("text must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("text must be valid Unicode") from exc
    return text


def composed(value: Any) -> Any:
    """NFC: text typed on one system and searched from another (macOS keeps
    Hangul decomposed, as jamo) must match, and ILIKE compares code points.
    Before the length limits, since composing can lengthen a string."""
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


Storable = AfterValidator(storable_text)
Composed = BeforeValidator(composed)
Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    Storable,
    Composed,
]
Body = Annotated[str, StringConstraints(min_length=1, max_length=100_000), Storable, Composed]
CategoryName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50), Storable, Composed
]


def _category_must_have_a_slug(name: str | None) -> str | None:
    if name is not None and not category_key(name):
        raise ValueError("the category name needs at least one visible character")
    return name


class PostCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    body: Body = Field(description="Markdown; rendered and sanitised by the service")
    category: CategoryName = Field(description="Category name; created when it does not exist")

    _category_slug = field_validator("category")(_category_must_have_a_slug)


class PostUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    body: Body | None = None
    category: CategoryName | None = None

    _category_slug = field_validator("category")(_category_must_have_a_slug)


class CategoryOut(BaseModel):
    name: str
    slug: str
    colour: str = Field(pattern=r"^#[0-9a-f]{6}$")


class CategoryWithCount(CategoryOut):
    post_count: int


class Author(BaseModel):
    id: int
    username: str


class PostOut(BaseModel):
    id: int
    title: str
    body: str
    html: str = Field(description="The body rendered to sanitised HTML")
    category: CategoryOut
    author: Author
    created_at: datetime
    updated_at: datetime


class PostSummary(BaseModel):
    """What a list shows of a post; the whole post is at GET /posts/{id}."""

    id: int
    title: str
    excerpt: str = Field(
        description="The start of the post's text without its markup, at most 200 characters"
    )
    category: CategoryOut
    author: Author
    created_at: datetime
    updated_at: datetime


class PostPage(BaseModel):
    items: list[PostSummary] = Field(
        description="At most `limit` posts, fewer when more would pass the page's byte cap"
    )
    total: int
    limit: int
    offset: int
    next_offset: int | None = Field(
        description="Where the next page starts (`offset` + the items returned); null at the end"
    )
