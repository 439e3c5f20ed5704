"""Markdown to HTML that is safe to put in a page.

Two layers, each sufficient against the common payloads on its own:
markdown-it runs with raw HTML disabled (tags in the source come out as text)
and refuses dangerous link schemes; nh3 then keeps only an allow-list of tags,
attributes and URL schemes, so a parser bug cannot smuggle markup through.
"""

import asyncio
from dataclasses import dataclass
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

# What a list shows of a post: long enough to recognise it, short enough that
# a page of a hundred stays small (see reads.py for the page's byte cap).
EXCERPT_CHARS = 200
# markdown-it is pure Python and, on hostile input, slow: measured here about
# 20 µs a character ("[" * 100_000, the body limit, takes two seconds), against
# about 1 µs on prose. Up to this size even the worst case is a few
# milliseconds, less than the hop to a worker thread is worth.
INLINE_RENDER_MAX_CHARS = 256

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


@dataclass(frozen=True)
class RenderedPost:
    html: str
    excerpt: str


def render_post(source: str) -> RenderedPost:
    """Sanitised HTML and a plain-text excerpt, from one parse of the Markdown."""
    parser = _parser()
    tokens = parser.parse(source)
    html = parser.renderer.render(tokens, parser.options, {})
    return RenderedPost(html=_clean(html), excerpt=_excerpt(_plain_text(tokens)))


class Renderer:
    """Renders a body at write time, off the event loop when it is big enough to matter.

    Rendering once per write and storing the result keeps reads free of the
    parser; what is left is the write itself, which must not stall every
    other request on this worker for seconds. One render at a time: they all
    hold the GIL, so each extra thread would take a further share of it from
    the loop, and a queued write costs nothing but its own wait (callers
    render before they open a transaction).
    """

    def __init__(self) -> None:
        self._slot = asyncio.Semaphore(1)

    async def render(self, source: str) -> RenderedPost:
        if len(source) <= INLINE_RENDER_MAX_CHARS:
            return render_post(source)
        async with self._slot:
            return await asyncio.to_thread(render_post, source)


def render_markdown(source: str) -> str:
    """Render user-written Markdown to sanitised HTML."""
    return render_post(source).html


def excerpt(source: str) -> str:
    """The start of the Markdown's text, without its markup, at most EXCERPT_CHARS long."""
    return _excerpt(_plain_text(_parser().parse(source)))


def _plain_text(tokens: list[Token]) -> str:
    # The words a reader sees: text, inline code, code blocks and image alt
    # text; markup and link targets are left behind. Raw HTML is disabled, so
    # tags typed in the source are text here too (the templates escape them).
    words: list[str] = []
    for token in tokens:
        if token.type == "inline":
            for child in token.children or ():
                if child.type in ("text", "code_inline", "image"):
                    words.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    words.append(" ")
        elif token.type in ("code_block", "fence"):
            words.append(token.content)
        words.append(" ")
    return " ".join("".join(words).split())


def _excerpt(text: str) -> str:
    if len(text) <= EXCERPT_CHARS:
        return text
    cut = text[: EXCERPT_CHARS - 1]
    # End on a whole word unless that would throw most of the excerpt away.
    space = cut.rfind(" ")
    if space > EXCERPT_CHARS // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def _clean(html: str) -> str:
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
