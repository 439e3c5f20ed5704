"""Page numbers (what the UI shows) to offsets (what the API takes), and back."""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class PageWindow:
    page: int
    pages: int
    offset: int
    limit: int

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def offset_for(page: int, per_page: int) -> int:
    """Offset of the first item of 1-based `page`."""
    if page < 1 or per_page < 1:
        raise ValueError("page and per_page start at 1")
    return (page - 1) * per_page


def window(page: int, per_page: int, total: int) -> PageWindow:
    """Where `page` stands among the pages `total` items make (at least one, empty)."""
    return PageWindow(
        page=page,
        pages=max(1, math.ceil(total / per_page)),
        offset=offset_for(page, per_page),
        limit=per_page,
    )
