"""Markdown to HTML that is safe to put in a page.

Two layers, each sufficient against the common payloads on its own:
markdown-it runs with raw HTML disabled (tags in the source come out as text)
and refuses dangerous link schemes; nh3 then keeps only an allow-list of tags,
attributes and URL schemes, so a parser bug cannot smuggle markup through.
"""

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "code",
    "em", "strong", "s", "del", "ul", "ol", "li", "a", "img",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "code": {"class"},
}
_URL_SCHEMES = {"http", "https", "mailto"}
# No style attribute at all (table alignment included): the UI's CSP forbids
# inline styles, and CSS is a script-free but still abusable channel.


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def render_markdown(source: str) -> str:
    """Render user-written Markdown to sanitised HTML."""
    html = _parser().render(source)
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
