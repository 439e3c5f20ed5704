"""Category slugs and colours."""

import re

import pytest
from blog_service.categories_util import category_colour, slugify
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("General", "general"),
        ("  Machine Learning ", "machine-learning"),
        ("Ünïcode & Friends!", "unicode-friends"),
        ("C++/Rust", "c-rust"),
        ("!!!", ""),
    ],
)
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug


@given(st.text(max_size=60))
def test_slugs_only_hold_safe_characters(name: str) -> None:
    # Slugs go into CSS class names and URLs unescaped: nothing else may appear.
    assert re.fullmatch(r"([a-z0-9]+(-[a-z0-9]+)*)?", slugify(name))


@given(st.from_regex(r"[a-z0-9-]{1,60}", fullmatch=True))
def test_colour_is_a_pure_function_of_the_slug(slug: str) -> None:
    colour = category_colour(slug)
    assert re.fullmatch(r"#[0-9a-f]{6}", colour)
    assert category_colour(slug) == colour


def test_categories_get_different_colours() -> None:
    slugs = ["general", "technology", "tutorials", "travel", "food", "news", "music", "sports"]
    assert len({category_colour(slug) for slug in slugs}) == len(slugs)


def _relative_luminance(colour: str) -> float:
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


@given(st.from_regex(r"[a-z0-9-]{1,40}", fullmatch=True))
def test_white_text_is_readable_on_every_colour(slug: str) -> None:
    # WCAG AA for normal text: contrast ratio of at least 4.5 against white.
    contrast = 1.05 / (_relative_luminance(category_colour(slug)) + 0.05)
    assert contrast >= 4.5
