"""Category identity, slugs and colours: pure functions of the category's name.

Identity (`category_key`): two names are one category when they read the same
to a person: NFKC-normalised, case-folded, invisible code points dropped,
whitespace runs as one space. So "Rust" and " rust ", the composed (NFC) and
jamo (NFD) forms of "한국어", "Straße" and "STRASSE", full-width and plain
"RUST" are one category each, while "C" and "C++", or "🚀" and "🎉", stay
distinct: punctuation and symbols are part of what a name says.

Slug (`slugify`): the key with the letters, digits and marks of every script
kept, anything else a separator, separators collapsed to one "-". When that
drops nothing but single spaces the slug is the key spelled with hyphens, and
names with ASCII slugs get the slug they always had. When it drops more (or
would pass the column's 60 characters), "--" and a hash of the key follow.
The readable form never holds "--" (separators are collapsed, and slugs
stored before this scheme never did either), so a hashed slug can never
equal a readable one, and two readable slugs are equal only for equal keys.
Clients percent-encode slugs in URLs (Jinja's `urlencode`).

The colour is a function of the slug alone, so every replica, every restart and
every cache agrees on it without storing it (the original picked colours at
random on each render).
"""

import colorsys
import hashlib
import unicodedata

MAX_SLUG_LENGTH = 60
_HASH_LENGTH = 12  # hex digits: 48 bits, far past any number of categories
_ASCII_KEPT = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")

# Default-ignorable code points outside the format (Cf) category, which
# Unicode's NFKC_Casefold also removes: variation selectors (emoji
# presentation), the combining grapheme joiner, Mongolian selectors and the
# Hangul fillers, which render as nothing and make invisible names.
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x180B, 0x180F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xE0100, 0xE01EF),
)

_SATURATION = 0.62
_START_LIGHTNESS = 0.46
# WCAG AA for normal text against the white label drawn on the colour.
_MIN_CONTRAST_WITH_WHITE = 4.5


def _ignorable(ch: str) -> bool:
    code = ord(ch)
    return unicodedata.category(ch) == "Cf" or any(
        low <= code <= high for low, high in _IGNORABLE_RANGES
    )


def _kept(ch: str) -> bool:
    if ch.isascii():
        return ch in _ASCII_KEPT
    return unicodedata.category(ch)[0] in "LMN"


def fold_slug(text: str) -> str:
    """NFKC and case folding, twice-stable (one pass can leave an unfolded form)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def category_key(name: str) -> str:
    """What makes two category names one category; empty when nothing visible is left."""
    visible = "".join(ch for ch in fold_slug(name) if not _ignorable(ch))
    return " ".join(visible.split())


def _readable(key: str) -> str:
    parts: list[str] = []
    word: list[str] = []
    for ch in key:
        if _kept(ch):
            word.append(ch)
        elif word:
            parts.append("".join(word))
            word = []
    if word:
        parts.append("".join(word))
    return "-".join(parts)


def hashed_slug(key: str) -> str:
    """The readable part, shortened to fit, then "--" and a hash of the key."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:_HASH_LENGTH]
    room = MAX_SLUG_LENGTH - len(digest) - 2
    return f"{_readable(key)[:room].rstrip('-')}--{digest}"


def slug_for_key(key: str) -> str:
    if not key:
        return ""
    readable = _readable(key)
    if readable and readable.replace("-", " ") == key and len(readable) <= MAX_SLUG_LENGTH:
        return readable
    return hashed_slug(key)


def slugify(name: str) -> str:
    """`"기술 스택"` -> `"기술-스택"`, `"C++"` -> `"c--<hash>"`; empty for an invisible name."""
    return slug_for_key(category_key(name))


def css_safe_slug(slug: str) -> bool:
    """True when `.cat-<slug>` is a plain CSS class selector, nothing to escape.

    CSS identifiers take any code point past ASCII; of ASCII only the slug's
    own characters are let through.
    """
    return bool(slug) and all(_kept(ch) or ch == "-" for ch in slug)


def _relative_luminance(rgb: tuple[float, float, float]) -> float:
    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.03928 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(channel) for channel in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def category_colour(slug: str) -> str:
    """A stable `#rrggbb` colour for a category slug, dark enough for white text.

    The hue comes from a hash of the slug; the lightness starts bright and is
    lowered just enough for the contrast (yellows and greens need more).
    """
    digest = hashlib.sha256(slug.encode()).digest()
    hue = int.from_bytes(digest[:2], "big") / 65536
    lightness = _START_LIGHTNESS
    while True:
        rgb = tuple(
            round(channel * 255) / 255
            for channel in colorsys.hls_to_rgb(hue, lightness, _SATURATION)
        )
        contrast = 1.05 / (_relative_luminance(rgb) + 0.05)  # type: ignore[arg-type]
        if contrast >= _MIN_CONTRAST_WITH_WHITE or lightness <= 0.1:
            break
        lightness -= 0.01
    return "#{:02x}{:02x}{:02x}".format(*(round(channel * 255) for channel in rgb))
