"""Category slugs and colours: pure functions of the category's name.

The colour is a function of the slug alone, so every replica, every restart and
every cache agrees on it without storing it (the original picked colours at
random on each render).
"""

import colorsys
import hashlib
import re
import unicodedata

_NON_SLUG = re.compile(r"[^a-z0-9]+")

_SATURATION = 0.62
_START_LIGHTNESS = 0.46
# WCAG AA for normal text against the white label drawn on the colour.
_MIN_CONTRAST_WITH_WHITE = 4.5


def slugify(name: str) -> str:
    """`"Ünïcode & Friends"` -> `"unicode-friends"`; empty when nothing is left."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return _NON_SLUG.sub("-", ascii_name.lower()).strip("-")


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
