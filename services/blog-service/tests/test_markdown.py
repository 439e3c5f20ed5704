"""Markdown rendering and sanitising: user content can never run script."""

from html.parser import HTMLParser
from urllib.parse import urlparse

import pytest
from blog_service.markdown import render_markdown

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg/onload=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](<javascript:alert(1)>)",
    "[click](java&#x09;script:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
    "![img](javascript:alert(1))",
    '![x" onerror="alert(1)](https://example.org/a.png)',
    '[x](https://example.org/" onmouseover="alert(1))',
    "[x]: javascript:alert(1)\n\n[x]",
    "<iframe src=https://evil.example></iframe>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<style>body{display:none}</style>",
    "<form action=https://evil.example><input name=p></form>",
    "`<script>alert(1)</script>`",
    "```\n<script>alert(1)</script>\n```",
    "<<script>script>alert(1)<</script>/script>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    '<math><mtext><table><mglyph><style><img src=x onerror="alert(1)">',
]

SAFE_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "code",
    "em", "strong", "s", "del", "ul", "ol", "li", "a", "img",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
SAFE_SCHEMES = {"", "http", "https", "mailto"}


class _Inspector(HTMLParser):
    """Parses the output as a browser would and lists what could run script."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in SAFE_TAGS:
            self.problems.append(f"tag <{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name in {"style", "srcdoc", "formaction"}:
                self.problems.append(f"attribute {name} on <{tag}>")
            if name in {"href", "src"}:
                scheme = urlparse((value or "").strip().lower()).scheme
                if scheme not in SAFE_SCHEMES:
                    self.problems.append(f"{name}={value!r} on <{tag}>")


def problems(html: str) -> list[str]:
    inspector = _Inspector()
    inspector.feed(html)
    inspector.close()
    return inspector.problems


def test_the_inspector_catches_what_it_must() -> None:
    # The check itself must be able to fail, or the tests below prove nothing.
    assert problems('<p onclick="x()">a</p>')
    assert problems('<a href=" JavaScript:alert(1)">a</a>')
    assert problems("<script>alert(1)</script>")
    assert not problems('<p><a href="https://example.org">a</a></p>')


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payloads_are_neutralised(payload: str) -> None:
    html = render_markdown(f"Before\n\n{payload}\n\nafter")
    assert problems(html) == [], html


def test_markdown_still_renders() -> None:
    html = render_markdown(
        "# Title\n\nSome *emphasis*, **strong**, `code` and a [link](https://example.org).\n\n"
        "- one\n- two\n\n| a | b |\n| - | - |\n| 1 | 2 |\n\n~~gone~~"
    )
    assert "<h1>Title</h1>" in html
    assert "<em>emphasis</em>" in html and "<strong>strong</strong>" in html
    assert "<code>code</code>" in html
    assert '<a href="https://example.org" rel="noopener noreferrer nofollow">link</a>' in html
    assert "<li>one</li>" in html
    assert "<td>1</td>" in html
    assert "<s>gone</s>" in html


def test_raw_html_is_shown_as_text() -> None:
    assert "&lt;b&gt;bold?&lt;/b&gt;" in render_markdown("<b>bold?</b>")
