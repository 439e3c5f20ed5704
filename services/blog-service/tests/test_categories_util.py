"""Category identity, slugs and colours."""

import re
import unicodedata

import pytest
from blog_service.categories_util import (
    category_colour,
    category_key,
    css_safe_slug,
    fold_slug,
    slugify,
)
from hypothesis import given
from hypothesis import strategies as st

HASH = r"[0-9a-f]{12}"


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        # What slugify made before any script was kept: unchanged, so their URLs stay.
        ("General", "general"),
        ("  Machine Learning ", "machine-learning"),
        ("Go", "go"),
        ("Rust 2024", "rust-2024"),
        # Any script's letters and digits are kept as they are.
        ("기술 스택", "기술-스택"),
        ("한국어", "한국어"),
        ("Rust와 Go", "rust와-go"),
        ("Ελληνικά", "ελληνικά"),
        ("日本語 テキスト", "日本語-テキスト"),
        ("١٢٣", "١٢٣"),
    ],
)
def test_slugs_keep_every_scripts_letters_and_digits(name: str, slug: str) -> None:
    assert slugify(name) == slug


@pytest.mark.parametrize(
    ("name", "readable"),
    [
        # Something other than single spaces was dropped: a hash of the name follows.
        ("🚀", ""),
        ("🎉", ""),
        ("C++", "c"),
        ("C#", "c"),
        ("C++/Rust", "c-rust"),
        ("machine-learning", "machine-learning"),
        ("Ünïcode & Friends!", "ünïcode-friends"),
        ("🚀 Rust와 Go", "rust와-go"),
    ],
)
def test_names_that_lose_characters_get_a_hash(name: str, readable: str) -> None:
    assert re.fullmatch(rf"{re.escape(readable)}--{HASH}", slugify(name))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Rust", "rust"),
        ("Rust", "  RUST "),
        ("기술 스택", "기술   스택"),
        # The same Hangul composed (NFC) and as conjoining jamo (NFD).
        (unicodedata.normalize("NFC", "한국어"), unicodedata.normalize("NFD", "한국어")),
        ("Café", unicodedata.normalize("NFD", "CAFÉ")),
        ("Straße", "STRASSE"),
        ("\uff32\uff35\uff33\uff34", "rust"),  # full-width RUST
        ("Rust\u200b", "Rust"),  # a zero-width space nobody can see
        ("🚀\ufe0f", "🚀"),  # emoji presentation selector
    ],
)
def test_case_and_normalisation_twins_are_one_category(first: str, second: str) -> None:
    assert first != second
    assert category_key(first) == category_key(second)
    assert slugify(first) == slugify(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("🚀", "🎉"),
        ("C", "C++"),
        ("C++", "C#"),
        ("Machine Learning", "machine-learning"),
        ("기술 스택", "기술-스택"),
        ("기술 스택", "기술스택"),
        ("Rust와 Go", "Rust와Go"),
    ],
)
def test_distinct_names_get_distinct_slugs(first: str, second: str) -> None:
    assert category_key(first) != category_key(second)
    assert slugify(first) != slugify(second)


def test_nothing_visible_has_no_key() -> None:
    for name in ("", "   ", "\u200b", "\ufe0f", "\u3164\u3164"):
        assert category_key(name) == "", repr(name)
        assert slugify(name) == ""


def test_long_names_fit_the_column() -> None:
    # NFKC expands U+FDFA to 18 letters; 50 of them still make a slug of at most 60.
    slug = slugify("\ufdfa" * 50)
    assert len(slug) <= 60 and re.search(rf"--{HASH}$", slug)
    assert slugify("가" * 50) == "가" * 50
    assert slugify("가" * 49 + "나") != slugify("가" * 50)


_NAMES = st.text(max_size=50)


@given(_NAMES)
def test_slugs_are_url_and_css_safe(name: str) -> None:
    slug = slugify(name)
    assert len(slug) <= 60
    assert css_safe_slug(slug) or slug == ""
    # No space, quote, bracket, slash, percent or other ASCII punctuation: only
    # the hyphen; the rest is letters, digits and marks of some script.
    assert all(
        ch in "abcdefghijklmnopqrstuvwxyz0123456789-"
        or (ord(ch) > 127 and unicodedata.category(ch)[0] in "LMN")
        for ch in slug
    )


@given(_NAMES, _NAMES)
def test_slugs_collide_only_for_the_same_key(first: str, second: str) -> None:
    if category_key(first) != category_key(second):
        assert slugify(first) != slugify(second) or not slugify(first)


@given(_NAMES)
def test_identity_and_slug_are_stable(name: str) -> None:
    key = category_key(name)
    assert category_key(key) == key
    assert slugify(key) == slugify(name)
    # What a link carries comes back to the same slug, however it is cased or normalised.
    slug = slugify(name)
    assert fold_slug(slug) == slug
    assert fold_slug(unicodedata.normalize("NFD", slug.upper())) == slug or slug != slug.lower()


def test_legacy_slugs_pass_the_css_check() -> None:
    for slug in ("general", "c-rust", "unicode-friends", "기술-스택", "--0123456789ab"):
        assert css_safe_slug(slug)
    for slug in ("a b", "a}b", "a{", "a\\", "a;b", "a\nb", "A", "x\u202e"):
        assert not css_safe_slug(slug)


@given(st.text(min_size=1, max_size=60))
def test_colour_is_a_pure_function_of_the_slug(slug: str) -> None:
    colour = category_colour(slug)
    assert re.fullmatch(r"#[0-9a-f]{6}", colour)
    assert category_colour(slug) == colour


def test_categories_get_different_colours() -> None:
    slugs = ["general", "technology", "tutorials", "travel", "food", "news", "music", "sports"]
    assert len({category_colour(slug) for slug in slugs}) == len(slugs)


def test_colours_of_existing_slugs_are_unchanged() -> None:
    # Derived from the slug's UTF-8 bytes as before: stored ASCII slugs keep their colour.
    assert category_colour("general") == category_colour(slugify("General"))
    assert category_colour("기술-스택") != category_colour("기술스택")


def _relative_luminance(colour: str) -> float:
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


@given(st.text(min_size=1, max_size=40))
def test_white_text_is_readable_on_every_colour(slug: str) -> None:
    # WCAG AA for normal text: contrast ratio of at least 4.5 against white.
    contrast = 1.05 / (_relative_luminance(category_colour(slug)) + 0.05)
    assert contrast >= 4.5
