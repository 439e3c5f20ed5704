"""Page numbers and offsets."""

import pytest
from blog_service.pagination import offset_for, window
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("page", "per_page", "total", "pages", "offset", "previous", "following"),
    [
        (1, 10, 0, 1, 0, False, False),  # an empty blog still has its one page
        (1, 10, 10, 1, 0, False, False),
        (1, 10, 11, 2, 0, False, True),
        (2, 10, 11, 2, 10, True, False),
        (3, 5, 23, 5, 10, True, True),
        (9, 10, 11, 2, 80, True, False),  # past the end: empty, no "next"
    ],
)
def test_window(
    page: int,
    per_page: int,
    total: int,
    pages: int,
    offset: int,
    previous: bool,
    following: bool,
) -> None:
    pager = window(page, per_page, total)
    assert (pager.pages, pager.offset, pager.limit) == (pages, offset, per_page)
    assert (pager.has_previous, pager.has_next) == (previous, following)


@given(st.integers(1, 500), st.integers(0, 5000))
def test_pages_cover_every_item_exactly_once(per_page: int, total: int) -> None:
    pages = window(1, per_page, total).pages
    covered = [
        index
        for page in range(1, pages + 1)
        for index in range(offset_for(page, per_page), offset_for(page, per_page) + per_page)
        if index < total
    ]
    assert covered == list(range(total))


@pytest.mark.parametrize(("page", "per_page"), [(0, 10), (1, 0), (-1, 5)])
def test_pages_start_at_one(page: int, per_page: int) -> None:
    with pytest.raises(ValueError, match="start at 1"):
        offset_for(page, per_page)
